import Value from "typebox/value";
import type { EconomyDocument } from "../economy/config/document.js";
import { applyOverride } from "../economy/config/merge.js";
import { defaultEconomyDocument } from "../economy/config/preset.js";
import { validateEconomyDocument } from "../economy/config/validate.js";
import { invariant, isGiftstreamError } from "../errors.js";
import { ConfigError } from "./config-error.js";
import { type Config, type ConfigInput, configLeaves, configSchema, envVarFor } from "./schema.js";
import { envLayer, readConfigFile, setAt } from "./sources.js";
import { type SourceLabel, validateLayer, valueAt } from "./validate.js";

export interface LoadConfigOptions {
  /** Defaults to `process.env`. `GIFTSTREAM_CONFIG` names the optional file. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Applied last, over the file and the environment (tests, embedding). */
  overrides?: ConfigInput & { economy?: unknown };
}

interface Layer {
  value: unknown;
  sourceOf: SourceLabel;
}

/**
 * Loads the configuration: defaults, then the file named by `GIFTSTREAM_CONFIG` (JSON or YAML), then
 * the environment, then `overrides`. Throws a ConfigError listing every problem at once.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const layers: Layer[] = [];
  const problems: string[] = [];

  const file = env.GIFTSTREAM_CONFIG;
  if (file !== undefined && file !== "") {
    const read = readConfigFile(file);
    if (read.ok) layers.push({ value: read.value, sourceOf: () => `file ${file}` });
    else problems.push(`GIFTSTREAM_CONFIG: the file ${file} ${read.problem}`);
  }
  layers.push({ value: envLayer(env), sourceOf: (key) => `env ${envVarFor(key) ?? "?"}` });
  if (options.overrides !== undefined) layers.push({ value: options.overrides, sourceOf: () => "overrides" });

  // `economy` is a whole document, validated by the economy's own rules rather than leaf by leaf.
  const economyOverrides: { value: unknown; source: string }[] = [];
  for (const layer of layers) {
    if (typeof layer.value === "object" && layer.value !== null && "economy" in layer.value) {
      const { economy, ...rest } = layer.value as Record<string, unknown>;
      economyOverrides.push({ value: economy, source: layer.sourceOf("economy") });
      layer.value = rest;
    }
  }
  for (const layer of layers) problems.push(...validateLayer(layer.value, layer.sourceOf));
  if (problems.length > 0) throw new ConfigError(problems);

  const { merged, sourceOf } = merge(layers);
  if (merged.testMode === true && env.NODE_ENV === "production") {
    throw new ConfigError([
      `testMode: must not be true when NODE_ENV=production (from ${sourceOf("testMode")})`,
    ]);
  }
  const auth = merged.auth as { tokenSecret?: string; tokenSecretPrevious?: string } | undefined;
  if (auth?.tokenSecretPrevious !== undefined && auth.tokenSecret === undefined) {
    throw new ConfigError([
      `auth.tokenSecretPrevious: needs auth.tokenSecret, the secret that replaced it (from ${sourceOf("auth.tokenSecretPrevious")})`,
    ]);
  }
  // Each layer passed on its own; the merged whole must too.
  invariant(Value.Check(configSchema, merged), "the merged configuration matches its schema");
  const config = toConfig(merged);
  const economy = loadEconomy(economyOverrides, config.money.amountMax);
  return deepFreeze({ ...config, economy });
}

/** The default preset with each layer's `economy` override applied in turn, then validated whole. */
function loadEconomy(overrides: { value: unknown; source: string }[], amountMax: bigint): Config["economy"] {
  let document: EconomyDocument = defaultEconomyDocument;
  try {
    for (const { value } of overrides) document = applyOverride(document, value);
    document = validateEconomyDocument(document, { amountMax });
  } catch (error) {
    if (!isGiftstreamError(error)) throw error;
    const listed = (error.extra?.problems as { path: string; message: string }[] | undefined) ?? [
      { path: "", message: error.message },
    ];
    const from = overrides.map((o) => o.source).join(", ");
    throw new ConfigError(
      listed.map((p) => `economy${p.path ? `.${p.path}` : ""}: ${p.message} (from ${from})`),
    );
  }
  return { document, overridden: overrides.length > 0 };
}

function merge(layers: readonly Layer[]): { merged: Record<string, unknown>; sourceOf: SourceLabel } {
  const merged: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const leaf of configLeaves()) {
    if (leaf.schema.default !== undefined) setAt(merged, leaf.key, leaf.schema.default);
    for (const layer of layers) {
      const value = valueAt(layer.value, leaf.key);
      if (value === undefined) continue;
      setAt(merged, leaf.key, value);
      sources.set(leaf.key, layer.sourceOf(leaf.key));
    }
  }
  return { merged, sourceOf: (key) => sources.get(key) ?? "default" };
}

function toConfig(merged: Record<string, unknown>): Omit<Config, "economy"> {
  const money = merged.money as { amountMax: string };
  return { ...merged, money: { ...money, amountMax: BigInt(money.amountMax) } } as unknown as Config;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
