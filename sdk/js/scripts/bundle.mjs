// Builds dist/salam.min.js (one ES module for browsers, dependencies inlined)
// and reports its size minified and minified+gzipped.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const out = new URL("../dist/salam.min.js", import.meta.url).pathname;
await build({
  entryPoints: [new URL("../dist/index.js", import.meta.url).pathname],
  outfile: out, bundle: true, minify: true, format: "esm", platform: "browser", target: "es2022",
});
const code = readFileSync(out);
console.log(`salam-js bundle: ${code.length} bytes minified, ${gzipSync(code, { level: 9 }).length} bytes min+gzip (${out})`);
