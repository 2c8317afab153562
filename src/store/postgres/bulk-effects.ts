import { freshJson, type JsonTexts } from "../../ledger/json-texts.js";
import type { StoreEffect } from "../../ledger/types.js";
import { statementsFor } from "../sql/effects.js";
import { type PgElementType, pgArray, pgList } from "../sql/json-lists.js";
import { outboxEvents, postgresOutboxStatements } from "../sql/outbox.js";
import type { Statement } from "../sql/sql-db.js";
import { numbered } from "./placeholders.js";

/** A statement for `pg`, with the name it is prepared under on each connection, if any. */
export interface NamedStatement extends Statement {
  name?: string;
}

/**
 * The effects of one batch as PostgreSQL statements. A gift batch carries a gift row and perhaps
 * a webhook event per gift; one statement each would cost a round
 * trip per row. So the rows of each bulk kind go into one `INSERT … SELECT FROM unnest(…)` over
 * column arrays, a prepared statement whatever the batch size (the SQL is derived from the
 * single-row statement of effects.ts), and every event of the batch into one outbox statement.
 * Every other effect keeps its own statements, in the order the requests carried them.
 *
 * `wanted` says which event types some webhook endpoint subscribes to, as the batch's
 * transaction read them just before: the others are dropped before their bodies are built, as
 * the outbox statement would drop them. It checks the subscriptions again, so a type whose
 * last endpoint went in between costs a body built for nothing, and no more.
 */
export function postgresEffectStatements(
  effects: readonly StoreEffect[],
  texts: JsonTexts = freshJson,
  wanted: (type: string) => boolean = () => true,
): NamedStatement[] {
  const grouped = new Map<string, { sql: string; rows: unknown[][] }>();
  const events = [];
  const out: NamedStatement[] = [];
  for (const effect of effects) {
    if (effect.type === "outbox.events") {
      for (const event of outboxEvents(effect.data)) if (wanted(event.type)) events.push(event);
      continue;
    }
    const statements = statementsFor(effect, "postgres", texts);
    if (bulkTypes.has(effect.type) && statements.length === 1) {
      const { sql, params } = statements[0]!;
      let group = grouped.get(effect.type);
      if (group === undefined) {
        group = { sql, rows: [] };
        grouped.set(effect.type, group);
      }
      group.rows.push(params);
    } else {
      out.push(...statements.map((s) => ({ sql: numbered(s.sql), params: s.params })));
    }
  }
  const bulk: NamedStatement[] = [];
  for (const [type, { sql, rows }] of grouped) bulk.push(unnestInsert(sql, bulkTypes.get(type)!, rows));
  // Rows first: a later effect of the same batch (a maturation, a reversal) may update a gift row
  // this batch inserts. Events last: they refer to nothing written here.
  const outbox = postgresOutboxStatements(events).map((s) => ({ sql: numbered(s.sql), params: s.params }));
  return [...bulk, ...out, ...outbox];
}

/**
 * Plain inserts of new rows, with the PostgreSQL type of each placeholder in order. No conflict
 * clause, so their order within the batch does not matter.
 */
const bulkTypes: ReadonlyMap<string, readonly PgElementType[]> = new Map<string, readonly PgElementType[]>([
  [
    "gift.record",
    [
      "text",
      "text",
      "text",
      "text",
      "bigint",
      "bigint",
      "bigint",
      "text",
      "text",
      "text",
      "text",
      "text",
      "text",
      "bigint",
      "bigint",
    ],
  ],
  ["activity.record", ["text", "text", "bigint", "document"]],
]);

const valuesPattern = /^(\s*INSERT\s+INTO\s+\w+\s*\([^()]*\)\s*)VALUES\s*\(([^()]*)\)\s*$/i;
/** Derived statements, by single-row SQL: each is prepared under its own name. */
const derived = new Map<string, { sql: string; name: string; types: readonly PgElementType[] }>();

/**
 * `INSERT INTO t (…) VALUES (?, 'x', ?)` for many rows, as `INSERT INTO t (…) SELECT u.c1, 'x',
 * u.c2 FROM unnest(…) WITH ORDINALITY …` over one list per placeholder (json-lists.ts), in row
 * order (identity columns such as `gifts.rowid` are drawn in it).
 */
export function unnestInsert(
  sql: string,
  types: readonly PgElementType[],
  rows: readonly unknown[][],
): NamedStatement {
  let statement = derived.get(sql);
  if (statement === undefined) {
    const match = valuesPattern.exec(sql);
    if (!match) throw new Error(`not a single-row INSERT … VALUES statement: ${sql}`);
    if (match[2]!.split("?").length - 1 !== types.length)
      throw new Error(`${types.length} types for the placeholders of ${sql}`);
    let n = 0;
    const select = match[2]!.replace(/\?/g, () => `u.c${++n}`);
    const arrays = types.map((type, i) => pgArray(`$${i + 1}`, type)).join(", ");
    const columns = types.map((_, i) => `c${i + 1}`).join(", ");
    statement = {
      sql: `${match[1]!}SELECT ${select} FROM unnest(${arrays}) WITH ORDINALITY AS u (${columns}, n) ORDER BY u.n`,
      name: `gs_bulk_${derived.size + 1}`,
      types,
    };
    derived.set(sql, statement);
  }
  const params = statement.types.map((type, c) =>
    pgList(
      type,
      rows.map((row) => row[c]),
    ),
  );
  return { sql: statement.sql, name: statement.name, params };
}
