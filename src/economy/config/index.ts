/** Economy configuration: the document operators write, its default preset, overrides and versions. */
export {
  countryCodePattern,
  currencyCodePattern,
  type EconomyDocument,
  economyDefaults,
  economyDocumentSchema,
  economyLimits,
  type GiftContext,
  type GiftDocument,
  giftContexts,
  giftSchema,
  integerStringPattern,
  type PackDocument,
  type PayoutMethod,
  packSchema,
  payoutMethods,
  type RegionDocument,
  rateStringPattern,
  regionSchema,
  type SpendingOrder,
  slugPattern,
  spendingOrders,
  timeZonePattern,
} from "./document.js";
export { deepFreeze } from "./freeze.js";
export { applyOverride, overrideDepthMax } from "./merge.js";
export {
  type Economy,
  type EconomyGift,
  type EconomyPack,
  type EconomyRegion,
  parseEconomy,
} from "./parse.js";
export { defaultEconomyDocument } from "./preset.js";
export { type DocumentProblem, shapeProblems, shapeProblemsMax } from "./shape.js";
export {
  type EconomyOptions,
  economyDocumentError,
  economyProblems,
  isTimeZone,
  validateEconomyDocument,
} from "./validate.js";
export {
  compareVersions,
  type EconomyVersion,
  economyVersionIdPattern,
  effectiveAtMax,
  firstVersion,
  type PlanVersionRequest,
  planVersion,
  scheduledAfter,
  versionInForce,
} from "./versions.js";
