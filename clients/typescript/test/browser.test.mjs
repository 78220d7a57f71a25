// dist/bundle.js in a real browser (headless Chromium), loaded the way the web console loads
// it: one ES module, served from the API's origin, the key in sessionStorage.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort, startAgentMcp, startHttp } from "./harness.mjs";

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const bundle = readFileSync(fileURLToPath(new URL("../dist/bundle.js", import.meta.url)));

let srv;
before(async () => {
  if (chromium) srv = await startAgentMcp();
});
after(async () => {
  await srv?.stop();
});

const page = (key, closedPort) => `<!doctype html><meta charset="utf-8"><title>console</title>
<script type="module">
import { createClient, etagOf, AgentMcpError, AgentMcpNetworkError } from "/bundle.js";
const out = {};
try {
  sessionStorage.setItem("agentmcp.key", ${JSON.stringify(key)});
  const c = createClient({ baseUrl: location.origin + "/v3", apiKey: () => sessionStorage.getItem("agentmcp.key") ?? undefined });
  const s = await c.servers.create({ name: "Weather", slug: "weather", url: "https://mcp.example.com/mcp" }, { idempotencyKey: "browser-1" });
  out.etag = etagOf(s);
  await c.servers.update("weather", { name: "Weather 2" }, { ifMatch: out.etag });
  try { await c.servers.update("weather", { name: "Stale" }, { ifMatch: out.etag }); } catch (e) { out.stale = [e instanceof AgentMcpError, e.status, e.code]; }
  out.names = [];
  for await (const x of c.servers.all()) out.names.push(x.name);
  const agent = await c.agents.attach((await c.agents.create({ uid: "support", name: "Support" })).uid, ["weather"]);
  out.attached = agent.mcpServers;
  try {
    await createClient({ baseUrl: "http://127.0.0.1:${closedPort}/v3", retry: false }).servers.list();
  } catch (e) { out.network = e instanceof AgentMcpNetworkError; }
} catch (e) {
  out.failure = String(e && e.stack || e);
}
await fetch("/result", { method: "POST", body: JSON.stringify(out) });
</script>`;

test("the bundle works in Chromium against a real agentmcp", { skip: !chromium && !process.env.CI && "chromium is not installed" }, async () => {
  assert.ok(chromium, "chromium is missing in CI (.ci/run installs it)");
  const { key } = srv.newApp();
  const closedPort = await freePort();
  let resolveResult;
  const result = new Promise((r) => (resolveResult = r));
  const api = new URL(srv.base);
  // One origin, as when agentmcp serves the console: the page, the bundle, and /v3 passed on.
  const site = await startHttp(async (req, res) => {
    if (req.url === "/console.html") return res.writeHead(200, { "Content-Type": "text/html" }).end(page(key, closedPort));
    if (req.url === "/bundle.js") return res.writeHead(200, { "Content-Type": "text/javascript" }).end(bundle);
    if (req.url === "/result") {
      let body = "";
      for await (const chunk of req) body += chunk;
      res.writeHead(204).end();
      return resolveResult(JSON.parse(body));
    }
    if (req.url.startsWith("/v3/")) {
      const up = request({ host: api.hostname, port: api.port, method: req.method, path: req.url, headers: { ...req.headers, host: api.host } }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on("error", () => res.writeHead(502).end());
      return req.pipe(up);
    }
    res.writeHead(404).end();
  });
  const profile = mkdtempSync(join(tmpdir(), "agentmcp-ts-chromium-"));
  const browser = spawn(
    chromium,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      new URL("/console.html", site.url).href,
    ],
    { stdio: "ignore", detached: true },
  );
  const exited = new Promise((r) => browser.once("exit", r));
  let timer;
  try {
    const out = await Promise.race([
      result,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("no result from the page in 60 s")), 60_000))),
      exited.then(() => Promise.reject(new Error("chromium exited before the page answered"))),
    ]);
    assert.equal(out.failure, undefined, out.failure);
    assert.match(out.etag, /^"\d+\.0"$/);
    assert.deepEqual(out.stale, [true, 412, "ERR_PRECONDITION_FAILED"]);
    assert.deepEqual(out.names, ["Weather 2"]);
    assert.deepEqual(out.attached, ["weather"]);
    assert.equal(out.network, true);
  } finally {
    clearTimeout(timer);
    if (browser.exitCode === null) {
      process.kill(-browser.pid, "SIGKILL"); // chromium and the processes it started
      await exited;
    }
    await site.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
