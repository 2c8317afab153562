import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../sqlite/sqlite-store.js";
import {
  expectLeaderboardsAsReference,
  insertGifts,
  plainGift,
  randomGifts,
  referenceStreaks,
  sortedStreaks,
} from "./gift-rows.testkit.js";
import { SqlLiveStore } from "./live-store.js";

let dir: string;
let store: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "giftstream-live-"));
  store = new SqliteStore({ path: join(dir, "live.db") });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SqlLiveStore on SQLite", () => {
  it("reads live gifts in commit order, by stream, with rowids that VACUUM keeps", async () => {
    const rows = randomGifts(300, 1);
    await insertGifts(store, rows.slice(0, 150));
    await insertGifts(store, rows.slice(150));
    const live = new SqlLiveStore(store);
    expect(await live.headSeq()).toBe(300n);
    const after = await live.liveAfter(100n, 1000);
    const expected = rows.map((r, i) => ({ r, seq: BigInt(i + 1) })).filter((x) => x.r.source === "live");
    expect(after.map((g) => g.seq)).toEqual(expected.filter((x) => x.seq > 100n).map((x) => x.seq));
    expect(after[0]).toMatchObject({ id: expected.find((x) => x.seq > 100n)!.r.id });
    expect((await live.liveAfter(0n, 7)).length).toBe(7);
    const latest = await live.streamLatest("s1", 200n, 5);
    expect(latest.map((g) => g.seq)).toEqual(
      expected
        .filter((x) => x.r.context === "s1" && x.seq <= 200n)
        .slice(-5)
        .map((x) => x.seq),
    );
    store.database.exec("VACUUM");
    const afterVacuum = new SqlLiveStore(store);
    expect(await afterVacuum.liveAfter(100n, 1000)).toEqual(after);
  });

  it("finds a stream's newest gifts near the head and far behind it", async () => {
    const row = plainGift;
    await insertGifts(
      store,
      Array.from({ length: 10 }, (_, i) => row(i, "quiet")),
    );
    await insertGifts(
      store,
      Array.from({ length: 30_000 }, (_, i) => row(100 + i, i % 2 === 0 ? "busy" : "other")),
    );
    const live = new SqlLiveStore(store);
    const head = await live.headSeq();
    expect((await live.streamLatest("busy", head, 3)).map((g) => g.id)).toEqual([
      "gft_30094",
      "gft_30096",
      "gft_30098",
    ]);
    expect((await live.streamLatest("quiet", head, 3)).map((g) => g.id)).toEqual(["gft_7", "gft_8", "gft_9"]);
    expect((await live.streamLatest("quiet", head, 100)).length).toBe(10);
    expect((await live.streamLatest("quiet", 5n, 100)).map((g) => g.seq)).toEqual([1n, 2n, 3n, 4n, 5n]);
  });

  it("folds a period's streaks in SQL exactly as the TypeScript rule does", async () => {
    const rows = randomGifts(600, 2);
    await insertGifts(store, rows);
    const live = new SqlLiveStore(store);
    const withSeq = rows.map((r, i) => ({ ...r, seq: BigInt(i + 1) }));
    for (const windowMs of [0, 1500, 3000, 60_000]) {
      for (const [fromMs, toMs] of [
        [0, 10 ** 13],
        [1_200_000, 1_500_000],
      ] as const) {
        for (const before of [1n, 250n, 601n]) {
          const got = await live.periodStreaks("s2", { fromMs, toMs }, before, windowMs);
          const reference = referenceStreaks(
            withSeq.filter(
              (r) =>
                r.source === "live" && r.context === "s2" && r.at >= fromMs && r.at < toMs && r.seq < before,
            ),
            windowMs,
          );
          expect(sortedStreaks(got), `window ${windowMs}, [${fromMs}, ${toMs}), before ${before}`).toEqual(
            sortedStreaks(reference),
          );
        }
      }
    }
  });
});

describe("SqlLeaderboardStore on SQLite", () => {
  it("ranks by coins then user id, live gifts only per stream, any source per creator within the range", async () => {
    await expectLeaderboardsAsReference(store, 400);
  });
});
