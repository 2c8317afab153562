/**
 * The JSON text of a value a ledger request carries (metadata, memos, effect data), computed once.
 * The ledger checks each such value is JSON of a bounded size when the request is submitted, and
 * the store then writes that same text: without this, every gift stringified its receipt, its
 * history entries and its metadata twice. Requests are immutable once submitted (they wait in a
 * queue before they are applied), so text cached at submission is the text of what is applied.
 */
const texts = new WeakMap<object, string>();

/** `JSON.stringify(value)` for an object, remembered for that object; throws as JSON.stringify does. */
export function jsonText(value: object): string {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError("not JSON");
    texts.set(value, text);
  }
  return text;
}
