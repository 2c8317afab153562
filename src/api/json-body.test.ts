import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestApp, type TestApp } from "../../test/support/app.js";
import { charsetOf } from "./json-body.js";

describe("charsetOf", () => {
  it.each([
    ["application/json", undefined],
    ["application/json; charset=utf-8", "utf-8"],
    ["application/json;charset=UTF-8", "utf-8"],
    ['application/json; charset="ISO-8859-1"', "iso-8859-1"],
    ["application/json; foo=bar; charset=utf8", "utf8"],
  ])("reads %s as %s", (contentType, charset) => {
    expect(charsetOf(contentType)).toBe(charset);
  });
});

describe("JSON bodies over HTTP", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await openTestApp();
  });
  afterAll(async () => t.dispose());

  const user = (name: Buffer) =>
    Buffer.concat([
      Buffer.from('{"country":"US","birthDate":"1990-01-01","displayName":"'),
      name,
      Buffer.from('"}'),
    ]);
  const put = (id: string, contentType: string, payload: Buffer) =>
    t.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: { ...t.admin, "content-type": contentType },
      payload,
    });
  const exists = async (id: string) =>
    (await t.app.inject({ method: "GET", url: `/v1/users/${id}`, headers: t.admin })).statusCode === 200;

  it("refuses bytes that are not UTF-8 with 400 invalid_request, creating nothing", async () => {
    // "Zo" and a lone Latin-1 byte: decoded as UTF-8 it would be stored as "Zo\ufffd".
    const res = await put("latin", "application/json", user(Buffer.from([0x5a, 0x6f, 0xeb])));
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.json()).toMatchObject({
      code: "invalid_request",
      detail: "The request body is not valid UTF-8.",
    });
    expect(await exists("latin")).toBe(false);
  });

  it("refuses a charset other than UTF-8 with 415, creating nothing", async () => {
    const res = await put(
      "declared",
      "application/json; charset=iso-8859-1",
      user(Buffer.from("Zoë", "latin1")),
    );
    expect(res.statusCode, res.body).toBe(415);
    expect(res.json().code).toBe("unsupported_media_type");
    expect(await exists("declared")).toBe(false);
  });

  it("takes UTF-8, with or without its charset, and keeps the text as sent", async () => {
    for (const [id, contentType] of [
      ["plain", "application/json"],
      ["named", "application/json; charset=UTF-8"],
    ]) {
      const res = await put(id!, contentType!, user(Buffer.from("Zoë 🎁", "utf8")));
      expect(res.statusCode, res.body).toBeLessThan(300);
      expect(res.json().displayName).toBe("Zoë 🎁");
    }
  });

  it("still refuses prototype poisoning and malformed JSON", async () => {
    const poisoned = await put("proto", "application/json", Buffer.from('{"__proto__":{"x":1}}'));
    expect(poisoned.statusCode).toBe(400);
    const broken = await put("broken", "application/json", Buffer.from('{"a":'));
    expect(broken.statusCode).toBe(400);
    expect(broken.json().code).toBe("invalid_request");
  });
});
