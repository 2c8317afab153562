import { Writable } from "node:stream";
import type { FastifyBaseLogger } from "fastify";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { lazyChildLogger } from "./lazy-logger.js";

function parentLogger(level = "info") {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level }, stream);
  let children = 0;
  const child = logger.child;
  // Counts the children made, so the test sees when the lazy one is built. Unbound: pino's
  // children inherit this method, and theirs must make their own children.
  logger.child = function (this: typeof logger, ...args: Parameters<typeof child>) {
    children++;
    return child.apply(this, args);
  } as typeof logger.child;
  return { logger: logger as unknown as FastifyBaseLogger, lines, children: () => children };
}

describe("lazyChildLogger", () => {
  it("builds the child only when something is logged, with the request's bindings", () => {
    const parent = parentLogger();
    const log = lazyChildLogger(parent.logger, { reqId: "r-1" }, {});
    expect(parent.children()).toBe(0);
    expect(log.level).toBe("info");
    expect((log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled("debug")).toBe(false);
    expect(parent.children()).toBe(0);
    log.warn({ n: 1 }, "careful");
    log.info("again %s", "here");
    expect(parent.children()).toBe(1);
    expect(parent.lines).toMatchObject([
      { reqId: "r-1", n: 1, msg: "careful", level: 40 },
      { reqId: "r-1", msg: "again here", level: 30 },
    ]);
    expect((log as unknown as { bindings(): object }).bindings()).toEqual({ reqId: "r-1" });
  });

  it("keeps a level set on it to itself, and honours a level in its options", () => {
    const parent = parentLogger();
    const log = lazyChildLogger(parent.logger, { reqId: "r-2" }, {});
    log.level = "error";
    log.warn("dropped");
    log.error("kept");
    expect(parent.lines.map((l) => l.msg)).toEqual(["kept"]);
    expect(parent.logger.level).toBe("info");
    const quiet = lazyChildLogger(parent.logger, { reqId: "r-3" }, { level: "fatal" });
    expect(quiet.level).toBe("fatal");
    quiet.error("dropped too");
    expect(parent.lines.map((l) => l.msg)).toEqual(["kept"]);
  });

  it("makes grandchildren through the real child", () => {
    const parent = parentLogger();
    const log = lazyChildLogger(parent.logger, { reqId: "r-4" }, {});
    log.child({ part: "x" }).info("deep");
    expect(parent.lines).toMatchObject([{ reqId: "r-4", part: "x", msg: "deep" }]);
  });
});
