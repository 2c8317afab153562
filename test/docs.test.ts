import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configKeys, configLeaves, envVarFor, loadConfig } from "../src/config/index.js";
import { errorCatalogue } from "../src/errors.js";
import { openTestApp } from "./support/app.js";

const root = new URL("../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

/** The rows of the first Markdown table whose header row is exactly `header`, as trimmed cells. */
function table(markdown: string, header: readonly string[]): string[][] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => sameCells(cells(line), header));
  if (start === -1) throw new Error(`no table with header | ${header.join(" | ")} |`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trimStart().startsWith("|")) break;
    rows.push(cells(line));
  }
  return rows;
}

function cells(line: string): string[] {
  const trimmed = line.trim();
  if (!trimmed.startsWith("|")) return [];
  return trimmed
    .slice(1, trimmed.endsWith("|") ? -1 : undefined)
    .split("|")
    .map((cell) => cell.trim());
}

function sameCells(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((cell, index) => cell === b[index]);
}

/** `foo` → foo; anything else is not a code cell. */
function unquote(cell: string): string | undefined {
  const match = /^`([^`]+)`$/.exec(cell);
  return match?.[1];
}

function fenced(markdown: string, language: string): string[] {
  const blocks: string[] = [];
  const pattern = new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\``, "gm");
  for (const match of markdown.matchAll(pattern)) blocks.push(match[1]!);
  return blocks;
}

describe("docs/errors.md", () => {
  const rows = table(read("docs/errors.md"), ["code", "status", "meaning"]);
  const documented = rows.map(([code, status]) => [unquote(code!) ?? code!, Number(status)] as const);

  it("has one well-formed row per code", () => {
    for (const row of rows) {
      expect(unquote(row[0]!), `code cell ${row[0]}`).toBeDefined();
      expect(row[2]!.length, `meaning of ${row[0]}`).toBeGreaterThan(10);
    }
    const codes = documented.map(([code]) => code);
    expect(new Set(codes).size, "duplicate rows").toBe(codes.length);
  });

  it("documents every code in the catalogue, with its status", () => {
    const documentedStatus = new Map(documented);
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      expect(documentedStatus.get(code), `status of ${code} in docs/errors.md`).toBe(entry.status);
    }
  });

  it("documents nothing the catalogue lacks", () => {
    for (const [code, status] of documented) {
      expect(Object.hasOwn(errorCatalogue, code), `${code} is in docs/errors.md but not src/errors.ts`).toBe(
        true,
      );
      expect(errorCatalogue[code as keyof typeof errorCatalogue].status).toBe(status);
    }
  });
});

describe("docs/configuration.md", () => {
  const markdown = read("docs/configuration.md");
  const rows = table(markdown, ["key", "type", "default", "env", "meaning"]);
  const documentedKeys = rows.map(([key]) => unquote(key!) ?? key!);

  it("documents every configuration key", () => {
    for (const key of configKeys()) expect(documentedKeys, `${key} missing`).toContain(key);
  });

  it("documents no key that does not exist", () => {
    for (const key of documentedKeys) expect(configKeys(), `${key} is not a key`).toContain(key);
    expect(new Set(documentedKeys).size, "duplicate rows").toBe(documentedKeys.length);
  });

  it("gives each key its real default and environment variable", () => {
    const leaves = new Map(configLeaves().map((leaf) => [leaf.key, leaf]));
    for (const [keyCell, , defaultCell, envCell] of rows) {
      const key = unquote(keyCell!)!;
      const schemaDefault = leaves.get(key)?.schema.default;
      const expectedDefault = schemaDefault === undefined ? "—" : `\`${JSON.stringify(schemaDefault)}\``;
      expect(defaultCell, `default of ${key}`).toBe(expectedDefault);
      const envVar = envVarFor(key);
      expect(envCell, `env of ${key}`).toBe(envVar === undefined ? "—" : `\`${envVar}\``);
    }
  });

  describe("examples load", () => {
    const dir = mkdtempSync(join(tmpdir(), "giftstream-docs-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const load = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return loadConfig({ env: { GIFTSTREAM_CONFIG: path } });
    };

    it("the YAML example sets every key to its default", () => {
      const [yaml] = fenced(markdown, "yaml");
      expect(yaml).toBeDefined();
      const config = load("example.yaml", yaml!);
      const { databaseUrl, ...rest } = config;
      expect(databaseUrl).toBe("sqlite:./data/giftstream.db");
      expect(rest).toEqual(loadConfig({ env: {} }));
    });

    it("the JSON example is valid", () => {
      const [json] = fenced(markdown, "json");
      expect(json).toBeDefined();
      expect(load("example.json", json!).server.port).toBe(8080);
    });
  });
});

describe("API endpoints in docs/", () => {
  /** Every `### \`METHOD /path\`` heading in docs/, with the text of its section. */
  function documentedEndpoints(): Map<string, string> {
    const found = new Map<string, string>();
    for (const file of readdirSync(new URL("docs/", root)).filter((f) => f.endsWith(".md"))) {
      const sections = read(`docs/${file}`).split(/^### /m).slice(1);
      for (const section of sections) {
        const match = /^`(GET|POST|PUT|DELETE|PATCH) ([^`]+)`/.exec(section);
        if (match) found.set(`${match[1]} ${match[2]}`, section);
      }
    }
    return found;
  }

  it("documents every route of the OpenAPI document, each with a curl example, and no route that does not exist", async () => {
    // Test mode, Stripe and the PayPal rail on, so that their routes are in the document too.
    const t = await openTestApp({
      testMode: true,
      payments: {
        stripe: { secretKey: "sk_test_docs", webhookSecret: "whsec_docs", apiUrl: "http://127.0.0.1:9" },
      },
      payouts: {
        paypal: { clientId: "docs", clientSecret: "docs", webhookId: "WHDOCS", apiUrl: "http://127.0.0.1:9" },
      },
    });
    try {
      const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
      const spec = res.json() as { paths: Record<string, Record<string, unknown>> };
      const routes = new Set<string>();
      for (const [path, methods] of Object.entries(spec.paths)) {
        for (const method of Object.keys(methods)) {
          if (method === "head") continue;
          routes.add(`${method.toUpperCase()} ${path}`);
        }
      }
      const documented = documentedEndpoints();
      for (const route of routes) {
        expect(documented.has(route), `${route} is documented`).toBe(true);
        const path = route.split(" ")[1]!.replace(/\{[^}]+\}/g, "[^ ]+");
        expect(documented.get(route), `${route} has a curl example`).toMatch(
          new RegExp(`curl [^\\n]*http://localhost:8080${path.replaceAll(".", "\\.")}`),
        );
      }
      // The OpenAPI document and its browser are served beside the API, not described in it.
      const servedBeside = new Set(["GET /openapi.json", "GET /docs"]);
      for (const route of documented.keys()) {
        expect(routes.has(route) || servedBeside.has(route), `${route} exists`).toBe(true);
      }
    } finally {
      await t.dispose();
    }
  });
});

describe("docs/economy.md", () => {
  /** Every leaf of the economy document schema, as `a.b[].c` with `<key>` for record keys. */
  function leaves(schema: Record<string, unknown>, path: string, out: string[]): string[] {
    const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
    const patterns = schema.patternProperties as Record<string, Record<string, unknown>> | undefined;
    const items = schema.items as Record<string, unknown> | undefined;
    if (properties)
      for (const [k, v] of Object.entries(properties)) leaves(v, path ? `${path}.${k}` : k, out);
    if (patterns) for (const v of Object.values(patterns)) leaves(v, `${path}.<key>`, out);
    if (schema.type === "array" && items?.type === "object") leaves(items, `${path}[]`, out);
    else if (!properties && !patterns) out.push(path);
    return out;
  }

  it("documents every key of the economy document, and no key that does not exist", async () => {
    const { economyDocumentSchema } = await import("../src/economy/config/document.js");
    const keys = leaves(economyDocumentSchema as unknown as Record<string, unknown>, "", []);
    const rows = table(read("docs/economy.md"), ["key", "type", "default", "meaning"]);
    const documented = rows.map((row) => row[0]!.replaceAll("`", ""));
    expect([...documented].sort()).toEqual([...keys].sort());
  });
});

describe("README", () => {
  it("names the Node.js version package.json's engines asks for", () => {
    const engines = JSON.parse(read("package.json")).engines.node as string;
    const floor = /^>=(\d+\.\d+)$/.exec(engines)?.[1];
    expect(floor, `engines.node is ${engines}`).toBeDefined();
    expect(read("README.md")).toMatch(new RegExp(`Node\\.js ${floor!.replace(".", "\\.")}\\s+or later`));
  });
});

describe("benchmark docs", () => {
  it("documents every benchmark `npm run bench` runs, in the README and in docs/benchmarks.md, and no other", () => {
    // bench/run.ts runs its benchmarks when imported, so its table is read as text.
    const names = [...read("bench/run.ts").matchAll(/^\s+"?([a-z][a-z-]*)"?: \(\) => bench/gm)].map(
      (m) => m[1]!,
    );
    expect(names.length).toBeGreaterThan(0);
    const readme = [...read("README.md").matchAll(/`npm run bench -- ([a-z-]+)`/g)].map((m) => m[1]!);
    const sections = [...read("docs/benchmarks.md").matchAll(/^## `([a-z-]+)`$/gm)].map((m) => m[1]!);
    expect(new Set(readme)).toEqual(new Set(names));
    expect(new Set(sections)).toEqual(new Set(names));
  });
});
