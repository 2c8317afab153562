import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { DumpWriter, dumpLines } from "./dump-file.js";

const dir = mkdtempSync(join(tmpdir(), "giftstream-dump-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function read(path: string, lineBytesMax = 1024): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of dumpLines(path, lineBytesMax)) lines.push(line);
  return lines;
}

/** A gzip file of incompressible lines with its second half missing. */
function cutShort(): Buffer {
  const whole = gzipSync(
    Array.from({ length: 1000 }, () => `"${randomBytes(32).toString("hex")}"\n`).join(""),
  );
  return whole.subarray(0, Math.floor(whole.length / 2));
}

describe("dump files", () => {
  it("writes gzipped lines under a partial name and renames them whole", async () => {
    const path = join(dir, "whole.gz");
    const writer = await DumpWriter.create(path);
    const lines = Array.from({ length: 5000 }, (_, i) => `["${i}","${"x".repeat(i % 300)}"]`);
    for (const line of lines) await writer.line(line);
    await writer.finish();
    expect(readdirSync(dir)).toEqual(["whole.gz"]);
    expect(await read(path)).toEqual(lines);
    await expect(DumpWriter.create(path)).rejects.toThrow(/already exists/);
  });

  it("says plainly when it cannot write", async () => {
    await expect(DumpWriter.create(join(dir, "no-such-dir", "x.gz"))).rejects.toThrow(
      /cannot write .*x\.gz: ENOENT/,
    );
  });

  it("never overwrites a file that appears while it writes, nor shares its partial file", async () => {
    const path = join(dir, "raced.gz");
    const writer = await DumpWriter.create(path);
    // A second export to the same path, started meanwhile, is refused, and leaves the first's alone.
    await expect(DumpWriter.create(path)).rejects.toThrow(/raced\.gz\.partial exists: another export/);
    await writer.line("[1]");
    writeFileSync(path, "someone else's file");
    await expect(writer.finish()).rejects.toThrow(/was created while this export ran; not overwritten/);
    await writer.abort();
    expect(readFileSync(path, "utf8")).toBe("someone else's file");
    expect(readdirSync(dir).filter((f) => f.startsWith("raced"))).toEqual(["raced.gz"]);
  });

  it("leaves nothing behind when aborted", async () => {
    const path = join(dir, "aborted.gz");
    const writer = await DumpWriter.create(path);
    await writer.line("[]");
    await writer.abort();
    expect(readdirSync(dir).filter((f) => f.startsWith("aborted"))).toEqual([]);
  });

  it.each([
    ["a missing file", null, /no such file/],
    ["a file that is not gzip", Buffer.from("{}\n"), /not a whole gzip file/],
    ["a gzip file cut short", cutShort(), /not a whole gzip file/],
    ["a last line with no newline", gzipSync("{}\n[]"), /ends in the middle of a line/],
    ["a line over the limit", gzipSync(`${"x".repeat(2000)}\n`), /longer than 1024 bytes/],
    ["bytes that are not UTF-8", gzipSync(Buffer.from([0xff, 0xfe, 0x0a])), /not UTF-8/],
  ])("refuses %s", async (name, content, message) => {
    const path = join(dir, `${name.replaceAll(" ", "-")}.gz`);
    if (content !== null) writeFileSync(path, content);
    await expect(read(path)).rejects.toThrow(message);
  });
});
