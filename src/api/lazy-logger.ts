import type { FastifyBaseLogger, LogLevel } from "fastify";
import type { Bindings, ChildLoggerOptions } from "pino";

type Method = (...args: unknown[]) => void;

/**
 * A request's logger that becomes a pino child only when something is logged through it. Fastify
 * gives every request a child logger carrying its `reqId`; building one serializes its bindings
 * through the redaction rules, which cost more than a gift's whole ledger validation on the hot
 * path, for a logger most requests (request logging off, no error) never use.
 */
class LazyChildLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly childBindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.childBindings, this.options);
    return this.made;
  }

  private call(level: LogLevel | "silent", args: unknown[]): void {
    const real = this.real();
    (real[level] as Method).apply(real, args);
  }

  get level(): LogLevel {
    return (this.made?.level ?? this.options.level ?? this.parent.level) as LogLevel;
  }

  set level(level: LogLevel) {
    this.real().level = level;
  }

  fatal(...args: unknown[]): void {
    this.call("fatal", args);
  }
  error(...args: unknown[]): void {
    this.call("error", args);
  }
  warn(...args: unknown[]): void {
    this.call("warn", args);
  }
  info(...args: unknown[]): void {
    this.call("info", args);
  }
  debug(...args: unknown[]): void {
    this.call("debug", args);
  }
  trace(...args: unknown[]): void {
    this.call("trace", args);
  }
  silent(...args: unknown[]): void {
    this.call("silent", args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }

  // pino's own extras, for plugins that use them. The level check needs no child: a child logs
  // at its parent's level unless its options set one.
  isLevelEnabled(level: string): boolean {
    const source = (this.made ?? (this.options.level === undefined ? this.parent : this.real())) as {
      isLevelEnabled?: (level: string) => boolean;
    };
    return source.isLevelEnabled?.(level) ?? true;
  }

  bindings(): Bindings {
    const real = this.real() as { bindings?: () => Bindings };
    return real.bindings?.() ?? this.childBindings;
  }
}

/** Fastify's `childLoggerFactory`: the same child as Fastify's own, made on first use. */
export function lazyChildLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyChildLogger(parent, bindings, options);
}
