import { join } from "node:path";

/** The real `giftstream` command line, run through tsx so that no build is needed. */
export const cliArgs = ["--import", "tsx", join(import.meta.dirname, "..", "..", "src", "cli", "main.ts")];
