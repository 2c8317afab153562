import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The verification docs/webhooks.md shows, written out again here on purpose rather than imported
 * from src/: the receiver checks what the documentation promises.
 */
export function verifyGiftstreamSignature(
  secret: string,
  header: string | undefined,
  rawBody: string,
  toleranceSeconds = 300,
): boolean {
  let timestamp = Number.NaN;
  const signatures: string[] = [];
  for (const part of (header ?? "").split(",")) {
    const [key, value] = part.split("=", 2);
    if (key === "t") timestamp = Number(value);
    if (key === "v1" && value !== undefined) signatures.push(value);
  }
  if (!Number.isInteger(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest();
  return signatures.some((signature) => {
    const given = Buffer.from(signature, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export interface ReceivedEvent {
  id: string;
  type: string;
  createdAt: string;
  data: Record<string, unknown> & { id: string };
}

export interface Received {
  headers: IncomingMessage["headers"];
  body: string;
  verified: boolean;
  event: ReceivedEvent;
  status: number;
}

/** What the receiver answers a request with; `process` false means it drops the event unseen. */
export type Answer = { status: number; process: boolean } | "hang";

/**
 * A webhook receiver on a real local port, as an operator would write one: it verifies every
 * signature, deduplicates on the event id and processes each event once, recording the order in
 * which it processed them. `answer` decides each response (by default 200).
 */
export class WebhookReceiver {
  secret = "";
  readonly received: Received[] = [];
  /** Events processed, each once, in processing order. */
  readonly processed: ReceivedEvent[] = [];
  answer: (event: ReceivedEvent, attempt: number) => Answer = () => ({ status: 200, process: true });
  private readonly seen = new Set<string>();
  private readonly attemptsById = new Map<string, number>();
  private server: Server | null = null;
  private readonly hung = new Set<() => void>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const verified = verifyGiftstreamSignature(
          this.secret,
          request.headers["giftstream-signature"] as string | undefined,
          body,
        );
        if (!verified) {
          response.writeHead(400).end("bad signature");
          return;
        }
        const event = JSON.parse(body) as ReceivedEvent;
        const attempt = (this.attemptsById.get(event.id) ?? 0) + 1;
        this.attemptsById.set(event.id, attempt);
        const answer = this.answer(event, attempt);
        if (answer === "hang") {
          this.received.push({ headers: request.headers, body, verified, event, status: 0 });
          this.hung.add(() => response.destroy());
          return;
        }
        if (answer.process && !this.seen.has(event.id)) {
          this.seen.add(event.id);
          this.processed.push(event);
        }
        this.received.push({ headers: request.headers, body, verified, event, status: answer.status });
        response.writeHead(answer.status, { "content-type": "text/plain" }).end("ok");
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Goes down: the port refuses connections until `start(this.port)` again. */
  async stop(): Promise<void> {
    for (const release of this.hung) release();
    this.hung.clear();
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Processed events of one resource (type family and data id), in processing order. */
  ofResource(family: string, id: string): string[] {
    return this.processed
      .filter((e) => e.type.startsWith(`${family}.`) && e.data.id === id)
      .map((e) => e.type);
  }
}

/** Resolves once `check` holds, polling; fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
