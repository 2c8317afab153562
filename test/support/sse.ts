import { get, type IncomingMessage } from "node:http";

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

/**
 * A Server-Sent Events client over node:http, for tests: it keeps every event and comment it has
 * read, and waits for more.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  private buffer = "";
  private waiters: (() => void)[] = [];

  private constructor(
    readonly response: IncomingMessage,
    private readonly destroy: () => void,
  ) {
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      this.buffer += chunk;
      let end = this.buffer.indexOf("\n\n");
      while (end !== -1) {
        this.parse(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 2);
        end = this.buffer.indexOf("\n\n");
      }
      this.wake();
    });
    const finish = () => {
      this.ended = true;
      this.wake();
    };
    response.on("end", finish);
    response.on("close", finish);
    response.on("error", finish);
  }

  /** Opens `url` and resolves once the response headers arrive (whatever their status). */
  static open(url: string, headers: Record<string, string>): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const request = get(url, { headers: { accept: "text/event-stream", ...headers } }, (response) => {
        resolve(new SseClient(response, () => request.destroy()));
      });
      request.on("error", reject);
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  get gifts(): SseEvent[] {
    return this.events.filter((e) => e.event === "gift");
  }

  /** Resolves once `done()` holds, or fails after `timeoutMs`. */
  async until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      if (this.ended && !done()) throw new Error(`stream ended before ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  untilGifts(count: number): Promise<void> {
    return this.until(() => this.gifts.length >= count, `${count} gift events`);
  }

  /** The whole body, for a response that is not an event stream (an error). */
  async text(): Promise<string> {
    await this.until(() => this.ended, "the end of the response");
    return this.buffer;
  }

  close(): void {
    this.destroy();
  }

  private parse(block: string): void {
    let id: string | undefined;
    let event = "message";
    const data: string[] = [];
    let isEvent = false;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      isEvent = true;
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (isEvent) this.events.push({ id, event, data: JSON.parse(data.join("\n")) });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
