import { once } from "node:events";
import { createReadStream } from "node:fs";
import { type FileHandle, link, open, rename, stat, unlink } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { TransferError } from "./transfer-error.js";

/** Text gathered before it goes to gzip, so that the stream sees big writes rather than one per row. */
const chunkBytes = 1024 * 1024;

/**
 * Writes a dump's lines, gzipped, to `<path>.partial`, and renames it to `path` only once it is
 * whole and flushed to disk: a file at `path` is always a complete export.
 */
export class DumpWriter {
  private pending: string[] = [];
  private pendingBytes = 0;

  private constructor(
    private readonly path: string,
    private readonly partial: string,
    private readonly gzip: ReturnType<typeof createGzip>,
    private readonly done: Promise<void>,
  ) {}

  /**
   * Refuses to overwrite an earlier export, and to share its partial file with another export to
   * the same path running now: the partial file is created exclusively, and is this writer's alone
   * to delete.
   */
  static async create(path: string): Promise<DumpWriter> {
    if (await exists(path)) throw new TransferError(`${path} already exists; export writes a new file`);
    const partial = `${path}.partial`;
    let handle: FileHandle;
    try {
      handle = await open(partial, "wx");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        throw new TransferError(
          `${partial} exists: another export to ${path} is running, or one was stopped (delete it if none runs)`,
        );
      }
      throw new TransferError(`cannot write ${path}: ${(error as Error).message}`);
    }
    const gzip = createGzip();
    const done = pipeline(gzip, handle.createWriteStream());
    // Awaited in finish; a failure meanwhile shows at the next write.
    done.catch(() => undefined);
    return new DumpWriter(path, partial, gzip, done);
  }

  async line(text: string): Promise<void> {
    this.pending.push(text, "\n");
    this.pendingBytes += text.length + 1;
    if (this.pendingBytes >= chunkBytes) await this.flush();
  }

  async finish(): Promise<void> {
    await this.flush();
    this.gzip.end();
    await this.settled();
    try {
      const file = await open(this.partial, "r+");
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      await publish(this.partial, this.path);
    } catch (error) {
      throw this.writeError(error);
    }
  }

  /** After a failure: no partial file is left behind. */
  async abort(): Promise<void> {
    this.gzip.destroy();
    await this.done.catch(() => undefined);
    await unlink(this.partial).catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join("");
    this.pending = [];
    this.pendingBytes = 0;
    try {
      if (!this.gzip.write(text)) await Promise.race([once(this.gzip, "drain"), this.done]);
    } catch (error) {
      throw this.writeError(error);
    }
    // The pipeline ends early only on an error (a full disk, say): surface it here.
    if (this.gzip.destroyed) await this.settled();
  }

  private async settled(): Promise<void> {
    try {
      await this.done;
    } catch (error) {
      throw this.writeError(error);
    }
  }

  /** A file system error (no such directory, a full disk) is the operator's to fix, not a bug. */
  private writeError(error: unknown): unknown {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof TransferError || code === undefined) return error;
    return new TransferError(`cannot write ${this.path}: ${(error as Error).message}`);
  }
}

/**
 * Gives the whole file its final name, never over a file that appeared there while the export
 * ran (a rename would replace it): a hard link fails if the name is taken. A file system without
 * hard links gets a check and a rename instead.
 */
async function publish(partial: string, path: string): Promise<void> {
  try {
    await link(partial, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw new TransferError(`${path} was created while this export ran; not overwritten`);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") throw error;
    if (await exists(path))
      throw new TransferError(`${path} was created while this export ran; not overwritten`);
    await rename(partial, path);
    return;
  }
  await unlink(partial);
}

/**
 * The lines of a gzipped dump, in order, without their newlines. A line longer than
 * `lineBytesMax`, bytes that are not UTF-8, a file that is not gzip, or one cut off mid-way, is
 * refused with a TransferError.
 */
export async function* dumpLines(path: string, lineBytesMax: number): AsyncGenerator<string> {
  if (!(await exists(path))) throw new TransferError(`${path}: no such file`);
  const input = createReadStream(path);
  const gunzip = createGunzip();
  input.on("error", (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const decode = (parts: Buffer[]) => {
    try {
      return utf8.decode(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    } catch {
      throw new TransferError(`${path}: a line is not UTF-8`);
    }
  };
  let parts: Buffer[] = [];
  let size = 0;
  const tooLong = () => new TransferError(`${path}: a line is longer than ${lineBytesMax} bytes`);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      let start = 0;
      for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, end);
        if (size + piece.length > lineBytesMax) throw tooLong();
        parts.push(piece);
        yield decode(parts);
        parts = [];
        size = 0;
        start = end + 1;
      }
      const rest = chunk.subarray(start);
      if (size + rest.length > lineBytesMax) throw tooLong();
      if (rest.length > 0) {
        // A copy: the stream may reuse its chunk's memory.
        parts.push(Buffer.from(rest));
        size += rest.length;
      }
    }
  } catch (error) {
    if (error instanceof TransferError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (code.startsWith("Z_") || code === "ERR_ZLIB") {
      throw new TransferError(`${path} is not a whole gzip file (${(error as Error).message})`);
    }
    throw error;
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  if (size > 0) throw new TransferError(`${path} ends in the middle of a line`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
