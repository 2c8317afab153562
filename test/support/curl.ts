import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { adminKey } from "./app.js";

const run = promisify(execFile);

/**
 * The `sh` blocks that call curl in a doc of docs/, in the order a reader meets them; only those of
 * the `##` sections named, when `sections` is given.
 */
export function curlBlocks(file: string, sections?: readonly string[]): string[] {
  const markdown = readFileSync(new URL(`../../docs/${file}`, import.meta.url), "utf8");
  const parts = sections
    ? markdown.split(/^## /m).filter((part) => sections.some((title) => part.startsWith(`${title}\n`)))
    : [markdown];
  return parts.flatMap((part) =>
    [...part.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes("curl ")),
  );
}

/**
 * Runs a block as written, against `url` instead of localhost:8080, with `$KEY` the admin key;
 * answers its standard output, or throws with the block and the error.
 */
export async function runCurlBlock(block: string, url: string, timeoutMs = 20_000): Promise<string> {
  const script = block.replaceAll("http://localhost:8080", url);
  try {
    const { stdout } = await run("bash", ["-eo", "pipefail", "-c", script], {
      env: { ...process.env, KEY: adminKey },
      encoding: "utf8",
      timeout: timeoutMs,
    });
    return stdout;
  } catch (error) {
    throw new Error(`example failed:\n${block}\n${String(error)}`);
  }
}
