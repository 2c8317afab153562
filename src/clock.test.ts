import { describe, expect, it } from "vitest";
import { ServiceClock } from "./clock.js";

describe("the service clock", () => {
  it("runs with its source until set, then stays, and only moves forward", () => {
    let source = 1_000;
    const clock = new ServiceClock(() => source);
    expect(clock.now()).toBe(1_000);
    source = 2_000;
    expect(clock.now()).toBe(2_000);
    clock.set(5_000);
    source = 9_000;
    expect(clock.now()).toBe(5_000);
    expect(clock.isFrozen).toBe(true);
    expect(() => clock.set(4_999)).toThrow(/only moves forward/);
  });

  it("follows another process's setting: a running clock takes it as it is, a frozen one never goes back", () => {
    const running = new ServiceClock(() => 10_000);
    running.follow(3_000);
    expect(running.now()).toBe(3_000);
    expect(running.isFrozen).toBe(true);
    running.follow(2_000);
    expect(running.now()).toBe(3_000);
    running.follow(4_000);
    expect(running.now()).toBe(4_000);
  });
});
