import { afterEach, describe, expect, it } from "vitest";
import { openTestApp, type TestApp } from "../../test/support/app.js";
import { SqlAccessStore } from "../store/sql/access-store.js";
import { Access } from "./access.js";
import type { AccessStore } from "./access-store.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

describe("Access.authenticate", () => {
  it("does not cache a key whose read began before a revocation in this process and ended after it", async () => {
    t = await openTestApp();
    const real = new SqlAccessStore(t.runtime.store);
    // The real store, with its key read held back until released: the interleaving PostgreSQL's
    // asynchronous reads allow, made certain.
    let release: (() => void) | undefined;
    let held: Promise<void> | undefined;
    const store: AccessStore = Object.assign(Object.create(real) as AccessStore, {
      findKeyByHash: async (hash: string) => {
        const key = await real.findKeyByHash(hash);
        if (held) await held;
        return key;
      },
    });
    const access = new Access(store, () => Date.now());
    const { key, secret } = await access.createKey({ name: "server", scopes: ["server"] }, "test");
    held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inFlight = access.authenticate(secret);
    // Let the read finish and wait at the gate.
    await new Promise((resolve) => setTimeout(resolve, 20));
    held = undefined;
    await access.revokeKey(key.id, "test");
    release!();
    expect(await inFlight).toBeUndefined();
    expect(await access.authenticate(secret)).toBeUndefined();
  });
});
