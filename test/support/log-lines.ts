import { Writable } from "node:stream";
import { type Level, type Logger, pino } from "pino";

/** A pino logger whose every line is kept, as written, for a test to search. */
export function logLines(level: Level = "info"): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: pino({ level }, sink) };
}
