import { readFileSync, statSync } from "node:fs";
import { parse } from "yaml";
import { configLeaves, envVars } from "./schema.js";

/** A configuration file is small; anything bigger is a mistake (a database file, a log). */
export const configFileBytesMax = 1_048_576;

export type FileLayer = { ok: true; value: unknown } | { ok: false; problem: string };

/** Reads a JSON or YAML configuration file. An empty file means no settings. */
export function readConfigFile(path: string): FileLayer {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > configFileBytesMax) {
      return { ok: false, problem: `is ${size} bytes, more than the ${configFileBytesMax} allowed` };
    }
    text = readFileSync(path, "utf8");
  } catch (error) {
    return { ok: false, problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})` };
  }
  try {
    // JSON is YAML 1.2, so one parser reads both; duplicate keys are an error in both.
    return { ok: true, value: parse(text) ?? {} };
  } catch (error) {
    // The first line says what and where; the rest quotes the file, which may hold a secret.
    const firstLine = String((error as Error).message).split("\n")[0];
    return { ok: false, problem: `is not valid JSON or YAML: ${firstLine}` };
  }
}

const leafTypes = new Map(configLeaves().map((leaf) => [leaf.key, leaf.schema.type]));

/**
 * The configuration the environment sets, shaped like a file. Integers are read only when they are
 * plain digits, otherwise left as text for the schema to refuse. An empty variable counts as unset.
 */
export function envLayer(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(envVars)) {
    const text = env[name];
    if (text === undefined || text === "") continue;
    setAt(layer, key, leafTypes.get(key) === "integer" && /^-?[0-9]+$/.test(text) ? Number(text) : text);
  }
  return layer;
}

/** Sets a dotted key, creating the groups on its way. */
export function setAt(root: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  let node = root;
  for (const part of parts.slice(0, -1)) {
    if (!Object.hasOwn(node, part)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}
