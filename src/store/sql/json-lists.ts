/**
 * Lists bound as one parameter: the JSON text of an array (or, for JSON documents on PostgreSQL,
 * their lines: `jsonDocuments`). Both databases read it natively
 * (SQLite's `json_each`, PostgreSQL's `json_array_elements_text`, see `pgArray`), and V8 writes
 * JSON several times faster than `pg` writes an array literal, which escapes and quotes each
 * element in JavaScript: with set-based batches of a few hundred rows per statement, that
 * escaping was a fifth of the sending process's time.
 */

/**
 * A list of texts (or nulls) as a JSON array. A lone UTF-16 surrogate is written as U+FFFD, as
 * the UTF-8 encoding of a plain text parameter writes it: its `\ud800` escape is JSON, but
 * PostgreSQL's parser refuses it, which would fail every row of the statement. (The API and the
 * ledger refuse such text before it gets here; this keeps any other path from failing a batch.)
 */
export function jsonTexts(values: readonly (string | null)[]): string {
  for (const value of values) {
    if (value !== null && !value.isWellFormed()) {
      return JSON.stringify(values.map((v) => (v === null ? null : v.toWellFormed())));
    }
  }
  return JSON.stringify(values);
}

/**
 * A list of integers (or nulls) as a JSON array, exact however large (bigints are not rounded).
 * Anything else is refused: its text could hold a comma, and shift every later row's value.
 */
export function jsonIntegers(values: readonly (bigint | number | null)[]): string {
  let out = "[";
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (i > 0) out += ",";
    if (value === null) out += "null";
    else if (typeof value === "bigint" || Number.isSafeInteger(value)) out += value.toString();
    else throw new TypeError(`not an integer: ${String(value)}`);
  }
  return `${out}]`;
}

/** How `jsonDocuments` writes a null: no JSON document is a lone minus sign. */
const documentNull = "-";

/**
 * A list of JSON documents (or nulls), for PostgreSQL: one text, a document a line. A JSON array
 * of documents escapes every quote of every document, and PostgreSQL's JSON parser then
 * unescapes each: for a batch's idempotency results, a few hundred documents of most of a
 * kilobyte, that parse cost several milliseconds of the batch's transaction, and `string_to_array`
 * (see `pgArray`) splits the same lines in a fraction of it. `JSON.stringify` escapes every
 * control character, so no document it wrote holds a newline; anything that could be mistaken
 * for a line break or a null is refused rather than written as another row.
 */
export function jsonDocuments(values: readonly (string | null)[]): string {
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (value !== null && (value === "" || value === documentNull || value.includes("\n"))) {
      // Where and how long, not what: a document holds user data, and this goes to the logs.
      throw new TypeError(`document ${i} (${value.length} characters) is not one line of JSON`);
    }
  }
  return values.map((value) => value ?? documentNull).join("\n");
}

/** `document`: a text column holding JSON documents, bound with `jsonDocuments`. */
export type PgElementType = "text" | "document" | "bigint" | "integer" | "smallint";

/** The list to bind for `pgArray(placeholder, type)`: `values` written as that type is read. */
export function pgList(type: PgElementType, values: readonly unknown[]): string {
  if (type === "text") return jsonTexts(values as readonly (string | null)[]);
  if (type === "document") return jsonDocuments(values as readonly (string | null)[]);
  return jsonIntegers(values as readonly (bigint | number | null)[]);
}

/**
 * PostgreSQL: the JSON array bound at `placeholder` (`$1`, or `?` before numbering) as an array
 * of `type`, in the list's order (by ordinality: several such arrays are zipped by `unnest`, so
 * their order is what keeps each row's columns together). For `document`, the lines
 * `jsonDocuments` wrote, split in order.
 */
export function pgArray(placeholder: string, type: PgElementType): string {
  if (type === "document") return `string_to_array(${placeholder}::text, E'\\n', '${documentNull}')`;
  return `ARRAY(SELECT j.e::${type} FROM json_array_elements_text(${placeholder}::json) WITH ORDINALITY AS j (e, i) ORDER BY j.i)`;
}
