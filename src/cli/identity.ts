import type { Logger } from "pino";
import type { Access } from "../access/access.js";
import type { GiftstreamApp } from "../api/app.js";
import { kycRoutes } from "../api/routes/kyc.js";
import { kycReviewRoutes } from "../api/routes/kyc-review.js";
import { payoutMethodRoutes } from "../api/routes/payout-methods.js";
import type { Config } from "../config/index.js";
import { secretKeySource } from "../crypto/key-source.js";
import { Sealer } from "../crypto/sealed.js";
import { keyIdsOf, keyringOf } from "../crypto/secret-key.js";
import type { EconomyCatalog } from "../economy/catalog.js";
import { Kyc } from "../economy/kyc/kyc.js";
import { PayoutMethods } from "../economy/payout-methods/payout-methods.js";
import type { Users } from "../economy/users/users.js";
import { SqlKycDocumentStore } from "../store/sql/kyc-document-store.js";
import { SqlKycStore } from "../store/sql/kyc-store.js";
import { SqlPayoutMethodStore } from "../store/sql/payout-method-store.js";
import type { Runtime } from "./runtime.js";

export interface Identity {
  kyc: Kyc;
  payoutMethods: PayoutMethods;
  /** Registers the KYC, review and payout-method routes. */
  routes(app: GiftstreamApp): void;
}

/**
 * The sealer of personal data, with the key of `encryption.key` or the one generated into the data
 * directory, and the keys of `encryption.previousKeys` to open what was sealed before a rotation.
 * Opened before the database: a missing or malformed key stops the start, since nothing sealed
 * could be read without it. With a logger, the key ids are logged: during a rotation every process
 * must open with the new key before `giftstream reseal` runs, and its log says whether it does.
 */
export function openSealer(config: Config, logger?: Logger): Sealer {
  const keys = secretKeySource(config).load();
  if (logger) {
    const { current, previous } = keyIdsOf(keys);
    logger.info(
      { encryptionKeyId: current, previousEncryptionKeyIds: previous },
      `personal data sealed under key ${current}${previous.length > 0 ? `, opened also with ${previous.join(", ")}` : ""}`,
    );
  }
  return new Sealer(keyringOf(keys));
}

/** Identity verification and payout methods on the runtime's store. */
export function openIdentity(o: {
  runtime: Runtime;
  sealer: Sealer;
  users: Users;
  catalog: EconomyCatalog;
  access: Access;
  clock: () => number;
}): Identity {
  const { config, store } = o.runtime;
  const { sealer } = o;
  const kyc = new Kyc({
    store: new SqlKycStore(store),
    documents: new SqlKycDocumentStore(store),
    sealer,
    users: o.users,
    catalog: o.catalog,
    access: o.access,
    clock: o.clock,
    documentBytesMax: config.kyc.documentBytesMax,
    locks: store.keyedLocks("kyc"),
  });
  const payoutMethods = new PayoutMethods({
    store: new SqlPayoutMethodStore(store),
    sealer,
    kyc,
    users: o.users,
    catalog: o.catalog,
    clock: o.clock,
    perUserMax: config.payoutMethods.perUserMax,
  });
  return {
    kyc,
    payoutMethods,
    routes(app) {
      kycRoutes(app, kyc, config.kyc.documentBytesMax);
      kycReviewRoutes(app, kyc);
      payoutMethodRoutes(app, payoutMethods);
    },
  };
}
