// Builds the console into server/consoleui/dist (which agentmcp embeds): type-checks src/ with
// tsc, then bundles it with Vite. With --check it builds into a temporary directory and fails
// when that differs from the committed dist/ (make check-generated).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = resolve(root, "../server/consoleui/dist");
const check = process.argv.includes("--check");
const require = createRequire(import.meta.url);

execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { stdio: "inherit" });

const out = check ? mkdtempSync(join(tmpdir(), "agentmcp-console-")) : dist;
try {
  await build({ root, configFile: join(root, "vite.config.mjs"), logLevel: check ? "warn" : "info", build: { outDir: out, emptyOutDir: true } });
  if (check) {
    const stale = diff(dist, out);
    if (stale.length) {
      console.error(`server/consoleui/dist is stale (${stale.join(", ")}): run 'make console'`);
      process.exit(1);
    }
  }
} finally {
  if (check) rmSync(out, { recursive: true, force: true });
}

function files(dir) {
  const walk = (d) => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [relative(dir, join(d, n))]));
  try {
    return walk(dir).sort();
  } catch {
    return [];
  }
}

// diff lists the files that differ between two trees, or are in only one.
function diff(a, b) {
  const fa = files(a);
  const fb = files(b);
  return [...new Set([...fa, ...fb])].sort().filter((f) => !fa.includes(f) || !fb.includes(f) || !readFileSync(join(a, f)).equals(readFileSync(join(b, f))));
}
