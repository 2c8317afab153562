/** The configuration is invalid. `problems` lists every problem found, each naming its key and source. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: readonly string[]) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`Invalid configuration (${count}):\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
    const copy = [...problems];
    Object.freeze(copy);
    this.problems = copy;
  }
}
