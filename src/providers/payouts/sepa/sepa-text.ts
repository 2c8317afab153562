import anyAscii from "any-ascii";

/**
 * The Latin character set every SEPA bank must accept (EPC guidance on the use of characters):
 * a–z A–Z 0–9 / - ? : ( ) . , ' + and space. Anything else may be refused or mangled.
 */
const outsideSepaCharset = /[^A-Za-z0-9/\-?:().,'+ ]/g;

/**
 * Text for a SEPA field: transliterated to ASCII ("Zoë Müller-Łukasiewicz" → "Zoe Muller-Lukasiewicz",
 * "ß" → "ss"), characters still outside the SEPA set replaced by spaces, runs of spaces folded, and
 * cut to `lengthMax`. Empty when nothing of the text survives.
 */
export function sepaText(text: string, lengthMax: number): string {
  return anyAscii(text.normalize("NFC"))
    .replace(outsideSepaCharset, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, lengthMax)
    .trim();
}

/**
 * An identifier in the SEPA character set, derived from one of ours (`co_…`, `pf_…`): letters,
 * digits and `-` stay, anything else becomes `.`. Ours are base64url or hex after the prefix, so
 * `_` is the only character that changes and the mapping is one to one.
 */
export function sepaIdentifier(id: string): string {
  const mapped = id.replace(/[^A-Za-z0-9-]/g, ".");
  if (mapped.length === 0 || mapped.length > 35) {
    throw new Error(`a SEPA identifier is 1 to 35 characters: ${id} is ${id.length}`);
  }
  return mapped;
}
