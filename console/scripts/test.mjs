// Runs the console's unit tests (test/*.test.mjs, node --test) against src/'s plain .ts modules
// (the editor's state logic, no DOM), each stripped of its types by the TypeScript compiler
// into a temporary directory beside the tests, which import them as ./name.js.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "agentmcp-console-test-"));
let status = 1;
try {
  writeFileSync(join(out, "package.json"), '{"type":"module"}\n');
  for (const f of readdirSync(join(root, "src")).filter((f) => f.endsWith(".ts"))) {
    const js = ts.transpileModule(readFileSync(join(root, "src", f), "utf8"), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false },
      fileName: f,
    });
    writeFileSync(join(out, f.replace(/\.ts$/, ".js")), js.outputText);
  }
  const tests = readdirSync(join(root, "test")).filter((f) => f.endsWith(".test.mjs"));
  for (const f of tests) copyFileSync(join(root, "test", f), join(out, f));
  status = spawnSync(process.execPath, ["--test", ...tests.map((f) => join(out, f))], { stdio: "inherit" }).status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(status);
