import type { TObject } from "typebox";
import Value from "typebox/value";
import { previousSecretKeysMax } from "../crypto/secret-key.js";
import { didYouMean, editDistance } from "../did-you-mean.js";
import { findUnit } from "../money/unit.js";
import { parseDatabaseUrl } from "./database-url.js";
import {
  amountMaxLimit,
  autoApproveCurrenciesMax,
  type ConfigLeaf,
  configKeys,
  configSchema,
  isObjectSchema,
} from "./schema.js";

/** Names where a layer's values came from, per key: `file ./giftstream.yaml`, `env PORT`, `overrides`. */
export type SourceLabel = (key: string) => string;

interface SchemaError {
  keyword: string;
  params: Record<string, unknown>;
  message: string;
  /** Where in the value, as a JSON pointer: "" for the value itself. */
  instancePath?: string;
}

const groupKeys = [...new Set(configKeys().flatMap((key) => parents(key)))];

/**
 * Checks one layer of configuration (a file, the environment, overrides) and describes every problem.
 * It walks the layer key by key rather than asking for the whole object's errors, which TypeBox caps.
 */
export function validateLayer(value: unknown, sourceOf: SourceLabel): string[] {
  if (!isPlainObject(value)) return [`${sourceOf("")}: must hold a mapping of keys to values`];
  const problems: string[] = [];
  walk(configSchema, value, "", sourceOf, problems);
  return problems;
}

function walk(
  schema: TObject,
  value: Record<string, unknown>,
  prefix: string,
  sourceOf: SourceLabel,
  into: string[],
) {
  for (const name of Object.keys(value)) {
    const key = prefix === "" ? name : `${prefix}.${name}`;
    const child = Object.hasOwn(schema.properties, name) ? schema.properties[name] : undefined;
    const childValue = value[name];
    if (child === undefined) into.push(`${key}: unknown key${suggestion(key)} (from ${sourceOf(key)})`);
    else if (childValue === undefined) continue;
    else if (isObjectSchema(child)) {
      if (isPlainObject(childValue)) walk(child, childValue, key, sourceOf, into);
      else into.push(`${key}: must be a mapping of keys to values (from ${sourceOf(key)})`);
    } else {
      const problem = checkLeaf(key, child as ConfigLeaf["schema"], childValue);
      if (problem !== undefined) into.push(`${key}: ${problem} (from ${sourceOf(key)})`);
    }
  }
}

function checkLeaf(key: string, schema: ConfigLeaf["schema"], value: unknown): string | undefined {
  const errors = Value.Errors(schema, value) as SchemaError[];
  const error = errors.find((candidate) => candidate.keyword === "type") ?? errors[0];
  return error === undefined ? checkBeyondSchema(key, value) : describe(key, schema, error);
}

/**
 * Checks the schema cannot express: the range of a bigint held in a string, a URL's scheme, how
 * many keys a list holds.
 */
function checkBeyondSchema(key: string, value: unknown): string | undefined {
  if (key === "money.amountMax" && BigInt(value as string) > amountMaxLimit) {
    return `must be at most ${amountMaxLimit} (2^63 - 1)`;
  }
  if (key === "databaseUrl") {
    const result = parseDatabaseUrl(value as string);
    if (!result.ok) return result.problem;
  }
  if (key === "cashouts.autoApproveNetMaxMinor") {
    // Payout currencies are ISO 4217 codes (the economy's regions check theirs so): a typo such as
    // UDS would otherwise match no cash-out, silently.
    const unknown = Object.keys(value as object).filter((code) => findUnit(code)?.kind !== "currency");
    if (unknown.length > 0) return `${unknown.join(", ")}: not an ISO 4217 currency code`;
  }
  if (key === "encryption.previousKeys") {
    const count = (value as string).split(",").length;
    if (count > previousSecretKeysMax) return `holds ${count} keys, at most ${previousSecretKeysMax}`;
  }
  return undefined;
}

function describe(key: string, leafSchema: ConfigLeaf["schema"], error: SchemaError): string {
  const schema = leafSchema as ConfigLeaf["schema"] & Record<string, unknown>;
  if (key === "money.amountMax") {
    if (error.keyword === "type") {
      return 'must be a string of digits, e.g. "1000000000000000" (numbers are refused: they can lose precision)';
    }
    if (error.keyword === "maxLength") return `must be at most ${amountMaxLimit} (2^63 - 1)`;
    return "must be a positive integer written with digits only (no sign, leading zero, decimal point or exponent)";
  }
  if (key === "cashouts.autoApproveNetMaxMinor") return describeAutoApprove(error);
  switch (error.keyword) {
    case "type":
      return `must be ${article(String(error.params.type))}`;
    case "minimum":
    case "maximum":
      return `must be between ${schema.minimum} and ${schema.maximum}`;
    case "enum":
      return `must be one of ${(schema.enum as string[]).join(", ")}`;
    case "minLength":
      return `must be at least ${schema.minLength} characters long`;
    case "maxLength":
      return `must be at most ${schema.maxLength} characters long`;
    default:
      return error.message;
  }
}

/**
 * The per-currency auto-approval limits. The single figure of earlier versions is refused, saying
 * what to write instead: one figure meant different amounts in each currency.
 */
function describeAutoApprove(error: SchemaError): string {
  const path = error.instancePath ?? "";
  const code = path.slice(1).replaceAll("~1", "/").replaceAll("~0", "~");
  if (path === "" && error.keyword === "type") {
    return 'must be a mapping of payout currency to minor units, e.g. {USD: "5000", EUR: "5000"}: one figure for every currency is no longer accepted (500 cents and 500 yen are different amounts); {} sends every cash-out to review';
  }
  if (path === "" && error.keyword === "maxProperties") {
    return `must list at most ${autoApproveCurrenciesMax} currencies`;
  }
  if (error.keyword === "additionalProperties" || error.keyword === "boolean") {
    const name =
      error.keyword === "boolean" ? code : String((error.params.additionalProperties as string[])[0]);
    return `${JSON.stringify(name)} is not a currency code: three capital letters (ISO 4217), e.g. USD`;
  }
  return `${code}: must be minor units as a string of digits, e.g. "5000" (no sign, leading zero, decimal point or exponent; numbers are refused: they can lose precision)`;
}

function article(type: string): string {
  if (type === "integer") return "an integer";
  if (type === "boolean") return "true or false";
  if (type === "object") return "a mapping of keys to values";
  return `a ${type}`;
}

function suggestion(unknownKey: string): string {
  const name = unknownKey.slice(unknownKey.lastIndexOf(".") + 1);
  // A key whose last segment matches is the best guess (a right name in the wrong group).
  return didYouMean(unknownKey, [...configKeys(), ...groupKeys], (typed, candidate) =>
    candidate.slice(candidate.lastIndexOf(".") + 1) === name ? 0 : editDistance(typed, candidate),
  );
}

function parents(key: string): string[] {
  const parts = key.split(".");
  return parts.slice(0, -1).map((_, index) => parts.slice(0, index + 1).join("."));
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The value at a dotted key, or undefined when it or a parent is absent. */
export function valueAt(root: unknown, key: string): unknown {
  let node: unknown = root;
  for (const part of key.split(".")) {
    if (!isPlainObject(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}
