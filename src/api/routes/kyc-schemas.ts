import Type from "typebox";
import { identityDocumentTypes, kycLimits } from "../../economy/kyc/kyc-submission.js";
import type { MaskedKyc } from "../../economy/kyc/kyc-view.js";

/** No control characters (newlines, tabs, NUL): personal data is one line of text. */
const oneLine = "^[^\\p{Cc}\\p{Zl}\\p{Zp}]*$";

const text = (lengthMax: number, description: string) =>
  Type.String({ minLength: 1, maxLength: lengthMax, pattern: oneLine, description });

export const CountryCode = Type.String({ pattern: "^[A-Z]{2}$", description: "ISO 3166-1 alpha-2" });

export const KycBody = Type.Object(
  {
    legalName: text(kycLimits.legalNameLengthMax, "Full legal name, as on the identity document."),
    birthDate: Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "YYYY-MM-DD" }),
    address: Type.Object(
      {
        line1: text(kycLimits.addressLineLengthMax, "Street and number."),
        line2: Type.Optional(text(kycLimits.addressLineLengthMax, "Flat, building, …")),
        city: text(kycLimits.cityLengthMax, "City or town."),
        postalCode: Type.String({
          minLength: 1,
          maxLength: kycLimits.postalCodeLengthMax,
          pattern: "^[A-Za-z0-9][A-Za-z0-9 -]*$",
        }),
        region: Type.Optional(text(kycLimits.regionLengthMax, "State, province or county.")),
        country: CountryCode,
      },
      { additionalProperties: false },
    ),
    document: Type.Object(
      {
        type: Type.Enum([...identityDocumentTypes]),
        number: Type.String({
          minLength: kycLimits.documentNumberLengthMin,
          maxLength: kycLimits.documentNumberLengthMax,
          pattern: "^[A-Za-z0-9][A-Za-z0-9 -]*$",
        }),
        issuingCountry: CountryCode,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const KycStatusSchema = Type.Enum(["unverified", "pending", "verified", "rejected"]);

export const DocumentFileView = Type.Object(
  {
    contentType: Type.Enum(["image/jpeg", "image/png", "application/pdf"], {
      description: "Detected from the bytes.",
    }),
    sizeBytes: Type.Integer(),
    uploadedAt: Type.String({ format: "date-time" }),
  },
  { additionalProperties: false },
);

export const MaskedKycView = Type.Object(
  {
    userId: Type.String(),
    status: KycStatusSchema,
    legalName: nullable(Type.String({ description: 'First letter of each word: "J*** D***".' })),
    birthYear: nullable(Type.Integer({ description: "Only the year of the birth date." })),
    address: nullable(Type.Object({ country: Type.String() }, { additionalProperties: false })),
    document: nullable(
      Type.Object(
        {
          type: Type.Enum([...identityDocumentTypes]),
          issuingCountry: Type.String(),
          number: Type.String({ description: 'Last 4 characters: "****1234".' }),
        },
        { additionalProperties: false },
      ),
    ),
    documentFile: nullable(DocumentFileView),
    rejectionReason: nullable(Type.String()),
    submittedAt: nullable(Type.String({ format: "date-time" })),
    reviewedAt: nullable(Type.String({ format: "date-time" })),
  },
  { additionalProperties: false },
);

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function maskedKycView(kyc: MaskedKyc) {
  return {
    ...kyc,
    documentFile: kyc.documentFile && { ...kyc.documentFile, uploadedAt: iso(kyc.documentFile.uploadedAt)! },
    submittedAt: iso(kyc.submittedAt),
    reviewedAt: iso(kyc.reviewedAt),
  };
}
