// bench/template_handlebars.mjs: the peer of template_bench: the same CASE.json rendered
// ITERATIONS times with handlebars.js (npm, tests/integration/node_modules), compiled once
// and without HTML escaping (noEscape), as SES renders. Prints the same JSON line.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/integration/package.json", import.meta.url));
const Handlebars = require("handlebars");
const c = JSON.parse(readFileSync(process.argv[2], "utf8"));
const n = Number(process.argv[3]);
const parts = [c.subject ?? "", c.text ?? "", c.html ?? ""].map((t) =>
  Handlebars.compile(t, { noEscape: true, strict: true }));
let bytes = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  let b = 0;
  for (const p of parts) b += Buffer.byteLength(p(c.data));
  bytes = b;
}
const secs = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ renders_per_second: Math.round(n / secs), bytes }));
