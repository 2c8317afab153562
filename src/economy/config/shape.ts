/**
 * Where a value departs from a JSON schema, every problem with its path.
 *
 * TypeBox's own error list stops after a few errors and speaks in JSON pointers; an operator fixing
 * a document wants every problem at once, each at a path they can read (`regions.US.packs[0].coins`).
 * This walks objects, records and arrays itself and asks TypeBox only about leaves. It knows the
 * subset of JSON Schema the economy document uses: objects with `properties`, `patternProperties`
 * and `additionalProperties`, arrays with `items`, and leaves (`type`, `enum`, ranges, patterns).
 */
import type { TSchema } from "typebox";
import Value from "typebox/value";
import { didYouMean, editDistance } from "../../did-you-mean.js";

export interface DocumentProblem {
  /** Dotted path of the offending value, e.g. `gifts[3].contexts`; "" for the whole document. */
  readonly path: string;
  readonly message: string;
}

/** A schema node, read as plain JSON Schema. */
export type SchemaNode = Readonly<Record<string, unknown>>;

/** Gives a specific message for a leaf that fails its schema, or undefined for the generic one. */
export type LeafDescriber = (schema: SchemaNode, value: unknown, path: string) => string | undefined;

export interface ShapeOptions {
  describeLeaf?: LeafDescriber;
  /** Stop after this many problems; an adversarial document could otherwise produce millions. */
  problemsMax?: number;
}

export const shapeProblemsMax = 100;

/** Keys longer than this are cut in paths, so that a huge bogus key cannot bloat a response. */
const pathKeyLengthMax = 40;

interface Walk {
  readonly describeLeaf: LeafDescriber;
  readonly problemsMax: number;
  readonly problems: DocumentProblem[];
}

export function shapeProblems(
  schema: TSchema,
  value: unknown,
  options: ShapeOptions = {},
): DocumentProblem[] {
  const walk: Walk = {
    describeLeaf: options.describeLeaf ?? (() => undefined),
    problemsMax: options.problemsMax ?? shapeProblemsMax,
    problems: [],
  };
  visit(walk, schema as SchemaNode, value, "");
  return walk.problems;
}

/** `parent.key`, or `parent["odd key"]` when the key is not a plain name. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  const shown = key.length > pathKeyLengthMax ? `${key.slice(0, pathKeyLengthMax)}…` : key;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(shown)) return parent === "" ? shown : `${parent}.${shown}`;
  return `${parent}[${JSON.stringify(shown)}]`;
}

/** A short description of a value for messages: `null`, `an array`, `"abc"`, `1.5`. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    return JSON.stringify(value.length > pathKeyLengthMax ? `${value.slice(0, pathKeyLengthMax)}…` : value);
  }
  if (typeof value === "object") return "an object";
  if (typeof value === "bigint") return `${value}n`;
  return String(value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function add(walk: Walk, path: string, message: string): void {
  if (walk.problems.length < walk.problemsMax) walk.problems.push({ path, message });
}

function full(walk: Walk): boolean {
  return walk.problems.length >= walk.problemsMax;
}

function visit(walk: Walk, schema: SchemaNode, value: unknown, path: string): void {
  if (full(walk)) return;
  if (schema.type === "object") visitObject(walk, schema, value, path);
  else if (schema.type === "array") visitArray(walk, schema, value, path);
  else visitLeaf(walk, schema, value, path);
}

function visitObject(walk: Walk, schema: SchemaNode, value: unknown, path: string): void {
  if (!isPlainObject(value)) {
    add(walk, path, `must be an object, got ${describeValue(value)}`);
    return;
  }
  const properties = (schema.properties ?? {}) as Record<string, SchemaNode>;
  const required = (schema.required ?? []) as string[];
  for (const name of required) {
    if (value[name] === undefined) add(walk, childPath(path, name), "is required");
  }
  const keys = Object.keys(value);
  if (!checkCount(walk, schema, keys.length, path, "entries", "minProperties", "maxProperties")) return;
  for (const key of keys) {
    if (full(walk)) return;
    const child = value[key];
    const childSchema = schemaForKey(schema, properties, key);
    if (childSchema === undefined)
      add(walk, childPath(path, key), unknownKey(walk, schema, properties, key, path));
    else if (child !== undefined) visit(walk, childSchema, child, childPath(path, key));
  }
}

function schemaForKey(
  schema: SchemaNode,
  properties: Record<string, SchemaNode>,
  key: string,
): SchemaNode | undefined {
  if (Object.hasOwn(properties, key)) return properties[key];
  const patterns = (schema.patternProperties ?? {}) as Record<string, SchemaNode>;
  for (const [pattern, child] of Object.entries(patterns)) if (regexp(pattern).test(key)) return child;
  const additional = schema.additionalProperties;
  if (additional === false) return undefined;
  return typeof additional === "object" && additional !== null ? (additional as SchemaNode) : {};
}

function unknownKey(
  walk: Walk,
  schema: SchemaNode,
  properties: Record<string, SchemaNode>,
  key: string,
  path: string,
): string {
  const patterns = Object.keys((schema.patternProperties ?? {}) as Record<string, SchemaNode>);
  const [pattern] = patterns;
  if (patterns.length === 1 && pattern !== undefined) {
    const keySchema = { type: "string", pattern };
    const reason =
      walk.describeLeaf(keySchema, key, childPath(path, key)) ?? describeLeafGeneric(keySchema, key);
    return `is not a valid key: ${reason}`;
  }
  return `unknown field${suggestion(key, Object.keys(properties))}`;
}

function visitArray(walk: Walk, schema: SchemaNode, value: unknown, path: string): void {
  if (!Array.isArray(value)) {
    add(walk, path, `must be an array, got ${describeValue(value)}`);
    return;
  }
  if (!checkCount(walk, schema, value.length, path, "items", "minItems", "maxItems")) return;
  const items = schema.items as SchemaNode | undefined;
  for (const [index, item] of value.entries()) {
    if (full(walk)) return;
    if (items !== undefined) visit(walk, items, item, childPath(path, index));
  }
  if (schema.uniqueItems === true) checkUnique(walk, value, path);
}

/** False when the count is over the maximum: the entries are then not walked one by one. */
function checkCount(
  walk: Walk,
  schema: SchemaNode,
  count: number,
  path: string,
  noun: string,
  minKey: string,
  maxKey: string,
): boolean {
  const min = schema[minKey];
  const max = schema[maxKey];
  if (typeof min === "number" && count < min) {
    add(walk, path, min === 1 ? "must not be empty" : `must have at least ${min} ${noun}, got ${count}`);
  }
  if (typeof max === "number" && count > max) {
    add(walk, path, `must have at most ${max} ${noun}, got ${count}`);
    return false;
  }
  return true;
}

function checkUnique(walk: Walk, items: readonly unknown[], path: string): void {
  const seen = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    // Unique arrays in the document hold strings; a non-string was already reported as a leaf.
    if (typeof item !== "string") continue;
    const first = seen.get(item);
    if (first === undefined) seen.set(item, index);
    else
      add(
        walk,
        childPath(path, index),
        `repeats ${describeValue(item)}, already at ${childPath(path, first)}`,
      );
  }
}

function visitLeaf(walk: Walk, schema: SchemaNode, value: unknown, path: string): void {
  if (Value.Check(schema as TSchema, value)) return;
  add(walk, path, walk.describeLeaf(schema, value, path) ?? describeLeafGeneric(schema, value));
}

/** The message for a leaf that fails its schema, from the schema alone. */
export function describeLeafGeneric(schema: SchemaNode, value: unknown): string {
  const got = describeValue(value);
  if (Array.isArray(schema.enum)) {
    return `must be one of ${schema.enum.map((option) => JSON.stringify(option)).join(", ")}, got ${got}`;
  }
  switch (schema.type) {
    case "string":
      return describeString(schema, value, got);
    case "integer":
    case "number":
      return describeNumber(schema, got);
    case "boolean":
      return `must be true or false, got ${got}`;
    default:
      return `is not valid (${got})`;
  }
}

function describeString(schema: SchemaNode, value: unknown, got: string): string {
  if (typeof value !== "string") return `must be a string, got ${got}`;
  const { minLength, maxLength, pattern } = schema;
  if (typeof minLength === "number" && value.length < minLength) {
    return minLength === 1 ? "must not be empty" : `must be at least ${minLength} characters long`;
  }
  if (typeof maxLength === "number" && value.length > maxLength) {
    return `must be at most ${maxLength} characters long`;
  }
  if (typeof pattern === "string" && !regexp(pattern).test(value)) return `${got} must match ${pattern}`;
  return `${got} is not valid`;
}

function describeNumber(schema: SchemaNode, got: string): string {
  const kind = schema.type === "integer" ? "an integer" : "a number";
  const { minimum, maximum } = schema;
  if (typeof minimum === "number" && typeof maximum === "number") {
    return `must be ${kind} from ${minimum} to ${maximum}, got ${got}`;
  }
  if (typeof minimum === "number") return `must be ${kind} of at least ${minimum}, got ${got}`;
  return `must be ${kind}, got ${got}`;
}

const regexps = new Map<string, RegExp>();

function regexp(pattern: string): RegExp {
  let compiled = regexps.get(pattern);
  if (compiled === undefined) {
    compiled = new RegExp(pattern, "u");
    regexps.set(pattern, compiled);
  }
  return compiled;
}

function suggestion(key: string, names: readonly string[]): string {
  return didYouMean(key, names, (typed, name) => editDistance(typed.toLowerCase(), name.toLowerCase()));
}
