import { describe, expect, it } from "vitest";
import { parseEndpointUrl } from "./endpoint-url.js";

describe("webhook endpoint URLs", () => {
  it.each([
    ["https://hooks.example.com/giftstream", "https://hooks.example.com/giftstream"],
    ["http://127.0.0.1:3000/hooks?x=1", "http://127.0.0.1:3000/hooks?x=1"],
    ["HTTPS://Example.COM", "https://example.com/"],
  ])("accepts %s", (text, normalised) => {
    expect(parseEndpointUrl(text)).toBe(normalised);
  });

  it.each([
    ["a relative URL", "/hooks"],
    ["no scheme", "hooks.example.com"],
    ["ftp", "ftp://example.com/x"],
    ["javascript", "javascript:alert(1)"],
    ["file", "file:///etc/passwd"],
    ["credentials", "https://user:pass@example.com/x"],
    ["a user only", "https://user@example.com/x"],
    ["a fragment", "https://example.com/x#frag"],
    ["an empty fragment", "https://example.com/x#"],
    ["too long", `https://example.com/${"a".repeat(2048)}`],
    ["garbage", "ht!tp://"],
  ])("refuses %s", (_name, text) => {
    expect(() => parseEndpointUrl(text)).toThrow(expect.objectContaining({ code: "invalid_request" }));
  });
});
