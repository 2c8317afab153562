import { describe, expect, it } from "vitest";
import { refuseUnexpectedBody, refuseUnexpectedQuery } from "./undeclared-input.js";

describe("refuseUnexpectedBody", () => {
  it.each([[undefined], [null], [{}], [Buffer.from("raw")], [new Uint8Array(2)]])(
    "lets %o through",
    (body) => {
      expect(() => refuseUnexpectedBody(body)).not.toThrow();
    },
  );

  it.each([[{ coins: "1" }], [[]], [[1, 2]], ["text"], [0], [false]])(
    "refuses %o with invalid_request",
    (body) => {
      expect(() => refuseUnexpectedBody(body)).toThrow(expect.objectContaining({ code: "invalid_request" }));
    },
  );

  it("names the unknown fields, at most five", () => {
    expect(() => refuseUnexpectedBody({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 })).toThrow(
      "this endpoint takes no body: unknown fields a, b, c, d, e",
    );
  });
});

describe("refuseUnexpectedQuery", () => {
  it("lets no parameters through", () => {
    expect(() => refuseUnexpectedQuery({})).not.toThrow();
    expect(() => refuseUnexpectedQuery(undefined)).not.toThrow();
  });

  it("refuses any parameter, naming it", () => {
    expect(() => refuseUnexpectedQuery({ limit: "0" })).toThrow(
      "this endpoint takes no query parameters: unknown limit",
    );
  });
});
