import type { PayoutOrder, PayoutState } from "../rail.js";

/**
 * A bank file written by a file rail (SEPA pain.001, NACHA) and its lines, one per cash-out. The
 * bank answers per line, so each line has its own status: `pending` until an admin marks it `paid`
 * or `returned`.
 */
export const payoutLineStatuses = ["pending", "paid", "returned"] as const;
export type PayoutLineStatus = (typeof payoutLineStatuses)[number];

export interface PayoutFile {
  id: string;
  rail: string;
  /** `pain.001.001.03` or `nacha`. */
  format: string;
  filename: string;
  contentType: string;
  currency: string;
  lineCount: number;
  totalMinor: bigint;
  /** SHA-256 of the exact bytes, hex: what an operator compares with what the bank received. */
  sha256: string;
  createdAt: number;
}

export interface PayoutFileLine {
  cashoutId: string;
  fileId: string;
  rail: string;
  /** 1-based place in the file. */
  position: number;
  /** The rail's running number of its lines; NACHA trace numbers are made from it. */
  serial: number;
  /** What the bank echoes back: the SEPA EndToEndId, or the NACHA trace number. */
  reference: string;
  userId: string;
  currency: string;
  netMinor: bigint;
  status: PayoutLineStatus;
  reason: string | null;
  /** When it was marked paid; a returned line with one was paid first (the cash-out is `returned`). */
  paidAt: number | null;
  returnedAt: number | null;
  updatedAt: number;
}

/** Where a page of files starts: after the file created at `createdAt` with `id`. */
export interface FilePageStart {
  createdAt: number;
  id: string;
}

export interface LineChange {
  status: PayoutLineStatus;
  reason: string | null;
  paidAt: number | null;
  returnedAt: number | null;
  updatedAt: number;
}

export interface PayoutFileStore {
  /** The file, its sealed content and its lines, in one transaction. */
  insert(file: PayoutFile, sealedContent: Buffer, lines: readonly PayoutFileLine[]): Promise<void>;
  get(id: string): Promise<PayoutFile | undefined>;
  sealedContent(id: string): Promise<Buffer | undefined>;
  /** Newest first; every rail's when `rail` is null. */
  list(rail: string | null, before: FilePageStart | null, limit: number): Promise<PayoutFile[]>;
  /** A file's lines in file order, after `afterPosition`. */
  lines(fileId: string, afterPosition: number, limit: number): Promise<PayoutFileLine[]>;
  line(cashoutId: string): Promise<PayoutFileLine | undefined>;
  linesOf(cashoutIds: readonly string[]): Promise<Map<string, PayoutFileLine>>;
  /** Changes a line only if it is still `from`: two admins cannot both move it. */
  updateLine(cashoutId: string, from: PayoutLineStatus, change: LineChange): Promise<boolean>;
  /** Every line of the rail's files created at or after `sinceMs`, for reconciliation. */
  linesSince(rail: string, sinceMs: number): Promise<PayoutFileLine[]>;
  /** The rail's files created in [fromMs, toMs). */
  countCreated(rail: string, fromMs: number, toMs: number): Promise<number>;
  /** The highest serial of the rail's lines, 0 when it has none. */
  lastSerial(rail: string): Promise<number>;
  /** How many of the file's lines are in each status. */
  lineCounts(fileId: string): Promise<Record<PayoutLineStatus, number>>;
}

/**
 * What a line says of its payout, as the rail answers `status`. A returned line whose money never
 * left (it was never marked paid) is a failure: the cash-out goes to `failed`, not `returned`.
 */
export function stateOfLine(line: PayoutFileLine): PayoutState {
  switch (line.status) {
    case "pending":
      return { status: "processing", ref: line.fileId };
    case "paid":
      return { status: "paid", ref: lineRef(line) };
    case "returned":
      return line.paidAt === null
        ? { status: "failed", reason: line.reason ?? "returned by the bank" }
        : { status: "returned", reason: line.reason ?? "returned by the bank" };
  }
}

/** The cash-out's `railRef` once paid: the file and the reference inside it. */
export function lineRef(line: Pick<PayoutFileLine, "fileId" | "reference">): string {
  return `${line.fileId}/${line.reference}`;
}

/** What a file format needs to write one file. */
export interface FileBuildInput {
  fileId: string;
  createdAt: number;
  /** Files of this rail created earlier the same UTC day (NACHA's file id modifier counts them). */
  sameDayIndex: number;
  /** The serial of the first line; the rest follow in order. */
  serialStart: number;
  orders: readonly PayoutOrder[];
}

/** A bank file format: which orders it can carry, and how it writes them. Pure: no I/O. */
export interface FileFormat {
  readonly format: string;
  readonly contentType: string;
  readonly extension: string;
  /** The one currency its files carry. */
  readonly currency: string;
  /** Why this format cannot carry the order (wrong currency or account scheme), or null. */
  refusal(order: PayoutOrder): string | null;
  /** The file's bytes and each order's reference, in order. */
  build(input: FileBuildInput): { content: Buffer; references: string[] };
}
