import { connect, Empty, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRemoteBus, requireNats, testNatsUrl, uniqueSuffix } from "./fanout.testkit.js";
import { NatsBus, streamToken } from "./nats-bus.js";

const available = await requireNats();

describe("streamToken", () => {
  it("maps any id to one non-empty token of subject-safe characters", () => {
    const ids = ["", "a", "a.b", "a b", ">", "*", "a\tb\nc", "ünï", "s", "..", "x".repeat(128)];
    const tokens = ids.map(streamToken);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new Set(tokens).size).toBe(ids.length);
  });
});

describe.skipIf(!available)("NatsBus", () => {
  let raw: NatsConnection;
  beforeAll(async () => {
    raw = await connect({ servers: testNatsUrl });
  });
  afterAll(async () => {
    await raw.drain();
  });

  describeRemoteBus({
    prefix: () => `gs.test.${uniqueSuffix()}.`,
    open: (o) => new NatsBus({ url: testNatsUrl, ...o }),
    openUnreachable: (o) => new NatsBus({ url: "nats://127.0.0.1:1", ...o }),
    publishRaw: async (prefix, streamId, payload) => {
      raw.publish(prefix + streamToken(streamId), Buffer.from(payload));
      await raw.flush();
    },
  });

  it("leaves the subject with the last listener", async () => {
    const prefix = `gs.test.${uniqueSuffix()}.`;
    const bus = new NatsBus({ url: testNatsUrl, prefix, onError: () => {} });
    try {
      await bus.ready();
      const off1 = bus.subscribe("room", () => {});
      const off2 = bus.subscribe("room", () => {});
      off1();
      off2();
      await bus.flush();
      // A request to a subject nobody follows is answered at once with "no responders".
      await expect(
        raw.request(prefix + streamToken("room"), Empty, { timeout: 10_000 }),
      ).rejects.toMatchObject({
        code: "503",
      });
    } finally {
      await bus.close();
    }
  });

  it("refuses a stream id longer than streamIdBytesMax, without throwing from publish", async () => {
    const errors: unknown[] = [];
    const bus = new NatsBus({
      url: testNatsUrl,
      prefix: `gs.test.${uniqueSuffix()}.`,
      onError: (e) => errors.push(e),
      streamIdBytesMax: 8,
    });
    try {
      await bus.ready();
      expect(() => bus.subscribe("123456789", () => {})).toThrow(RangeError);
      expect(bus.channelCount).toBe(0);
      bus.publish("123456789", { type: "gift", giftId: "gft_1" });
      expect(errors).toHaveLength(1);
      bus.subscribe("12345678", () => {});
      expect(bus.channelCount).toBe(1);
    } finally {
      await bus.close();
    }
  });

  it("refuses a prefix that is not dot-separated tokens ending in a dot", () => {
    for (const prefix of ["gs.live", "gs..live.", "gs.*.", "gs live.", "gs.>."]) {
      expect(() => new NatsBus({ url: testNatsUrl, prefix, onError: () => {} })).toThrow(RangeError);
    }
  });

  it("subscribes streams followed before the connection was up", async () => {
    const prefix = `gs.test.${uniqueSuffix()}.`;
    const a = new NatsBus({ url: testNatsUrl, prefix, onError: () => {} });
    const b = new NatsBus({ url: testNatsUrl, prefix, onError: () => {} });
    try {
      const seen: string[] = [];
      b.subscribe("early", () => seen.push("early"));
      await Promise.all([a.ready(), b.ready()]);
      await b.flush();
      a.publish("early", { type: "gift", giftId: "gft_1" });
      await expect.poll(() => seen).toEqual(["early"]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
