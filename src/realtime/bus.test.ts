import { describe, expect, it } from "vitest";
import {
  BusChannelsFullError,
  decodeNotice,
  encodeNotice,
  InProcessBus,
  type LiveNotice,
  MalformedNoticeError,
} from "./bus.js";

const notice: LiveNotice = { type: "gift", giftId: "gft_1" };

describe("InProcessBus", () => {
  it("delivers to the stream's listeners only, until they unsubscribe", () => {
    const bus = new InProcessBus(() => {});
    const seen: string[] = [];
    const off = bus.subscribe("s1", (n) => seen.push(`a:${n.giftId}`));
    bus.subscribe("s2", (n) => seen.push(`b:${n.giftId}`));
    bus.publish("s1", notice);
    off();
    bus.publish("s1", notice);
    bus.publish("s3", notice);
    expect(seen).toEqual(["a:gft_1"]);
    expect(bus.streamCount).toBe(1);
  });

  it("keeps a listener's failure from the publisher and the other listeners", () => {
    const errors: unknown[] = [];
    const bus = new InProcessBus((e) => errors.push(e));
    let called = 0;
    bus.subscribe("s", () => {
      throw new Error("boom");
    });
    bus.subscribe("s", () => called++);
    expect(() => bus.publish("s", notice)).not.toThrow();
    expect(called).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it("gives the same function subscribed twice two subscriptions", () => {
    const bus = new InProcessBus(() => {});
    let called = 0;
    const listener = () => called++;
    const off = bus.subscribe("s", listener);
    bus.subscribe("s", listener);
    off();
    bus.publish("s", notice);
    expect(called).toBe(1);
  });
});

describe("InProcessBus over other notices", () => {
  it("carries any tagged notice type, and tells which streams have listeners", async () => {
    type Tip = { type: "tip"; amountMinor: string };
    const bus = new InProcessBus<Tip>(() => {});
    const seen: string[] = [];
    const off = bus.subscribe("s1", (n) => seen.push(n.amountMinor));
    bus.subscribe("s2", () => {});
    bus.publish("s1", { type: "tip", amountMinor: "5" });
    expect(seen).toEqual(["5"]);
    expect([...bus.streams()]).toEqual(["s1", "s2"]);
    expect(bus.has("s1")).toBe(true);
    off();
    expect(bus.has("s1")).toBe(false);
    await expect(bus.ready()).resolves.toBeUndefined();
    await expect(bus.close()).resolves.toBeUndefined();
  });
});

describe("notice wire format", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it("reads back what it writes", () => {
    const wire = encodeNotice(notice, 100);
    expect(decodeNotice("c", wire, 100)).toEqual(notice);
    // A view into a larger buffer, as a client library may hand over, reads only its own bytes.
    const framed = Buffer.concat([Buffer.from("xx"), wire, Buffer.from("yy")]);
    expect(decodeNotice("c", framed.subarray(2, 2 + wire.byteLength), 100)).toEqual(notice);
  });

  it("refuses what is not a notice, saying why", () => {
    const cases: [string, RegExp][] = [
      ["", /not JSON/],
      ["{", /not JSON/],
      ["null", /not an object/],
      ["[]", /not an object/],
      ['"gift"', /not an object/],
      ["7", /not an object/],
      ["{}", /string `type`/],
      ['{"type":null}', /string `type`/],
      ['{"type":{"a":1}}', /string `type`/],
      [`{"type":"${"x".repeat(200)}"}`, /more than 100/],
    ];
    for (const [text, reason] of cases) {
      const result = decodeNotice("chan", bytes(text), 100);
      expect(result).toBeInstanceOf(MalformedNoticeError);
      expect((result as Error).message).toMatch(reason);
      expect((result as MalformedNoticeError).channel).toBe("chan");
    }
  });

  it("refuses to send a notice over the bound", () => {
    expect(() => encodeNotice({ type: "x".repeat(200) }, 100)).toThrow(RangeError);
  });

  it("names the bound in the channel-limit error", () => {
    expect(new BusChannelsFullError(7).message).toMatch(/7 streams/);
  });
});
