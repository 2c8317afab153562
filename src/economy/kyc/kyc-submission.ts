import { GiftstreamError } from "../../errors.js";
import { invalidField } from "../invalid-field.js";
import { ageOn, isCountryCode, parseBirthDate } from "../users/user.js";

export const identityDocumentTypes = ["passport", "id_card", "driving_licence"] as const;
export type IdentityDocumentType = (typeof identityDocumentTypes)[number];

/** Bounds on every field: the schema enforces them, and they size what is sealed. */
export const kycLimits = {
  legalNameLengthMax: 200,
  addressLineLengthMax: 200,
  cityLengthMax: 100,
  postalCodeLengthMax: 16,
  regionLengthMax: 100,
  /** At least 4, so that the masked "last 4" never shows a whole number. */
  documentNumberLengthMin: 4,
  documentNumberLengthMax: 32,
} as const;

export interface KycAddress {
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  region?: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

/** What a user submits for verification: personal data, sealed whole at rest. */
export interface KycSubmission {
  legalName: string;
  /** YYYY-MM-DD. */
  birthDate: string;
  address: KycAddress;
  document: { type: IdentityDocumentType; number: string; issuingCountry: string };
}

/**
 * Checks what the schema cannot (real country codes, a real date, the minimum age) and returns the
 * submission tidied: Unicode NFC, inner whitespace collapsed, ends trimmed, the document number
 * upper-cased without spaces.
 */
export function checkSubmission(input: KycSubmission, now: number, minimumAge: number): KycSubmission {
  const text = (value: string, pointer: string) => {
    const tidy = value.normalize("NFC").replace(/\s+/gu, " ").trim();
    if (tidy === "") throw invalidField(pointer, "must not be blank");
    return tidy;
  };
  const country = (value: string, pointer: string) => {
    if (!isCountryCode(value)) throw invalidField(pointer, "is not an ISO 3166-1 alpha-2 country code");
    return value;
  };
  const legalName = text(input.legalName, "/legalName");
  if (!/\p{L}/u.test(legalName)) throw invalidField("/legalName", "must contain a letter");
  let birthDate: string;
  try {
    birthDate = parseBirthDate(input.birthDate, now);
  } catch {
    throw invalidField("/birthDate", "must be a real date as YYYY-MM-DD, from 1900 to today");
  }
  const number = input.document.number.replace(/[\s-]/g, "").toUpperCase();
  if (number.length < kycLimits.documentNumberLengthMin) {
    throw invalidField(
      "/document/number",
      `must have at least ${kycLimits.documentNumberLengthMin} letters or digits`,
    );
  }
  const { line2, region } = input.address;
  const tidy: KycSubmission = {
    legalName,
    birthDate,
    address: {
      line1: text(input.address.line1, "/address/line1"),
      ...(line2 === undefined || line2.trim() === "" ? {} : { line2: text(line2, "/address/line2") }),
      city: text(input.address.city, "/address/city"),
      postalCode: text(input.address.postalCode, "/address/postalCode").toUpperCase(),
      ...(region === undefined || region.trim() === "" ? {} : { region: text(region, "/address/region") }),
      country: country(input.address.country, "/address/country"),
    },
    document: {
      type: input.document.type,
      number,
      issuingCountry: country(input.document.issuingCountry, "/document/issuingCountry"),
    },
  };
  // A business rule, checked once the request itself is known to be well formed.
  if (ageOn(birthDate, now) < minimumAge) {
    throw new GiftstreamError("underage", `identity verification needs a person of ${minimumAge} or over`);
  }
  return tidy;
}
