import { describe, expect, it } from "vitest";
import { eventBody, eventBytesMax, eventId, eventTypes, outboxEffects, outboxEvent } from "./events.js";

describe("webhook events", () => {
  it("names an event by what happened: the same origin gives the same id, anything else another", () => {
    expect(eventId("gift.sent", "gft_1")).toBe(eventId("gift.sent", "gft_1"));
    expect(eventId("gift.sent", "gft_1")).toMatch(/^evt_[A-Za-z0-9_-]{24}$/);
    const ids = new Set(eventTypes.flatMap((type) => ["a", "b"].map((origin) => eventId(type, origin))));
    expect(ids.size).toBe(eventTypes.length * 2);
  });

  it("keys ordering by the type's resource and the data's id", () => {
    expect(outboxEvent("purchase.refunded", "p", 0, { id: "pur_1" }).resource).toBe("purchase:pur_1");
    expect(outboxEvent("user.restricted", "u", 0, { id: "u1" }).resource).toBe("user:u1");
    expect(() => outboxEvent("gift.sent", "g", 0, { name: "no id" })).toThrow(/invariant/);
  });

  it("sends exactly id, type, createdAt (ISO 8601) and data", () => {
    const event = outboxEvent("gift.sent", "gft_1", Date.parse("2031-03-01T12:00:00Z"), { id: "gft_1" });
    expect(JSON.parse(eventBody(event))).toEqual({
      id: event.id,
      type: "gift.sent",
      createdAt: "2031-03-01T12:00:00.000Z",
      data: { id: "gft_1" },
    });
    const huge = { ...event, data: { id: "x", note: "y".repeat(eventBytesMax) } };
    expect(() => eventBody(huge)).toThrow(/invariant/);
  });

  it("builds and writes only the events some endpoint wants, in one effect", () => {
    let built = 0;
    const candidate = (type: (typeof eventTypes)[number]) => ({
      type,
      build: () => {
        built++;
        return outboxEvent(type, "o", 0, { id: "x" });
      },
    });
    const wants = { wants: (type: string) => type === "purchase.disputed" };
    expect(outboxEffects(undefined, candidate("purchase.disputed"))).toEqual([]);
    expect(outboxEffects(wants, candidate("gift.sent"))).toEqual([]);
    expect(built).toBe(0);
    const effects = outboxEffects(wants, candidate("purchase.disputed"), candidate("user.restricted"));
    expect(built).toBe(1);
    expect(effects).toHaveLength(1);
    expect(effects[0]).toMatchObject({
      type: "outbox.events",
      data: { events: [{ type: "purchase.disputed" }] },
    });
  });
});
