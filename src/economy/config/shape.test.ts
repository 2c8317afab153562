import Type from "typebox";
import { describe, expect, it } from "vitest";
import { childPath, describeLeafGeneric, describeValue, shapeProblems } from "./shape.js";

const item = Type.Object(
  { id: Type.String({ minLength: 1 }), count: Type.Integer({ minimum: 0, maximum: 9 }) },
  { additionalProperties: false },
);
const schema = Type.Object(
  {
    items: Type.Array(item, { minItems: 1, maxItems: 3 }),
    tags: Type.Optional(Type.Array(Type.Enum(["a", "b", "c"]), { uniqueItems: true })),
    byCode: Type.Optional(
      Type.Record(Type.String({ pattern: "^[A-Z]{2}$" }), Type.Boolean(), { additionalProperties: false }),
    ),
    flag: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

describe("shapeProblems", () => {
  it("finds nothing in a valid value", () => {
    expect(
      shapeProblems(schema, { items: [{ id: "x", count: 1 }], tags: ["a"], byCode: { US: true } }),
    ).toEqual([]);
  });

  it("reports every problem at once, each with its path", () => {
    const problems = shapeProblems(schema, {
      items: [{ id: "", count: 10 }, { count: 1.5 }, { id: "z", count: 1, extra: true }],
      tags: ["a", "d", "a"],
      byCode: { us: true, GB: "yes" },
      flag: null,
      unknown: 1,
    });
    expect(problems).toEqual([
      { path: "items[0].id", message: "must not be empty" },
      { path: "items[0].count", message: "must be an integer from 0 to 9, got 10" },
      { path: "items[1].id", message: "is required" },
      { path: "items[1].count", message: "must be an integer from 0 to 9, got 1.5" },
      { path: "items[2].extra", message: "unknown field" },
      { path: "tags[1]", message: 'must be one of "a", "b", "c", got "d"' },
      { path: "tags[2]", message: 'repeats "a", already at tags[0]' },
      { path: "byCode.us", message: 'is not a valid key: "us" must match ^[A-Z]{2}$' },
      { path: "byCode.GB", message: 'must be true or false, got "yes"' },
      { path: "flag", message: "must be true or false, got null" },
      { path: "unknown", message: "unknown field" },
    ]);
  });

  it("suggests the field a typo meant", () => {
    expect(shapeProblems(schema, { items: [{ id: "x", count: 1 }], flga: true })).toEqual([
      { path: "flga", message: "unknown field (did you mean flag?)" },
    ]);
  });

  it("reports wrong containers without walking into them", () => {
    expect(shapeProblems(schema, null)).toEqual([{ path: "", message: "must be an object, got null" }]);
    expect(shapeProblems(schema, [])).toEqual([{ path: "", message: "must be an object, got an array" }]);
    expect(shapeProblems(schema, { items: {} })).toEqual([
      { path: "items", message: "must be an array, got an object" },
    ]);
  });

  it("checks array sizes, and does not walk an oversized array", () => {
    expect(shapeProblems(schema, { items: [] })).toEqual([{ path: "items", message: "must not be empty" }]);
    const many = Array.from({ length: 5 }, () => ({ bad: true }));
    expect(shapeProblems(schema, { items: many })).toEqual([
      { path: "items", message: "must have at most 3 items, got 5" },
    ]);
  });

  it("stops at the problem limit", () => {
    const value: Record<string, unknown> = { items: [{ id: "x", count: 1 }] };
    for (let index = 0; index < 1000; index++) value[`k${index}`] = index;
    expect(shapeProblems(schema, value)).toHaveLength(100);
    expect(shapeProblems(schema, value, { problemsMax: 3 })).toHaveLength(3);
  });

  it("asks the leaf describer first", () => {
    const problems = shapeProblems(
      schema,
      { items: [{ id: "x", count: -1 }] },
      { describeLeaf: (_schema, value, path) => `custom ${String(value)} at ${path}` },
    );
    expect(problems).toEqual([{ path: "items[0].count", message: "custom -1 at items[0].count" }]);
  });

  it("keeps a __proto__ key visible as an unknown field", () => {
    const value = JSON.parse('{"items":[{"id":"x","count":1}],"__proto__":{"flag":true}}');
    expect(shapeProblems(schema, value)).toEqual([{ path: "__proto__", message: "unknown field" }]);
  });
});

describe("paths and values", () => {
  it("writes plain keys dotted and odd keys quoted", () => {
    expect(childPath("", "regions")).toBe("regions");
    expect(childPath("regions", "US")).toBe("regions.US");
    expect(childPath("gifts", 3)).toBe("gifts[3]");
    expect(childPath("regions", "u s")).toBe('regions["u s"]');
    expect(childPath("", "x".repeat(100))).toBe(`["${"x".repeat(40)}…"]`);
  });

  it("describes values briefly", () => {
    expect(describeValue(null)).toBe("null");
    expect(describeValue([1])).toBe("an array");
    expect(describeValue({})).toBe("an object");
    expect(describeValue("abc")).toBe('"abc"');
    expect(describeValue("y".repeat(100))).toBe(`"${"y".repeat(40)}…"`);
    expect(describeValue(1.5)).toBe("1.5");
    expect(describeValue(5n)).toBe("5n");
  });

  it("describes leaves from their schema", () => {
    expect(describeLeafGeneric({ type: "string", maxLength: 2 }, "abc")).toBe(
      "must be at most 2 characters long",
    );
    expect(describeLeafGeneric({ type: "string" }, 5)).toBe("must be a string, got 5");
    expect(describeLeafGeneric({ type: "integer", minimum: 1 }, 0)).toBe(
      "must be an integer of at least 1, got 0",
    );
  });
});
