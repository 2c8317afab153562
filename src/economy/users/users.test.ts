import { describe, expect, it } from "vitest";
import type { User } from "./user.js";
import type { UserStore } from "./user-store.js";
import { Users } from "./users.js";

const active: User = {
  id: "u1",
  country: "US",
  birthDate: "1990-01-01",
  birthDateVerified: false,
  displayName: "U",
  status: "active",
  statusReason: null,
  createdAt: 1,
  updatedAt: 1,
} as User;

/** A store whose reads wait until released, to order a read against a change by hand. */
function slowStore() {
  let row: User = active;
  const waiting: (() => void)[] = [];
  let reads = 0;
  const store: UserStore = {
    async getUser() {
      reads += 1;
      const seen = row;
      await new Promise<void>((resolve) => waiting.push(resolve));
      return seen;
    },
    async putUser() {},
    async setStatus(_id, status) {
      row = { ...row, status };
    },
  };
  return {
    store,
    release: () => {
      for (const resume of waiting.splice(0)) resume();
    },
    get reads() {
      return reads;
    },
  };
}

describe("the users cache", () => {
  it("reads a burst of requests for one user once", async () => {
    const s = slowStore();
    const users = new Users(s.store, () => 0);
    const all = Promise.all([users.find("u1"), users.find("u1"), users.find("u1")]);
    s.release();
    await all;
    expect(s.reads).toBe(1);
  });

  it("never keeps what a read saw before a change that ended before it", async () => {
    const s = slowStore();
    const users = new Users(s.store, () => 0);
    const stale = users.find("u1"); // reads "active", then waits
    await s.store.setStatus("u1", "blocked", null, 1);
    users.forget("u1");
    const fresh = users.find("u1"); // must not join the stale read
    s.release();
    expect((await stale)?.status).toBe("active");
    s.release();
    expect((await fresh)?.status).toBe("blocked");
    const again = users.find("u1");
    s.release();
    expect((await again)?.status).toBe("blocked");
  });
});
