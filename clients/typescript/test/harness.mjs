// Starts real agentmcp processes for the tests: the binary from AGENTMCP_BIN (make test-ts
// builds it) or built here with `go build`, a temporary SQLite database, apps and keys made
// with the binary's own `apps create` / `keys create`.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

let builtBin;
function binary(dir) {
  if (process.env.AGENTMCP_BIN) return process.env.AGENTMCP_BIN;
  if (!builtBin) {
    builtBin = join(dir, "agentmcp");
    execFileSync("go", ["build", "-o", builtBin, "./cmd/agentmcp"], { cwd: repoRoot, stdio: "inherit" });
  }
  return builtBin;
}

export async function freePort() {
  const srv = createNetServer();
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/**
 * startAgentMcp runs `agentmcp serve` on a free loopback port and waits for /readyz.
 * extra: more serve flags. Returns { base, url, newApp, newKey, stop }.
 */
export async function startAgentMcp(extra = []) {
  const dir = mkdtempSync(join(tmpdir(), "agentmcp-ts-"));
  const bin = binary(dir);
  const db = join(dir, "agentmcp.db");
  const admin = (...args) => execFileSync(bin, [...args, "--db", db], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  // The first app before serve, so serve does not make (and print) one of its own; only
  // serve and migrate up create a database.
  admin("migrate", "up");
  const firstKey = admin("apps", "create", "ts-first");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // No background probes (tests probe on demand), no rate limit unless a test asks for one;
  // probes may reach loopback, where the tests' fake MCP server listens.
  const child = spawn(
    bin,
    ["serve", "--addr", `127.0.0.1:${port}`, "--db", db, "--probe-on-write=false", "--probe-interval=0", "--rate-limit=0", "--probe-allow-private", ...extra],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    if (stderr.length < 1 << 16) stderr += d;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agentmcp serve exited early (${child.exitCode}):\n${stderr}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`agentmcp serve not ready in 30 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  let apps = 0;
  return {
    base,
    url: `${base}/v3`,
    firstKey,
    /** A new app of its own (a clean slate) and its fullAccess key. */
    newApp: (name = `app-${++apps}`) => ({ app: name, key: admin("apps", "create", name) }),
    newKey: (app, scope) => admin("keys", "create", "--app", app, "--scope", scope),
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * startFakeMcp serves just enough of MCP's Streamable HTTP transport for a probe: initialize,
 * notifications, tools/list with the given tools.
 */
export async function startFakeMcp(tools) {
  const srv = createServer(async (req, res) => {
    if (req.method !== "POST") {
      res.writeHead(405).end();
      return;
    }
    let body = "";
    for await (const chunk of req) body += chunk;
    const msg = JSON.parse(body);
    if (msg.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    const result =
      msg.method === "initialize"
        ? { protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "fake-mcp", version: "1.2.3" } }
        : msg.method === "tools/list"
          ? { tools }
          : undefined;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(result ? { jsonrpc: "2.0", id: msg.id, result } : { jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "no such method" } }));
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${srv.address().port}/mcp`,
    close: () => new Promise((resolve) => srv.close(resolve)),
  };
}

/** startHttp serves handler on loopback, for transport cases the real server cannot produce. */
export async function startHttp(handler) {
  const srv = createServer(handler);
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${srv.address().port}/v3`,
    close: () => {
      srv.closeAllConnections();
      return new Promise((resolve) => srv.close(resolve));
    },
  };
}

/** countingFetch counts the attempts that reach fetch (and when they started). */
export function countingFetch(inner = (r) => fetch(r)) {
  const f = async (r) => {
    f.attempts.push({ method: r.method, url: r.url, at: Date.now(), headers: Object.fromEntries(r.headers) });
    return inner(r);
  };
  f.attempts = [];
  return f;
}
