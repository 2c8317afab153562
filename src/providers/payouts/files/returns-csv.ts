/**
 * The returns CSV an admin uploads after the bank has answered a file (docs/payouts.md):
 *
 *     reference,status,reason
 *     co.9Jx2vQ…,returned,AC04 account closed
 *     091000010000001,paid,
 *
 * `reference` is a line's reference as the bank reports it (SEPA EndToEndId, NACHA trace number)
 * or its cash-out id; `status` is `paid` or `returned`; `reason` is required for a return. Fields
 * may be double-quoted (RFC 4180), with `""` for a quote inside. Blank lines are skipped.
 */
export const returnsCsvHeader = ["reference", "status", "reason"] as const;

export interface ReturnsRow {
  /** 1-based line of the CSV, for error messages. */
  line: number;
  reference: string;
  status: "paid" | "returned";
  reason: string | null;
}

export interface CsvProblem {
  line: number;
  detail: string;
}

const referenceLengthMax = 64;
export const reasonLengthMax = 500;

/** The rows, or every problem found (each with its line), never both. */
export function parseReturnsCsv(
  text: string,
  rowsMax: number,
): { rows: ReturnsRow[]; problems: [] } | { rows: []; problems: CsvProblem[] } {
  const problems: CsvProblem[] = [];
  const rows: ReturnsRow[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? "");
  if (header === null || header.map((h) => h.trim().toLowerCase()).join(",") !== returnsCsvHeader.join(",")) {
    return {
      rows: [],
      problems: [{ line: 1, detail: `the first line must be ${returnsCsvHeader.join(",")}` }],
    };
  }
  const seen = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const lineNumber = i + 1;
    if (lines[i]!.trim() === "") continue;
    const fields = splitCsvLine(lines[i]!);
    if (fields === null) {
      problems.push({ line: lineNumber, detail: "an unterminated quoted field" });
      continue;
    }
    if (fields.length !== returnsCsvHeader.length) {
      problems.push({
        line: lineNumber,
        detail: `${fields.length} fields; each row has 3: reference,status,reason`,
      });
      continue;
    }
    const [reference, status, reasonText] = fields.map((f) => f.trim()) as [string, string, string];
    const reason = reasonText === "" ? null : reasonText;
    if (reference === "" || reference.length > referenceLengthMax || !/^[\x20-\x7e]+$/.test(reference)) {
      problems.push({
        line: lineNumber,
        detail: `the reference must be 1 to ${referenceLengthMax} printable characters`,
      });
    } else if (seen.has(reference)) {
      problems.push({ line: lineNumber, detail: `${reference} is already on line ${seen.get(reference)}` });
    }
    if (status !== "paid" && status !== "returned") {
      problems.push({
        line: lineNumber,
        detail: `the status must be paid or returned, not "${status.slice(0, 20)}"`,
      });
    }
    if (status === "returned" && reason === null) {
      problems.push({ line: lineNumber, detail: "a returned line needs a reason" });
    }
    if (reason !== null && reason.length > reasonLengthMax) {
      problems.push({ line: lineNumber, detail: `the reason is at most ${reasonLengthMax} characters` });
    }
    seen.set(reference, lineNumber);
    if (status === "paid" || status === "returned")
      rows.push({ line: lineNumber, reference, status, reason });
    if (rows.length > rowsMax) {
      problems.push({ line: lineNumber, detail: `more rows than the file has lines (${rowsMax})` });
      break;
    }
  }
  if (problems.length > 0) return { rows: [], problems };
  if (rows.length === 0) return { rows: [], problems: [{ line: 1, detail: "no rows after the header" }] };
  return { rows, problems: [] };
}

/** One CSV record's fields, or null for an unterminated quote. Records never span lines here. */
function splitCsvLine(line: string): string[] | null {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field.trim() === "") {
      quoted = true;
      field = "";
    } else if (c === ",") {
      fields.push(field);
      field = "";
    } else field += c;
    i++;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}
