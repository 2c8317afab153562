import { electronicFormatIBAN, isValidBIC, validateIBAN } from "ibantools";
import { invalidField } from "../invalid-field.js";

/**
 * An IBAN, checked for its country's length and format and its mod-97 checksum (ibantools), in
 * electronic format (no spaces, upper case). Swiss QR-IBANs are refused: they take QR-bill payments,
 * not payouts.
 */
export function parseIban(text: string): string {
  const iban = electronicFormatIBAN(text) ?? "";
  if (!validateIBAN(iban, { allowQRIBAN: false }).valid) {
    throw invalidField("/iban", "is not a valid IBAN (its country's length and format, and its checksum)");
  }
  return iban;
}

/** A BIC (SWIFT code) of 8 or 11 characters with a real country, upper case. */
export function parseBic(text: string): string {
  const bic = text.replace(/\s/g, "").toUpperCase();
  if (!isValidBIC(bic)) throw invalidField("/bic", "is not a valid BIC (8 or 11 characters)");
  return bic;
}

/**
 * A US ABA routing number: 9 digits whose first two are a Federal Reserve routing symbol (01–12,
 * 21–32, 61–72, or 80), and whose checksum holds: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0
 * (mod 10).
 */
export function parseRoutingNumber(text: string): string {
  if (!/^[0-9]{9}$/.test(text)) throw invalidField("/routingNumber", "must be 9 digits");
  if (!isValidRoutingNumber(text)) {
    throw invalidField("/routingNumber", "is not a valid ABA routing number (its prefix or its checksum)");
  }
  return text;
}

export function isValidRoutingNumber(digits: string): boolean {
  if (!/^[0-9]{9}$/.test(digits)) return false;
  const prefix = Number(digits.slice(0, 2));
  const knownPrefix =
    (prefix >= 1 && prefix <= 12) ||
    (prefix >= 21 && prefix <= 32) ||
    (prefix >= 61 && prefix <= 72) ||
    prefix === 80;
  const d = [...digits].map(Number);
  const sum = 3 * (d[0]! + d[3]! + d[6]!) + 7 * (d[1]! + d[4]! + d[7]!) + (d[2]! + d[5]! + d[8]!);
  return knownPrefix && sum % 10 === 0;
}

/** A US account number: 4 to 17 digits, as a NACHA entry's DFI account number field holds. */
export function parseAccountNumber(text: string): string {
  const digits = text.replace(/[\s-]/g, "");
  if (!/^[0-9]{4,17}$/.test(digits)) throw invalidField("/accountNumber", "must be 4 to 17 digits");
  if (/^0+$/.test(digits)) throw invalidField("/accountNumber", "must not be all zeros");
  return digits;
}
