/** The JSON text of objects a ledger request carries: metadata, its memo, its effects' data. */
export interface JsonTexts {
  /** `JSON.stringify(value)`; throws a TypeError when that is not JSON text. */
  of(value: object): string;
}

/** Texts computed afresh on every call: for writes that come with no texts checked before. */
export const freshJson: JsonTexts = { of: stringify };

/**
 * Texts remembered by object. The ledger checks that a request's metadata, memo and effect data
 * are JSON of a bounded size when the request is submitted; the texts it computed then ride with
 * the request into its batch, and the store writes those same texts. Without this a gift
 * stringified its receipt, its history entries and its metadata two or three times each.
 * (A WeakMap across requests measured slower than stringifying twice: the collector pays for
 * every live entry. A Map per request and per batch is dropped with them.)
 *
 * Requests are not changed once submitted, so a text computed at submission is the text of what
 * is applied.
 */
export class JsonTextCache implements JsonTexts {
  private readonly texts = new Map<object, string>();

  of(value: object): string {
    let text = this.texts.get(value);
    if (text === undefined) {
      text = stringify(value);
      this.texts.set(value, text);
    }
    return text;
  }

  /** Takes in every text `other` holds. */
  addAll(other: JsonTextCache): void {
    for (const [value, text] of other.texts) this.texts.set(value, text);
  }
}

/** Any JSON value's text: an object's through `texts`, a scalar's (cheap anyway) directly. */
export function jsonTextOf(value: unknown, texts: JsonTexts): string | undefined {
  return value !== null && typeof value === "object" ? texts.of(value) : JSON.stringify(value);
}

function stringify(value: object): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError("not JSON");
  return text;
}
