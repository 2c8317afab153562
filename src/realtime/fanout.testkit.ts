import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { connect } from "nats";
import { afterEach, expect, it } from "vitest";
import { BusChannelsFullError, MalformedNoticeError, type OpenBus } from "./bus.js";

/** Where the Redis suites run: `GIFTSTREAM_TEST_REDIS_URL`, else the local server. */
export const testRedisUrl = process.env.GIFTSTREAM_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Where the NATS suites run: `GIFTSTREAM_TEST_NATS_URL`, else the local server. */
export const testNatsUrl = process.env.GIFTSTREAM_TEST_NATS_URL ?? "nats://127.0.0.1:4222";

const probeTimeoutMs = 3_000;

/** The URL without its password, for messages. */
function shown(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

/** A random name part, so that suites running at once never hear each other. */
export function uniqueSuffix(): string {
  return randomBytes(6).toString("hex");
}

async function probeRedis(): Promise<string | undefined> {
  // One attempt, no retries, no queue: the probe answers quickly either way.
  const client = new Redis(testRedisUrl, {
    lazyConnect: true,
    connectTimeout: probeTimeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  // The connection's own error (ECONNREFUSED, …) says more than the "Connection is closed." of connect().
  let cause: string | undefined;
  client.on("error", (error: Error) => {
    cause ??= error.message;
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return cause ?? (error instanceof Error ? error.message : String(error));
  } finally {
    client.disconnect();
  }
}

async function probeNats(): Promise<string | undefined> {
  try {
    const connection = await connect({ servers: testNatsUrl, timeout: probeTimeoutMs, reconnect: false });
    await connection.close();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Off CI an unreachable server skips the suites, and says so plainly; under CI=true it fails the
 * file, because CI must prove the scale-out mode too.
 */
function decide(what: string, url: string, variable: string, problem: string | undefined): boolean {
  if (problem === undefined) return true;
  const message = `${what} at ${shown(url)} is not reachable (${problem})`;
  if (process.env.CI === "true")
    throw new Error(`${message}: CI runs the ${what} suites and cannot skip them`);
  console.warn(`${message}: the ${what} suites were skipped. Start it, or set ${variable}.`);
  return false;
}

/** Whether the Redis suites can run, decided once per test file. */
export async function requireRedis(): Promise<boolean> {
  return decide("Redis", testRedisUrl, "GIFTSTREAM_TEST_REDIS_URL", await probeRedis());
}

/** Whether the NATS suites can run, decided once per test file. */
export async function requireNats(): Promise<boolean> {
  return decide("NATS", testNatsUrl, "GIFTSTREAM_TEST_NATS_URL", await probeNats());
}

/** A bus under test: the contract, plus a way to know the server has taken its changes. */
export interface RemoteBus extends OpenBus<TestNotice> {
  flush(): Promise<void>;
  readonly channelCount: number;
}

export type TestNotice = { type: string; n?: number };

export interface RemoteBusHarness {
  /** A fresh prefix, unique to one test, in the transport's syntax. */
  prefix(): string;
  open(o: { prefix: string; onError: (error: unknown) => void; channelsMax?: number }): RemoteBus;
  /** Sends raw bytes where the bus would send the stream's notices, as a foreign process might. */
  publishRaw(prefix: string, streamId: string, payload: string): Promise<void>;
  /** A bus pointed at a port where no server listens. */
  openUnreachable(o: { prefix: string; onError: (error: unknown) => void }): RemoteBus;
}

/**
 * The behaviours every cross-process bus shares, run against a real server. Two bus instances
 * stand for two processes. Absence of a delivery is proven by a later marker notice arriving
 * (one publisher, one subscriber connection: the server keeps their order), never by waiting.
 */
export function describeRemoteBus(harness: RemoteBusHarness): void {
  const opened: RemoteBus[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((bus) => bus.close()));
  });

  async function pair(channelsMax?: number) {
    const prefix = harness.prefix();
    const errors: unknown[] = [];
    const open = () => {
      const bus = harness.open({
        prefix,
        onError: (e) => errors.push(e),
        ...(channelsMax === undefined ? {} : { channelsMax }),
      });
      opened.push(bus);
      return bus;
    };
    const a = open();
    const b = open();
    await Promise.all([a.ready(), b.ready()]);
    return { prefix, a, b, errors };
  }

  function collector() {
    const seen: string[] = [];
    return { seen, listener: (tag: string) => (n: TestNotice) => seen.push(`${tag}:${n.type}:${n.n ?? ""}`) };
  }

  it("carries a notice published in one process to a listener in another", async () => {
    const { a, b, errors } = await pair();
    const { seen, listener } = collector();
    b.subscribe("room-1", listener("b"));
    b.subscribe("room-2", listener("other"));
    await b.flush();
    a.publish("room-1", { type: "gift", n: 1 });
    await expect.poll(() => seen).toEqual(["b:gift:1"]);
    expect(errors).toEqual([]);
  });

  it("carries stream ids holding dots, spaces, wildcards, non-ASCII and nothing at all, each to its own stream", async () => {
    const { a, b, errors } = await pair();
    const seen: string[] = [];
    // NATS would read ">" and "*" as wildcards and "a.b" as two tokens if used raw; Redis
    // channels are binary-safe. Either way each id must hear only itself.
    const ids = ["a.b", "a", "x y", ">", "*", "", "tab\there", "ünï", "ünï:cødé"];
    for (const id of ids) b.subscribe(id, () => seen.push(id));
    await b.flush();
    for (const id of ids) a.publish(id, { type: "gift" });
    await expect.poll(() => seen).toEqual(ids);
    expect(errors).toEqual([]);
  });

  it("stops delivering once the last listener of a stream unsubscribes", async () => {
    const { a, b, errors } = await pair();
    const { seen, listener } = collector();
    const off1 = b.subscribe("room", listener("one"));
    const off2 = b.subscribe("room", listener("two"));
    b.subscribe("marker", listener("marker"));
    await b.flush();
    off1();
    off1();
    expect(b.channelCount).toBe(2);
    a.publish("room", { type: "gift", n: 1 });
    await expect.poll(() => seen).toEqual(["two:gift:1"]);
    off2();
    expect(b.channelCount).toBe(1);
    await b.flush();
    a.publish("room", { type: "gift", n: 2 });
    a.publish("marker", { type: "gift", n: 3 });
    await expect.poll(() => seen).toEqual(["two:gift:1", "marker:gift:3"]);
    expect(errors).toEqual([]);
  });

  it("follows a stream again after it was left", async () => {
    const { a, b } = await pair();
    const { seen, listener } = collector();
    b.subscribe("room", listener("first"))();
    b.subscribe("room", listener("again"));
    await b.flush();
    a.publish("room", { type: "gift", n: 1 });
    await expect.poll(() => seen).toEqual(["again:gift:1"]);
  });

  it("drops and reports a malformed message, and goes on delivering", async () => {
    const { prefix, a, b, errors } = await pair();
    const { seen, listener } = collector();
    b.subscribe("room", listener("b"));
    await b.flush();
    for (const raw of ["not json", "[1]", "null", '"gift"', '{"type":1}', "{}", "x".repeat(20_000)]) {
      await harness.publishRaw(prefix, "room", raw);
    }
    a.publish("room", { type: "gift", n: 1 });
    await expect.poll(() => seen).toEqual(["b:gift:1"]);
    expect(errors).toHaveLength(7);
    for (const error of errors) expect(error).toBeInstanceOf(MalformedNoticeError);
  });

  it("reports a throwing listener and still calls the others", async () => {
    const { a, b, errors } = await pair();
    const { seen, listener } = collector();
    b.subscribe("room", () => {
      throw new Error("boom");
    });
    b.subscribe("room", listener("b"));
    await b.flush();
    a.publish("room", { type: "gift", n: 1 });
    await expect.poll(() => seen).toEqual(["b:gift:1"]);
    expect(errors).toEqual([new Error("boom")]);
  });

  it("never throws from publish: failures go to onError", async () => {
    const { a, errors } = await pair();
    expect(() =>
      a.publish("room", { type: "gift", n: 1, big: "x".repeat(20_000) } as TestNotice),
    ).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RangeError);
    await a.close();
    expect(() => a.publish("room", { type: "gift" })).not.toThrow();
    expect(errors).toHaveLength(2);
    expect(() => a.subscribe("room", () => {})).toThrow(/closed/);
  });

  it("follows at most channelsMax streams", async () => {
    const { a, b } = await pair(2);
    const { seen, listener } = collector();
    const off1 = b.subscribe("s1", listener("s1"));
    b.subscribe("s2", listener("s2"));
    // A second listener on a followed stream takes no channel.
    b.subscribe("s2", listener("s2bis"));
    expect(() => b.subscribe("s3", listener("s3"))).toThrow(BusChannelsFullError);
    expect(b.channelCount).toBe(2);
    off1();
    b.subscribe("s3", listener("s3"));
    await b.flush();
    a.publish("s3", { type: "gift", n: 1 });
    await expect.poll(() => seen).toEqual(["s3:gift:1"]);
  });

  it("rejects ready when the server cannot be reached, reports publishes, and closes all the same", async () => {
    const errors: unknown[] = [];
    const bus = harness.openUnreachable({ prefix: harness.prefix(), onError: (e) => errors.push(e) });
    await expect(bus.ready()).rejects.toThrow();
    bus.publish("room", { type: "gift", n: 1 });
    expect(errors.length).toBeGreaterThanOrEqual(1);
    await bus.close();
  });

  it("delivers to a listener in the publishing process too, as the in-process bus does", async () => {
    const { a } = await pair();
    const { seen, listener } = collector();
    a.subscribe("room", listener("self"));
    await a.flush();
    a.publish("room", { type: "gift", n: 1 });
    await expect.poll(() => seen).toEqual(["self:gift:1"]);
  });
}
