import Value from "typebox/value";
import { invariant } from "../errors.js";
import { ConfigError } from "./config-error.js";
import { type Config, type ConfigInput, configLeaves, configSchema, envVarFor } from "./schema.js";
import { envLayer, readConfigFile, setAt } from "./sources.js";
import { type SourceLabel, validateLayer, valueAt } from "./validate.js";

export interface LoadConfigOptions {
  /** Defaults to `process.env`. `GIFTSTREAM_CONFIG` names the optional file. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Applied last, over the file and the environment (tests, embedding). */
  overrides?: ConfigInput;
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

  for (const layer of layers) problems.push(...validateLayer(layer.value, layer.sourceOf));
  if (problems.length > 0) throw new ConfigError(problems);

  const { merged, sourceOf } = merge(layers);
  if (merged.testMode === true && env.NODE_ENV === "production") {
    throw new ConfigError([
      `testMode: must not be true when NODE_ENV=production (from ${sourceOf("testMode")})`,
    ]);
  }
  // Each layer passed on its own; the merged whole must too.
  invariant(Value.Check(configSchema, merged), "the merged configuration matches its schema");
  return deepFreeze(toConfig(merged));
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

function toConfig(merged: Record<string, unknown>): Config {
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
