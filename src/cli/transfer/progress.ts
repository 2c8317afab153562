import cliProgress from "cli-progress";

/** What a move reports as it goes: which table, and rows done out of all. */
export interface Progress {
  startTable(name: string, rows: number): void;
  advance(rows: number): void;
  endTable(): void;
  stop(): void;
}

/**
 * One bar over every row of the move, on stderr, when stderr is a terminal; otherwise (CI logs,
 * a redirect) a plain line per table, since a redrawn bar is noise in a file.
 */
export function openProgress(
  verb: string,
  totalRows: number,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  return stream.isTTY ? new BarProgress(verb, totalRows, stream) : new LineProgress(verb, totalRows, stream);
}

class BarProgress implements Progress {
  private readonly bar: cliProgress.SingleBar;

  constructor(verb: string, totalRows: number, stream: NodeJS.WriteStream) {
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${verb} {bar} {percentage}% | {value}/{total} rows | {table} | eta {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 100,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(totalRows, 0, { table: "" });
  }

  startTable(name: string): void {
    this.bar.update({ table: name });
  }

  advance(rows: number): void {
    this.bar.increment(rows);
  }

  endTable(): void {}

  stop(): void {
    this.bar.stop();
  }
}

class LineProgress implements Progress {
  private done = 0;
  private table = { name: "", rows: 0 };

  constructor(
    private readonly verb: string,
    private readonly totalRows: number,
    private readonly stream: NodeJS.WriteStream,
  ) {}

  startTable(name: string, rows: number): void {
    this.table = { name, rows };
  }

  advance(rows: number): void {
    this.done += rows;
  }

  endTable(): void {
    this.stream.write(
      `${this.verb} ${this.table.name}: ${this.table.rows} rows (${this.done}/${this.totalRows} in all)\n`,
    );
  }

  stop(): void {}
}
