import { GiftstreamError, invariant } from "../../errors.js";

export const userStatuses = ["active", "restricted", "blocked"] as const;
export type UserStatus = (typeof userStatuses)[number];

export interface User {
  id: string;
  /** ISO 3166-1 alpha-2; picks the price list, payout currency and time zone. */
  country: string;
  /** YYYY-MM-DD, as the operator's app collected it; a verified KYC date replaces it later. */
  birthDate: string;
  /** True once identity verification replaced `birthDate`; the app's PUT no longer changes it. */
  birthDateVerified: boolean;
  displayName: string;
  status: UserStatus;
  statusReason: string | null;
  createdAt: number;
  updatedAt: number;
}

export const userIdPattern = "^[A-Za-z0-9_.:-]{1,64}$";
export const displayNameLengthMax = 100;

const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });

/**
 * CLDR names some codes that are no country: groupings (EU, EZ, UN, QO) and the user-assigned
 * ZZ ("Unknown Region") and XA/XB (pseudo-locales). XK (Kosovo) is user-assigned too, but used.
 */
const notCountries = new Set(["EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"]);

/** A code Intl knows as a region: the ISO 3166-1 alpha-2 list, as maintained by ICU. */
export function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && !notCountries.has(code) && regionNames.of(code) !== undefined;
}

export function parseBirthDate(text: string, now: number): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : null;
  if (!match || !date || date.toISOString().slice(0, 10) !== text) {
    throw new GiftstreamError("invalid_request", "birthDate must be a real date as YYYY-MM-DD");
  }
  if (date.getTime() > now || Number(match[1]) < 1900) {
    throw new GiftstreamError("invalid_request", "birthDate must be between 1900 and today");
  }
  return text;
}

/**
 * Whole years lived at `now`, by the date it still is somewhere on Earth (UTC−12, the last time
 * zone to reach a date): someone born on 29 February turns a year older on 1 March. The age gates
 * (buying, earning, cashing out, verifying) must not let anyone through before their birthday
 * where they live; by the UTC date, someone in New York turned 18 at 19:00 the evening before. By
 * this date no one is older than on their own calendar, and at most a day younger (UTC+14).
 */
export function ageOn(birthDate: string, now: number): number {
  const today = calendarDay(now - lastTimeZoneOffsetMs);
  // birthDate is YYYY-MM-DD (parseBirthDate): read in place, as every gift checks its creator's age.
  const y = Number(birthDate.slice(0, 4));
  const m = Number(birthDate.slice(5, 7));
  const d = Number(birthDate.slice(8, 10));
  let age = today.year - y;
  if (today.month < m || (today.month === m && today.day < d)) age--;
  // NaN would pass every `age < minimum` check: a malformed date must fail, not let through.
  invariant(Number.isInteger(age), "a birth date is YYYY-MM-DD");
  return age;
}

const dayMs = 86_400_000;
/** UTC−12: no place on Earth is behind it (Etc/GMT+12, Baker Island). */
const lastTimeZoneOffsetMs = 12 * 3_600_000;
/** The last UTC day asked for: the hot path asks for the same day again and again. */
let lastDay: { index: number; year: number; month: number; day: number } = {
  index: Number.NaN,
  year: 0,
  month: 0,
  day: 0,
};

function calendarDay(now: number): { year: number; month: number; day: number } {
  const index = Math.floor(now / dayMs);
  if (index !== lastDay.index) {
    const date = new Date(index * dayMs);
    invariant(!Number.isNaN(date.getTime()), "the clock reads a time a Date can hold");
    lastDay = { index, year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
  }
  return lastDay;
}
