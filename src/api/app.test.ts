import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ConfigInput, loadConfig } from "../config/index.js";
import { buildApp, type GiftstreamApp } from "./app.js";

const apps: GiftstreamApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function listening(overrides: ConfigInput = {}) {
  const config = loadConfig({
    env: {},
    overrides: { ...overrides, server: { ...overrides.server, port: 0 } },
  });
  const app = await buildApp({ config, logger: false, checks: { health: async () => ({ ok: true }) } });
  apps.push(app);
  return app;
}

async function open(app: GiftstreamApp): Promise<{ socket: Socket; received: Promise<string> }> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("not listening on TCP");
  const socket = connect(address.port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const received = new Promise<string>((resolve) => {
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(text));
  });
  return { socket, received };
}

describe("over a real socket", () => {
  it("answers a request not received within server.requestTimeoutMs with 408 problem+json", async () => {
    const app = await listening({ server: { requestTimeoutMs: 200 } });
    app.post("/test/echo", async (request) => request.body);
    const { socket, received } = await open(app);
    // Headers promise 100 bytes of body; only 1 arrives.
    socket.write(
      "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    const text = await received;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain("Content-Type: application/problem+json");
    expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))).toMatchObject({
      status: 408,
      code: "request_timeout",
    });
  });

  it("answers malformed HTTP with 400 problem+json", async () => {
    const app = await listening();
    const { socket, received } = await open(app);
    socket.write("NOT HTTP AT ALL\r\n\r\n");
    const text = await received;
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('"code":"invalid_request"');
  });

  it("answers 503 shutting_down to requests that arrive while closing, after finishing those in flight", async () => {
    const app = await listening();
    let entered!: () => void;
    const slowEntered = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.get("/test/slow", async () => {
      entered();
      await released;
      return { done: true };
    });
    let closingStarted!: () => void;
    const closing = new Promise<void>((resolve) => {
      closingStarted = resolve;
    });
    app.addHook("preClose", async () => closingStarted());

    const { socket, received } = await open(app);
    socket.write("GET /test/slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await slowEntered;
    const closed = app.close();
    await closing;
    // Pipelined on the same connection: it arrives after close() began.
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const text = await received;
    await closed;

    const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(first).toContain('{"done":true}');
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second?.toLowerCase()).toContain("content-type: application/problem+json");
    expect(second).toContain('"code":"shutting_down"');
  });
});

describe("methods", () => {
  it("answers HEAD with 404 problem+json, as any method a path does not take", async () => {
    // Fastify's HEAD twin of every GET hung on the live event stream, whose headers a HEAD holds back.
    const app = await listening();
    const get = await app.inject({ method: "GET", url: "/healthz" });
    expect(get.statusCode).toBe(200);
    const head = await app.inject({ method: "HEAD", url: "/healthz" });
    expect(head.statusCode).toBe(404);
    expect(head.headers["content-type"]).toContain("application/problem+json");
  });
});

describe("caching", () => {
  it("marks every /v1 answer no-store, and leaves the rest alone", async () => {
    const app = await listening();
    // An unknown /v1 path: the header comes before any route, so even a 404 carries it.
    const api = await app.inject({ method: "GET", url: "/v1/users/u1" });
    expect(api.headers["cache-control"]).toBe("no-store");
    const health = await app.inject({ method: "GET", url: "/healthz" });
    expect(health.headers["cache-control"]).toBeUndefined();
  });
});

describe("request logging", () => {
  it.each([
    [true, 2],
    [false, 0],
  ])("with log.requests %s logs %i lines for a request", async (requests, lines) => {
    const { Writable } = await import("node:stream");
    const { pino } = await import("pino");
    const written: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written.push(String(chunk));
        done();
      },
    });
    const config = loadConfig({ env: {}, overrides: { log: { requests } } });
    const app = await buildApp({
      config,
      logger: pino({ level: "info" }, sink),
      checks: { health: async () => ({ ok: true }) },
    });
    await app.inject({ method: "GET", url: "/healthz" });
    await app.close();
    expect(
      written.filter((l) => l.includes("request completed") || l.includes("incoming request")),
    ).toHaveLength(lines);
  });
});
