import { readFileSync } from "node:fs";
import { validateXML, type XMLValidationResult } from "xmllint-wasm";

/** The pain.001.001.03 schema, copied into the repository (test/fixtures/README.md says from where). */
const xsd = readFileSync(new URL("../fixtures/pain.001.001.03.xsd", import.meta.url), "utf8");

/** libxml2's schema validation of a SEPA file, run in WebAssembly: no system package needed. */
export function validatePain001(xml: string): Promise<XMLValidationResult> {
  return validateXML({
    xml: [{ fileName: "payout-file.xml", contents: xml }],
    schema: [{ fileName: "pain.001.001.03.xsd", contents: xsd }],
    // A 1,000-transfer file and the schema fit well within 256 MiB.
    maxMemoryPages: 4096,
  });
}

/** The text of every element named `name` (no namespace prefix is used in our files). */
export function elementTexts(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}(?: [^>]*)?>([^<]*)</${name}>`, "g"))].map((m) => m[1]!);
}
