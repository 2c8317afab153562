/**
 * How personal data is shown once stored: enough for its owner to recognise it, too little to use.
 * Masks have a fixed shape, so they do not give away the length of what they hide.
 */

/** "Jane Q. Doe" → "J*** Q*** D***": the first letter of each word. */
export function maskName(name: string): string {
  return name
    .trim()
    .split(/\s+/u)
    .map((word) => `${[...word][0] ?? ""}***`)
    .join(" ");
}

/**
 * "X1234567" → "****4567": only the last 4 characters (of letters and digits) show, and never
 * more than half of them: a 4-character document number would otherwise show whole.
 */
export function maskTail(value: string): string {
  const plain = value.replace(/[^\p{L}\p{N}]/gu, "");
  const shown = Math.min(4, Math.floor(plain.length / 2));
  return `****${shown === 0 ? "" : plain.slice(-shown)}`;
}

/** "jane.doe@example.com" → "j***@example.com": the mailbox hidden, the provider shown. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  return `${[...email.slice(0, at)][0] ?? ""}***${email.slice(at)}`;
}
