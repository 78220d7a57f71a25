// The package as a user gets it: `npm pack`, installed from the tarball into a new project,
// an example type-checked by tsc (for Node, and for a browser without Node's types) and run
// by node against a real agentmcp.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startAgentMcp } from "./harness.mjs";

const pkgDir = fileURLToPath(new URL("../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(pkgDir, "package-lock.json"), "utf8"));
const locked = (name) => lock.packages[`node_modules/${name}`].version;
// The examples of both READMEs are type-checked too, so they stay true.
const tsBlock = (file, after = "") => {
  const text = readFileSync(file, "utf8");
  const m = text.slice(text.indexOf(after)).match(/```ts\n([\s\S]*?)```/);
  assert.ok(m, `no ts example in ${file}`);
  return m[1] + "export {};\n";
};
const readmes = {
  "readme-root.ts": tsBlock(join(pkgDir, "../../README.md"), "<!-- ts-example:start"),
  "readme-package.ts": tsBlock(join(pkgDir, "README.md")),
};
const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

let srv, dir;
before(async () => {
  srv = await startAgentMcp();
  dir = mkdtempSync(join(tmpdir(), "agentmcp-ts-pack-"));
});
after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("npm pack holds only the built files, their types and the README", () => {
  const [info] = JSON.parse(npm(["pack", "--json", "--pack-destination", dir], pkgDir));
  const files = info.files.map((f) => f.path).sort();
  assert.ok(files.includes("README.md") && files.includes("package.json"));
  for (const f of files) assert.match(f, /^(README\.md|package\.json|dist\/[a-z]+\.(js|d\.ts))$/, f);
  for (const f of ["dist/index.js", "dist/index.d.ts", "dist/bundle.js", "dist/schema.d.ts"]) assert.ok(files.includes(f), f);
  assert.equal(info.filename, "agentmcp-client-0.1.0.tgz");
});

const example = `
import { AgentMcpError, AgentMcpNetworkError, createClient, etagOf, type McpServer } from "@agentmcp/client";

const c = createClient({ baseUrl: process.env.AGENTMCP_URL!, apiKey: process.env.AGENTMCP_API_KEY });
const created: McpServer = await c.servers.create({ name: "Weather", slug: "weather", url: "https://mcp.example.com/mcp" }, { idempotencyKey: "example-1" });
await c.servers.update("weather", { description: "Forecasts" }, { ifMatch: etagOf(created) });
await c.agents.create({ uid: "support", name: "Support" });
const agent = await c.agents.attach("support", ["weather"]);
const slugs: string[] = [];
for await (const s of c.servers.all()) slugs.push(s.slug);
let code = "";
try {
  await c.servers.get("nope");
} catch (e) {
  if (e instanceof AgentMcpError) code = e.code;
}
let network = false;
try {
  await createClient({ baseUrl: "http://127.0.0.1:1/v3", retry: false }).servers.list();
} catch (e) {
  network = e instanceof AgentMcpNetworkError;
}
console.log(JSON.stringify({ slugs, mcpServers: agent.mcpServers, code, network }));

// Mistakes the types catch:
// @ts-expect-error url is required
void (() => c.servers.create({ name: "x", slug: "x" }));
// @ts-expect-error health is ok, failing or unknown
void (() => c.servers.list({ health: "sick" }));
// @ts-expect-error the slug cannot be changed
void (() => c.servers.update("x", { slug: "y" }));
// @ts-expect-error attach takes slugs
void (() => c.agents.attach("support", "weather"));
`;

// What the web console does: the bundle, the key from sessionStorage, no Node types at all.
const browser = `
import { createClient, type AgentMcpClient } from "@agentmcp/client/bundle";

export const c: AgentMcpClient = createClient({
  baseUrl: location.origin + "/v3",
  apiKey: () => sessionStorage.getItem("agentmcp.key") ?? undefined,
  fetch: (r) => window.fetch(r),
});
export const first = c.servers.list({ limit: 10 }).then((p) => p.data.map((s) => s.name));
`;

test("installed from the tarball: type-checked for Node and the browser, and run", () => {
  const proj = join(dir, "project");
  mkdirSync(proj);
  writeFileSync(join(proj, "package.json"), JSON.stringify({ name: "example", private: true, type: "module" }));
  // Everything comes from npm's cache (filled by npm ci) when it is there.
  npm(
    [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      join(dir, "agentmcp-client-0.1.0.tgz"),
      `typescript@${pkg.devDependencies.typescript}`,
      `@types/node@${locked("@types/node")}`,
    ],
    proj,
  );
  const installed = JSON.parse(readFileSync(join(proj, "node_modules/@agentmcp/client/package.json"), "utf8"));
  assert.deepEqual(installed.dependencies, { "openapi-fetch": pkg.dependencies["openapi-fetch"] });

  writeFileSync(join(proj, "example.ts"), example);
  writeFileSync(join(proj, "browser.ts"), browser);
  for (const [f, text] of Object.entries(readmes)) writeFileSync(join(proj, f), text);
  const base = { target: "ES2022", strict: true, skipLibCheck: false, noEmitOnError: true };
  writeFileSync(
    join(proj, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { ...base, module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022"], types: ["node"], outDir: "out" }, files: ["example.ts", ...Object.keys(readmes)] }),
  );
  writeFileSync(
    join(proj, "tsconfig.browser.json"),
    JSON.stringify({ compilerOptions: { ...base, module: "ESNext", moduleResolution: "Bundler", lib: ["ES2022", "DOM"], types: [] }, files: ["browser.ts"] }),
  );
  const tsc = join(proj, "node_modules/typescript/bin/tsc");
  const check = (args) => {
    try {
      execFileSync(process.execPath, [tsc, ...args], { cwd: proj, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      assert.fail(`tsc ${args.join(" ")}:\n${e.stdout}${e.stderr}`);
    }
  };
  check(["--noEmit", "-p", "tsconfig.browser.json"]);
  check(["-p", "tsconfig.json"]); // type-checks, then emits out/example.js for node

  const { key } = srv.newApp();
  const out = execFileSync(process.execPath, [join(proj, "out/example.js")], {
    cwd: proj,
    encoding: "utf8",
    env: { ...process.env, AGENTMCP_URL: srv.url, AGENTMCP_API_KEY: key },
  });
  assert.deepEqual(JSON.parse(out), { slugs: ["weather"], mcpServers: ["weather"], code: "ERR_MCP_SERVER_NOT_FOUND", network: true });
});
