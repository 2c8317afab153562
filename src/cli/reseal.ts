import type { Config } from "../config/index.js";
import { secretKeySource } from "../crypto/key-source.js";
import { Sealer } from "../crypto/sealed.js";
import { keyIdsOf, keyringOf } from "../crypto/secret-key.js";
import { resealAll } from "../store/sql/reseal.js";
import { sealedColumns } from "../store/sql/sealed-columns.js";
import { openStore } from "./runtime.js";

/**
 * `giftstream reseal`: every sealed value moved under the current key (`encryption.key`), opened
 * with it or a previous key (`encryption.previousKeys`). Prints each value it could not open, then
 * counts per column; exits 1 unless every value ends under the current key. Safe to run while
 * servers run, and to run again (docs/kyc.md#rotating-the-key).
 */
export async function resealCommand(
  config: Config,
  print: (line: string) => void = console.log,
): Promise<number> {
  // The keys before the database: a missing or malformed one stops here, having opened nothing.
  const keys = secretKeySource(config).load();
  const sealer = new Sealer(keyringOf(keys));
  const { current, previous } = keyIdsOf(keys);
  print(
    `sealing under key ${current}; opening also with ${previous.length === 0 ? "no other key" : previous.join(", ")}`,
  );
  const store = await openStore(config);
  try {
    let ok = true;
    // Column by column, each counted as soon as it is done: a large table takes a while.
    for (const column of sealedColumns) {
      const report = await resealAll({
        db: store,
        sealer,
        pageRowsMax: config.encryption.resealPageRowsMax,
        columns: [column],
        onProblem: (p) => print(`NOT RESEALED ${p.context}: ${p.reason}`),
      });
      for (const { name, counts } of report.columns) {
        print(
          `${name}: ${counts.resealed} resealed, ${counts.current} already under the current key, ${counts.unopened} not opened, ${counts.contended} changed meanwhile`,
        );
      }
      ok &&= report.ok;
    }
    print(ok ? "reseal: ok" : "reseal: FAILED");
    return ok ? 0 : 1;
  } finally {
    await store.close();
  }
}
