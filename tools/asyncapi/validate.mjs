// Parses an AsyncAPI document with the official parser (the one the AsyncAPI CLI uses) and
// prints every diagnostic; exits 1 when any has severity error, so tests and CI can gate on it.
//
//   node tools/asyncapi/validate.mjs docs/asyncapi.json
import { fromFile, Parser } from "@asyncapi/parser";

// The parser's diagnostics use Spectral's numeric severities.
const SEVERITY = ["error", "warning", "info", "hint"];

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs <asyncapi document>");
  process.exit(2);
}

const { document, diagnostics } = await fromFile(new Parser(), file).parse();
const counts = { error: 0, warning: 0, info: 0, hint: 0 };
for (const diagnostic of diagnostics) {
  const severity = SEVERITY[diagnostic.severity] ?? "error";
  counts[severity] += 1;
  const where = diagnostic.path.length ? diagnostic.path.join(".") : "(document)";
  console.log(`${severity} ${diagnostic.code} at ${where}: ${diagnostic.message}`);
}
// A document the parser could not build is invalid even if no diagnostic says error.
if (document === undefined && counts.error === 0) {
  counts.error += 1;
  console.log("error parser produced no document");
}
console.log(
  `${file}: AsyncAPI ${document?.version() ?? "?"}: ` +
    `${counts.error} errors, ${counts.warning} warnings, ${counts.info} infos, ${counts.hint} hints`,
);
process.exit(counts.error > 0 ? 1 : 0);
