/** The money module's public surface: units, amounts, parsing, formatting, rates and rounding. */
export { type Amount, addAmounts, amount, amountsEqual, compareAmounts, subtractAmounts } from "./amount.js";
export { type Converted, convert, convertExact, multiplyRate } from "./convert.js";
export { formatFixed, formatMajor, formatMinor } from "./format.js";
export {
  amountInputLengthMax,
  type ParseAmountOptions,
  parseFixed,
  parseMajor,
  parseMinor,
} from "./parse.js";
export {
  type ParseRateOptions,
  parseRate,
  type Rate,
  rateInputLengthMax,
  rateSignificantDigitsMax,
} from "./rate.js";
export {
  addRationals,
  compareRationals,
  divideRationals,
  formatRational,
  gcd,
  isIntegerRational,
  multiplyRationals,
  type Rational,
  rational,
  rationalFromBigint,
  rationalsEqual,
  subtractRationals,
  zeroRational,
} from "./rational.js";
export {
  isRoundingRule,
  type RoundingRule,
  roundingRules,
  roundRational,
  roundWithRemainder,
} from "./rounding.js";
export {
  appUnitExponents,
  findUnit,
  isUnit,
  parseUnit,
  type Unit,
  type UnitInfo,
  unitCodes,
  unitExponent,
} from "./unit.js";
