import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRemoteBus, requireRedis, testRedisUrl, uniqueSuffix } from "./fanout.testkit.js";
import { RedisBus } from "./redis-bus.js";

const available = await requireRedis();

describe.skipIf(!available)("RedisBus", () => {
  let raw: Redis;
  beforeAll(() => {
    raw = new Redis(testRedisUrl);
  });
  afterAll(async () => {
    await raw.quit();
  });

  describeRemoteBus({
    prefix: () => `gs:test:${uniqueSuffix()}:`,
    open: (o) => new RedisBus({ url: testRedisUrl, ...o }),
    openUnreachable: (o) => new RedisBus({ url: "redis://127.0.0.1:1", ...o }),
    publishRaw: async (prefix, streamId, payload) => {
      await raw.publish(prefix + streamId, payload);
    },
  });

  const subscribers = async (channel: string) => {
    const reply = (await raw.pubsub("NUMSUB", channel)) as [string, number];
    return Number(reply[1]);
  };

  it("holds one Redis channel per followed stream, and leaves it with the last listener", async () => {
    const prefix = `gs:test:${uniqueSuffix()}:`;
    const errors: unknown[] = [];
    const bus = new RedisBus({ url: testRedisUrl, prefix, onError: (e) => errors.push(e) });
    try {
      await bus.ready();
      const off1 = bus.subscribe("room", () => {});
      const off2 = bus.subscribe("room", () => {});
      await bus.flush();
      expect(await subscribers(`${prefix}room`)).toBe(1);
      off1();
      await bus.flush();
      expect(await subscribers(`${prefix}room`)).toBe(1);
      off2();
      await bus.flush();
      expect(await subscribers(`${prefix}room`)).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await bus.close();
    }
  });
});
