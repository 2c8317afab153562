import type { Logger } from "pino";
import type { Access } from "../access/access.js";
import type { GiftstreamApp } from "../api/app.js";
import { payoutFileRoutes } from "../api/routes/payout-files.js";
import { ConfigError } from "../config/config-error.js";
import type { Config } from "../config/index.js";
import type { Sealer } from "../crypto/sealed.js";
import type { Cashouts } from "../economy/cashouts/cashouts.js";
import { parseBic, parseIban } from "../economy/payout-methods/bank-account.js";
import { FilePayoutRail } from "../providers/payouts/files/file-rail.js";
import { PayoutFiles } from "../providers/payouts/files/payout-files.js";
import { NachaFormat } from "../providers/payouts/nacha/nacha-format.js";
import type { PayoutRail } from "../providers/payouts/rail.js";
import { SepaFormat } from "../providers/payouts/sepa/sepa-format.js";
import { sepaText } from "../providers/payouts/sepa/sepa-text.js";
import { SqlPayoutFileStore } from "../store/sql/payout-file-store.js";
import { openSealer } from "./identity.js";
import type { Runtime } from "./runtime.js";

/**
 * The bank-file rails whose configuration is set: `sepa` (pain.001 credit transfers of EUR to
 * IBANs) and `nacha` (US ACH credits of USD). A group that is set but incomplete stops the start.
 */
export function fileRails(o: {
  runtime: Runtime;
  clock: () => number;
  logger: Logger;
}): Map<string, PayoutRail> {
  const config = o.runtime.config;
  const rails = new Map<string, PayoutRail>();
  const sepa = sepaSettings(config);
  const nacha = nachaSettings(config);
  if (!sepa && !nacha) return rails;
  // The files hold every creditor's account number: sealed with the key of the payout methods.
  const sealer = openSealer(config);
  const store = new SqlPayoutFileStore(o.runtime.store);
  const common = { store, sealer, clock: o.clock, ordersPerFileMax: config.payouts.files.ordersPerFileMax };
  const delay = config.payouts.files.executionDelayBusinessDays;
  if (sepa) {
    rails.set(
      "sepa",
      new FilePayoutRail({
        name: "sepa",
        format: new SepaFormat({ ...sepa, executionDelayBusinessDays: delay }),
        ...common,
      }),
    );
  }
  if (nacha) {
    rails.set(
      "nacha",
      new FilePayoutRail({
        name: "nacha",
        format: new NachaFormat({ origin: nacha, executionDelayBusinessDays: delay }),
        ...common,
      }),
    );
  }
  return rails;
}

/** The admin routes of bank files. They exist whether or not a file rail is configured. */
export function payoutFileRoutesOf(
  app: GiftstreamApp,
  o: { runtime: Runtime; sealer: Sealer; cashouts: Cashouts; access: Access; clock: () => number },
): void {
  const files = o.runtime.config.payouts.files;
  const payoutFiles = new PayoutFiles({
    store: new SqlPayoutFileStore(o.runtime.store),
    sealer: o.sealer,
    cashouts: o.cashouts,
    clock: o.clock,
    audit: (actor, action, target, before, after) => o.access.audit(actor, action, target, before, after),
    linesPerFileMax: files.ordersPerFileMax,
    locks: (scope) => o.runtime.store.keyedLocks(scope),
  });
  payoutFileRoutes(app, payoutFiles, { returnsCsvBytesMax: files.returnsCsvBytesMax });
}

function sepaSettings(config: Config) {
  const s = config.payouts.sepa;
  if (s === undefined) return undefined;
  const problems: string[] = [];
  if (s.debtorName === undefined) problems.push("payouts.sepa.debtorName: required to enable the sepa rail");
  if (s.debtorIban === undefined) problems.push("payouts.sepa.debtorIban: required to enable the sepa rail");
  const name = sepaText(s.debtorName ?? "", 70);
  if (s.debtorName !== undefined && name === "") {
    problems.push("payouts.sepa.debtorName: has no character of the SEPA character set");
  }
  const iban = checked(problems, "payouts.sepa.debtorIban", () => parseIban(s.debtorIban ?? ""));
  const bic =
    s.debtorBic === undefined
      ? null
      : checked(problems, "payouts.sepa.debtorBic", () => parseBic(s.debtorBic!));
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    debtor: {
      name,
      iban: iban!,
      bic,
      initiatingPartyId: s.initiatingPartyId === undefined ? null : sepaText(s.initiatingPartyId, 35) || null,
    },
    remittancePrefix: s.remittancePrefix ?? name,
  };
}

function nachaSettings(config: Config) {
  const n = config.payouts.nacha;
  if (n === undefined) return undefined;
  const required = [
    "immediateDestination",
    "immediateDestinationName",
    "immediateOrigin",
    "immediateOriginName",
    "companyName",
    "companyId",
    "odfiRouting",
  ] as const;
  const missing = required.filter((key) => n[key] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(missing.map((key) => `payouts.nacha.${key}: required to enable the nacha rail`));
  }
  return {
    immediateDestination: n.immediateDestination!,
    immediateDestinationName: n.immediateDestinationName!,
    immediateOrigin: n.immediateOrigin!,
    immediateOriginName: n.immediateOriginName!,
    companyName: n.companyName!,
    companyId: n.companyId!,
    odfiRouting: n.odfiRouting!.slice(0, 8),
    entryDescription: n.entryDescription ?? "PAYOUT",
  };
}

function checked<T>(problems: string[], key: string, parse: () => T): T | null {
  try {
    return parse();
  } catch {
    problems.push(`${key}: is not valid`);
    return null;
  }
}
