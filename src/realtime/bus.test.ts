import { describe, expect, it } from "vitest";
import { InProcessBus, type LiveNotice } from "./bus.js";

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
