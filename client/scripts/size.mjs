/**
 * After `vite build`: the gzipped size of every JS chunk, and what a phone downloads to
 * show the participant view (the entry, the participant view's chunk and everything they
 * import statically, each counted once). Fails when that passes the budget: a phone on
 * venue wifi in a room of 200 must be able to join in seconds.
 *
 *   node scripts/size.mjs [build directory]   (default: vite.config.ts's outDir)
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** The participant view's budget: JavaScript, gzipped. */
const BUDGET_BYTES = 100 * 1024;
const PARTICIPANT = "src/views/participant.tsx";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const candidates = [process.argv[2], "../server/static", "dist"].filter(Boolean);
const outDir = candidates
  .map((dir) => resolve(root, dir))
  .find((dir) => existsSync(join(dir, ".vite/manifest.json")));
if (!outDir) {
  console.error(`size: no .vite/manifest.json in ${candidates.join(", ")}: run vite build first`);
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(join(outDir, ".vite/manifest.json"), "utf8"));

const gz = new Map();
function gzipped(file) {
  if (!gz.has(file)) gz.set(file, gzipSync(readFileSync(join(outDir, file)), { level: 9 }).length);
  return gz.get(file);
}
const kb = (n) => `${(n / 1024).toFixed(1).padStart(6)} KB`;

console.log(`JS chunks in ${outDir}/assets (gzipped):`);
const assets = readdirSync(join(outDir, "assets")).filter((f) => f.endsWith(".js")).sort();
let all = 0;
for (const file of assets) {
  const size = gzipped(`assets/${file}`);
  all += size;
  console.log(`  ${kb(size)}  assets/${file}`);
}
console.log(`  ${kb(all)}  all JS`);

/** A manifest key's file and its static imports, recursively. */
function closure(key, seen = new Set()) {
  const chunk = manifest[key];
  if (!chunk) throw new Error(`size: ${key} is not in the manifest`);
  if (seen.has(chunk.file)) return seen;
  seen.add(chunk.file);
  for (const imported of chunk.imports ?? []) closure(imported, seen);
  return seen;
}

const entry = Object.keys(manifest).find((key) => manifest[key].isEntry);
if (!entry || !manifest[PARTICIPANT]) {
  console.error(`size: the manifest has no entry or no ${PARTICIPANT}`);
  process.exit(1);
}
const files = [...closure(PARTICIPANT, closure(entry))].filter((f) => f.endsWith(".js"));
const total = files.reduce((sum, file) => sum + gzipped(file), 0);
console.log(`participant view loads (gzipped): ${files.join(" + ")}`);
console.log(`  ${kb(total)}  of a ${kb(BUDGET_BYTES).trim()} budget`);
if (total > BUDGET_BYTES) {
  console.error(`size: the participant view is over budget by ${kb(total - BUDGET_BYTES).trim()}`);
  process.exit(1);
}
