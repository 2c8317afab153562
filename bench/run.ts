import { benchGiftsHttp } from "./gifts-http.js";
import { benchGiftsSqlite } from "./gifts-sqlite.js";
import { benchLedger } from "./ledger.js";
import { benchPg } from "./pg.js";
import { benchPgLedger } from "./pg-ledger.js";

/** `npm run bench` runs every benchmark; `npm run bench -- NAME` runs one. */
const benches: Record<string, () => Promise<void>> = {
  ledger: () => benchLedger(),
  "gifts-sqlite": () => benchGiftsSqlite(),
  "gifts-http": () => benchGiftsHttp(),
  "pg-ledger": () => benchPgLedger(),
  pg: () => benchPg(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}; choose from ${Object.keys(benches).join(", ")}`);
  process.exit(2);
}
console.log(`node ${process.version}, ${(await import("node:os")).cpus().length} cores`);

for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) await benches[name]!();
