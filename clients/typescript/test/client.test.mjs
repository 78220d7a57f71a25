// The client (as built in dist/) against a real agentmcp binary: every operation, both
// pagination directions, every error the API can give a client, the transport's retries,
// time limits and errors.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AgentMcpError, AgentMcpNetworkError, createClient, etagOf, responseOf, unwrap } from "../dist/index.js";
import { countingFetch, freePort, startAgentMcp, startFakeMcp, startHttp } from "./harness.mjs";

let srv;
before(async () => {
  srv = await startAgentMcp();
});
after(async () => {
  await srv?.stop();
});

/** A client of a fresh app; options are passed on. */
function fresh(options = {}) {
  const { app, key } = srv.newApp();
  return { app, key, c: createClient({ baseUrl: srv.url, apiKey: key, ...options }) };
}

/** rejects asserts that fn throws an AgentMcpError with these fields, and returns it. */
async function rejectsApi(fn, want) {
  let err;
  await assert.rejects(fn, (e) => {
    err = e;
    return true;
  });
  assert.ok(err instanceof AgentMcpError, `want AgentMcpError, got ${err?.name}: ${err?.message}`);
  assert.ok(!(err instanceof AgentMcpNetworkError));
  for (const [k, v] of Object.entries(want)) assert.deepEqual(err[k], v, `error.${k}`);
  return err;
}

describe("MCP servers", () => {
  test("create, get, list, update, delete, with ETags", async () => {
    const { c, app } = fresh();
    const s = await c.servers.create({ name: "Weather", slug: "weather", url: "https://mcp.example.com/mcp", description: "Forecasts" });
    assert.equal(s._id, `${app}_weather`);
    assert.equal(s.appId, app);
    assert.equal(s.slug, "weather");
    assert.equal(s.description, "Forecasts");
    assert.equal(s.icon, "");
    assert.equal(responseOf(s).status, 201);
    const tag = etagOf(s);
    assert.match(tag, /^"\d+\.0"$/);

    const got = await c.servers.get("weather");
    assert.deepEqual(got, s);
    assert.equal(etagOf(got), tag);
    assert.equal(await c.servers.get("weather", { ifNoneMatch: tag }), null, "304 is null");
    assert.deepEqual(await c.servers.get("weather", { ifNoneMatch: '"1.0"' }), s);

    const page = await c.servers.list();
    assert.deepEqual(page.data, [s]);
    assert.equal(page.meta.current.count, 1);

    await new Promise((r) => setTimeout(r, 2)); // updatedAt is in milliseconds
    const u = await c.servers.update("weather", { description: "", icon: "https://mcp.example.com/i.png" }, { ifMatch: tag });
    assert.equal(u.description, "");
    assert.equal(u.icon, "https://mcp.example.com/i.png");
    assert.ok(u.updatedAt > s.updatedAt);
    assert.notEqual(etagOf(u), tag);

    // The old ETag no longer matches: nothing is written, nothing deleted.
    await rejectsApi(() => c.servers.update("weather", { name: "Stale" }, { ifMatch: tag }), { status: 412, code: "ERR_PRECONDITION_FAILED" });
    await rejectsApi(() => c.servers.delete("weather", { ifMatch: tag }), { status: 412, code: "ERR_PRECONDITION_FAILED" });
    assert.equal((await c.servers.get("weather")).name, "Weather");

    assert.equal(await c.servers.delete("weather", { ifMatch: etagOf(u) }), undefined);
    await rejectsApi(() => c.servers.get("weather"), { status: 404, code: "ERR_MCP_SERVER_NOT_FOUND" });
    await rejectsApi(() => c.servers.delete("weather"), { status: 404, code: "ERR_MCP_SERVER_NOT_FOUND" });
  });

  test("probe and tools against a real MCP server; health filter", async () => {
    const mcp = await startFakeMcp([
      { name: "forecast", description: "Weather for a city", inputSchema: { type: "object", properties: { city: { type: "string" } } } },
      { name: "alerts", inputSchema: { type: "object" } },
    ]);
    try {
      const { c } = fresh();
      await c.servers.create({ name: "Weather", slug: "weather", url: mcp.url });
      await c.servers.create({ name: "Never probed", slug: "other", url: "https://mcp.example.com/mcp" });
      await rejectsApi(() => c.servers.tools("weather"), { status: 404, code: "ERR_NOT_PROBED" });
      await rejectsApi(() => c.servers.lastProbe("weather"), { status: 404, code: "ERR_NOT_PROBED" });

      const p = await c.servers.probe("weather");
      assert.equal(p.status, "ok", p.error);
      assert.equal(p.toolCount, 2);
      assert.deepEqual(p.serverInfo, { name: "fake-mcp", version: "1.2.3" });

      const t = await c.servers.tools("weather");
      assert.deepEqual(
        t.tools.map((x) => x.name),
        ["forecast", "alerts"],
      );
      assert.equal(t.tools[0].description, "Weather for a city");
      assert.equal(t.checkedAt, p.checkedAt);
      assert.equal((await c.servers.lastProbe("weather")).checkedAt, p.checkedAt);
      const { app } = { app: (await c.servers.get("weather")).appId };
      assert.deepEqual(await c.registry.get(), { enabled: false, path: `/registry/${app}` });
      assert.equal((await c.registry.set(true)).enabled, true);
      assert.equal((await c.registry.get()).enabled, true);

      assert.equal((await c.servers.get("weather")).health.status, "ok");
      assert.deepEqual(
        (await c.servers.list({ health: "ok" })).data.map((s) => s.slug),
        ["weather"],
      );
      assert.deepEqual(
        (await c.servers.list({ health: "unknown" })).data.map((s) => s.slug),
        ["other"],
      );
      await rejectsApi(() => c.servers.probe("nope"), { status: 404, code: "ERR_MCP_SERVER_NOT_FOUND" });
      await rejectsApi(() => c.servers.authorize("weather"), { status: 409, code: "ERR_NOT_OAUTH" });
    } finally {
      await mcp.close();
    }
  });

  test("pages both ways: list with cursors, all() newest first and from a cursor", async () => {
    const f = countingFetch();
    const { c } = fresh({ fetch: f });
    const made = [];
    for (let i = 1; i <= 7; i++) made.push(await c.servers.create({ name: `S${i}`, slug: `s${i}`, url: `https://mcp.example.com/${i}` }));
    const slugs = (xs) => xs.map((s) => s.slug);

    const p1 = await c.servers.list({ limit: 3 });
    assert.deepEqual(slugs(p1.data), ["s7", "s6", "s5"]);
    const p2 = await c.servers.list({ limit: 3, ...p1.meta.next });
    assert.deepEqual(slugs(p2.data), ["s4", "s3", "s2"]);
    const back = await c.servers.list({ limit: 3, ...p2.meta.previous });
    assert.deepEqual(slugs(back.data), ["s7", "s6", "s5"]);
    const p3 = await c.servers.list({ limit: 3, ...p2.meta.next });
    assert.deepEqual(slugs(p3.data), ["s1"]);
    const end = await c.servers.list({ limit: 3, ...p3.meta.next });
    assert.deepEqual(end.data, []);
    assert.equal(end.meta.next, undefined);

    const collect = async (it) => {
      const out = [];
      for await (const s of it) out.push(s.slug);
      return out;
    };
    f.attempts.length = 0;
    assert.deepEqual(await collect(c.servers.all({ limit: 3 })), ["s7", "s6", "s5", "s4", "s3", "s2", "s1"]);
    assert.equal(f.attempts.length, 4, "three pages and the empty one");
    assert.deepEqual(new URL(f.attempts[1].url).searchParams.get("affix"), "append");
    assert.deepEqual(await collect(c.servers.all()), ["s7", "s6", "s5", "s4", "s3", "s2", "s1"]);
    // Older than s5, and newer than s2 (walking towards the newest, so oldest first).
    assert.deepEqual(await collect(c.servers.all({ limit: 2, affix: "append", createdAt: made[4].createdAt })), ["s4", "s3", "s2", "s1"]);
    assert.deepEqual(await collect(c.servers.all({ limit: 2, affix: "prepend", createdAt: made[1].createdAt })), ["s3", "s4", "s5", "s6", "s7"]);

    // Leaving the loop early stops fetching.
    f.attempts.length = 0;
    for await (const s of c.servers.all({ limit: 2 })) if (s.slug === "s6") break;
    assert.equal(f.attempts.length, 1);
  });
});

describe("agents", () => {
  test("create, get, list, update, attach, detach, enabled items, delete", async () => {
    const { c } = fresh();
    await c.servers.create({ name: "Weather Server", slug: "weather", url: "https://w.example.com/mcp", description: "Forecasts" });
    await c.servers.create({ name: "Git", slug: "git", url: "https://g.example.com/mcp" });

    const a = await c.agents.create({ uid: "support", name: "Support Agent", instruction: "Be helpful", mcpServers: ["git"] });
    assert.equal(a.uid, "support");
    assert.deepEqual(a.mcpServers, ["git"]);
    assert.equal(a.formattedInstruction, "Be helpful");
    assert.equal(a.lastMessageAt, null);
    const tag = etagOf(a);
    assert.ok(tag);
    const generated = await c.agents.create({ name: "No uid" });
    assert.ok(generated.uid.length > 0);

    assert.deepEqual(await c.agents.get("support"), a);
    assert.equal(await c.agents.get("support", { ifNoneMatch: tag }), null);
    assert.deepEqual(
      (await c.agents.list()).data.map((x) => x.uid),
      [generated.uid, "support"],
    );

    await new Promise((r) => setTimeout(r, 2));
    const attached = await c.agents.attach("support", ["weather", "git"]);
    assert.deepEqual(attached.mcpServers, ["git", "weather"]);
    assert.ok(etagOf(attached), "mcp/add answers with the agent's ETag");
    assert.notEqual(etagOf(attached), tag);
    await rejectsApi(() => c.agents.update("support", { name: "Stale" }, { ifMatch: tag }), { status: 412, code: "ERR_PRECONDITION_FAILED" });

    const items = await c.agents.enabledItems("support");
    assert.deepEqual(
      items.mcpServers.map((m) => [m.slug, m.name, m.url]),
      [
        ["git", "Git", "https://g.example.com/mcp"],
        ["weather", "Weather Server", "https://w.example.com/mcp"],
      ],
    );
    assert.deepEqual(items.tools, []);
    assert.deepEqual((await c.agents.enabledItems("support", { key: "FORECAST" })).mcpServers.map((m) => m.slug), ["weather"]);
    assert.deepEqual((await c.agents.enabledItems("support", { mcpServers: false })).mcpServers, []);

    const detached = await c.agents.detach("support", ["git", "not-attached"]);
    assert.deepEqual(detached.mcpServers, ["weather"]);

    const u = await c.agents.update("support", { description: "Answers questions", isActive: false }, { ifMatch: etagOf(detached) });
    assert.equal(u.description, "Answers questions");
    assert.equal(u.isActive, false);
    assert.deepEqual(u.gateway, { toolNames: "prefixed", pinning: "enforce" }, "tool names are prefixed and definitions pinned by default");
    const orig = await c.agents.update("support", { gateway: { toolNames: "original" } });
    assert.equal(orig.gateway.toolNames, "original");
    assert.equal((await c.agents.update("support", { gateway: {} })).gateway.toolNames, "original", "an omitted setting keeps its value");
    await rejectsApi(() => c.agents.update("support", { gateway: { toolNames: "short" } }), { status: 400, code: "ERR_VALIDATION" });

    const unknown = await rejectsApi(() => c.agents.attach("support", ["weather", "nope"]), { status: 400, code: "ERR_MCP_SERVER_NOT_FOUND" });
    assert.deepEqual(
      unknown.details.map((d) => d.field),
      ["mcps.1"],
    );
    await rejectsApi(() => c.agents.create({ uid: "support", name: "Again" }), { status: 409, code: "ERR_AGENT_ALREADY_EXISTS" });
    await rejectsApi(() => c.agents.attach("ghost", ["weather"]), { status: 404, code: "ERR_AGENT_NOT_FOUND" });

    await rejectsApi(() => c.agents.delete("support", { ifMatch: tag }), { status: 412 });
    await c.agents.delete("support");
    await rejectsApi(() => c.agents.get("support"), { status: 404, code: "ERR_AGENT_NOT_FOUND" });
    await rejectsApi(() => c.agents.enabledItems("support"), { status: 404, code: "ERR_AGENT_NOT_FOUND" });
  });

  test("agent keys: minted with the secret once, listed without it, revoked; the gateway takes it until then", async () => {
    const { c } = fresh();
    await c.agents.create({ uid: "bot", name: "Bot" });
    const made = await c.agents.createKey("bot", { name: "runtime" });
    assert.equal(made.key.agentUid, "bot");
    assert.equal(made.key.name, "runtime");
    assert.equal(made.key.revokedAt, 0);
    assert.ok(made.secret.startsWith(made.key.prefix), "the prefix is the secret's start");
    const unnamed = await c.agents.createKey("bot");
    assert.equal(unnamed.key.name, "");

    const keys = await c.agents.listKeys("bot");
    assert.deepEqual(keys.map((k) => k.id), [made.key.id, unnamed.key.id], "oldest first");
    assert.ok(!JSON.stringify(keys).includes(made.secret), "no secret in the list");

    const gateway = (key) =>
      fetch(`${srv.url}/ai-agents/agent-builder/agents/bot/mcp`, {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }),
      });
    assert.equal((await gateway(made.secret)).status, 200);
    // An agent key is for the gateway only.
    await rejectsApi(() => createClient({ baseUrl: srv.url, apiKey: made.secret }).agents.get("bot"), { status: 403, code: "AUTH_ERR_NO_ACCESS" });

    await c.agents.revokeKey("bot", made.key.id);
    await c.agents.revokeKey("bot", made.key.id); // again: still fine
    const after = await c.agents.listKeys("bot");
    assert.ok(after.find((k) => k.id === made.key.id).revokedAt > 0);
    assert.equal(after.find((k) => k.id === unnamed.key.id).revokedAt, 0);
    await rejectsApi(() => c.agents.revokeKey("bot", "key_000000000000"), { status: 404, code: "ERR_KEY_NOT_FOUND" });
    await rejectsApi(() => c.agents.createKey("ghost"), { status: 404, code: "ERR_AGENT_NOT_FOUND" });
  });

  test("tool policy: allow-lists and renames on the gateway, changes listed, a stale hash refused", async () => {
    const { c } = fresh();
    await c.servers.create({ name: "Web", slug: "web", url: "https://mcp.example.com/mcp" });
    const a = await c.agents.create({ uid: "pol", name: "Policy", mcpServers: ["web"] });
    assert.equal(a.gateway.pinning, "enforce", "new agents pin with enforce");
    const u = await c.agents.update("pol", { gateway: { pinning: "warn", servers: { web: { allow: ["search"], rename: { search: "find" } } } } });
    assert.equal(u.gateway.pinning, "warn");
    assert.deepEqual(u.gateway.servers, { web: { allow: ["search"], rename: { search: "find" } } });
    await rejectsApi(() => c.agents.update("pol", { gateway: { servers: { ghost: { allow: [] } } } }), { status: 400, code: "ERR_VALIDATION" });
    assert.deepEqual(await c.agents.listToolChanges("pol"), []);
    await rejectsApi(() => c.agents.decideToolChange("pol", "0".repeat(64), "approve"), { status: 409, code: "ERR_TOOL_CHANGE_STALE" });
    await rejectsApi(() => c.agents.listToolChanges("ghost"), { status: 404, code: "ERR_AGENT_NOT_FOUND" });
  });

  test("MCP server credentials: write-only auth on create and update, shown as type and header names", async () => {
    const { c } = fresh();
    const token = "tok-never-shown-5b1e";
    const s = await c.servers.create({ name: "Secure", slug: "secure", url: "https://s.example.com/mcp", auth: { type: "bearer", token } });
    assert.deepEqual(s.auth, { type: "bearer", configured: true, headerNames: ["Authorization"] });
    const u = await c.servers.update("secure", { auth: { type: "headers", headers: { "X-Api-Key": "k-1", "X-Tenant": "t" } } });
    assert.deepEqual(u.auth, { type: "headers", configured: true, headerNames: ["X-Api-Key", "X-Tenant"] });
    const kept = await c.servers.update("secure", { description: "kept" });
    assert.deepEqual(kept.auth, u.auth, "omitted auth keeps what is stored");
    assert.ok(!JSON.stringify([s, u, kept, await c.servers.get("secure")]).includes(token));
    const bad = await rejectsApi(() => c.servers.update("secure", { auth: { type: "bearer" } }), { status: 400, code: "ERR_VALIDATION" });
    assert.ok(bad.details.some((d) => d.field.startsWith("auth")), JSON.stringify(bad.details));
    const none = await c.servers.update("secure", { auth: { type: "none" } });
    assert.equal(none.auth, undefined);
  });

  test("all() over pages, both ways", async () => {
    const { c } = fresh();
    const made = [];
    for (let i = 1; i <= 5; i++) made.push(await c.agents.create({ uid: `a${i}`, name: `A${i}` }));
    const uids = async (it) => {
      const out = [];
      for await (const a of it) out.push(a.uid);
      return out;
    };
    assert.deepEqual(await uids(c.agents.all({ limit: 2 })), ["a5", "a4", "a3", "a2", "a1"]);
    assert.deepEqual(await uids(c.agents.all({ limit: 2, affix: "prepend", createdAt: made[0].createdAt })), ["a2", "a3", "a4", "a5"]);
  });
});

test("audit events: list, filters, all() across pages", async () => {
  const { c } = fresh();
  await c.servers.create({ name: "W", slug: "w", url: "https://w.example.com/mcp" });
  await c.servers.update("w", { name: "W2" });
  await c.agents.create({ uid: "ag", name: "Agent" });
  await c.agents.attach("ag", ["w"]);
  await c.servers.delete("w");

  const page = await c.audit.list({ limit: 2 });
  assert.deepEqual(
    page.data.map((e) => e.action),
    ["mcp_server.delete", "agent.mcp_add"],
  );
  assert.equal(page.meta.next.before, page.data[1].id);

  const all = [];
  for await (const e of c.audit.all({ limit: 2 })) all.push(e);
  // The app's key was created by `apps create`, before the server; the CLI's writes are audited too.
  const writes = all.filter((e) => e.keyId !== "");
  assert.deepEqual(
    writes.map((e) => e.action),
    ["mcp_server.delete", "agent.mcp_add", "agent.create", "mcp_server.update", "mcp_server.create"],
  );
  assert.ok(all.every((e, i) => i === 0 || e.id < all[i - 1].id), "newest first");
  const upd = writes[3];
  assert.equal(upd.before.name, "W");
  assert.equal(upd.after.name, "W2");
  assert.equal(writes[4].before, null, "a create has no before");

  const w = [];
  for await (const e of c.audit.all({ target: "mcp_server:w" })) w.push(e.action);
  assert.deepEqual(w, ["mcp_server.delete", "mcp_server.update", "mcp_server.create"]);
  assert.deepEqual(
    (await c.audit.list({ action: "agent.create" })).data.map((e) => e.target),
    ["agent:ag"],
  );
  await rejectsApi(() => c.audit.list({ before: 0 }), { status: 400, code: "ERR_VALIDATION" });
});

describe("errors from the API", () => {
  test("400 with every problem in details", async () => {
    const { c } = fresh();
    const e = await rejectsApi(() => c.servers.create({ name: "", slug: "Bad Slug", url: "ftp://x" }), { status: 400, code: "ERR_VALIDATION" });
    assert.deepEqual(e.details.map((d) => d.field).sort(), ["name", "slug", "url"]);
    assert.ok(e.details.every((d) => d.message.length > 0));
    assert.match(e.message, /^Validation failed/);
    assert.ok(e.requestId, "the request id is kept");
    await rejectsApi(() => c.servers.list({ limit: 101 }), { status: 400, code: "ERR_VALIDATION" });
  });

  test("401 without a key and with an unknown one; 403 for an authOnly key", async () => {
    const { app } = fresh();
    await rejectsApi(() => createClient({ baseUrl: srv.url }).servers.list(), { status: 401, code: "AUTH_ERR_EMPTY_APIKEY" });
    await rejectsApi(() => createClient({ baseUrl: srv.url, apiKey: "amk_nope" }).servers.list(), { status: 401, code: "AUTH_ERR_APIKEY_NOT_FOUND" });
    const authOnly = srv.newKey(app, "authOnly");
    const e = await rejectsApi(() => createClient({ baseUrl: srv.url, apiKey: authOnly }).servers.get("x"), { status: 403, code: "AUTH_ERR_NO_ACCESS" });
    assert.ok(!e.message.includes(authOnly), "the key is not in the error");
  });

  test("409, 413 and 422", async () => {
    const { c } = fresh();
    await c.servers.create({ name: "W", slug: "w", url: "https://w.example.com/mcp" });
    await rejectsApi(() => c.servers.create({ name: "W", slug: "w", url: "https://w.example.com/mcp" }), { status: 409, code: "ERR_SLUG_ALREADY_EXISTS" });
    await rejectsApi(() => c.servers.create({ name: "Big", slug: "big", url: "https://b.example.com/mcp", description: "x".repeat(1100 << 10) }), {
      status: 413,
      code: "ERR_PAYLOAD_TOO_LARGE",
    });
    await c.servers.create({ name: "K", slug: "k", url: "https://k.example.com/mcp" }, { idempotencyKey: "key-1" });
    await rejectsApi(() => c.servers.create({ name: "K", slug: "k2", url: "https://k.example.com/mcp" }, { idempotencyKey: "key-1" }), {
      status: 422,
      code: "ERR_IDEMPOTENCY_KEY_REUSED",
    });
  });

  test("429 with Retry-After: thrown when retries are off, waited for and retried on a GET", async () => {
    const limited = await startAgentMcp(["--rate-limit=1", "--rate-burst=1"]);
    try {
      const key = limited.firstKey;
      const noRetry = createClient({ baseUrl: limited.url, apiKey: key, retry: false });
      // Empties the app's bucket (burst 1, one token a second): the next request is over the limit.
      const exhaust = async () => {
        for (let i = 0; i < 10; i++) {
          try {
            await noRetry.servers.list();
          } catch (e) {
            if (e instanceof AgentMcpError && e.status === 429) return e;
            throw e;
          }
        }
        assert.fail("no 429 in 10 requests");
      };
      const e = await exhaust();
      assert.equal(e.code, "ERR_RATE_LIMITED");
      assert.ok(e.retryAfterMs >= 1000, `retryAfterMs ${e.retryAfterMs}`);

      // A create without an Idempotency-Key is never retried, even on 429.
      const f1 = countingFetch();
      const c1 = createClient({ baseUrl: limited.url, apiKey: key, fetch: f1 });
      await exhaust();
      await rejectsApi(() => c1.servers.create({ name: "W", slug: "w", url: "https://w.example.com/mcp" }), { status: 429 });
      assert.equal(f1.attempts.length, 1);

      const f = countingFetch();
      const c = createClient({ baseUrl: limited.url, apiKey: key, fetch: f });
      await exhaust();
      const page = await c.servers.list();
      assert.deepEqual(page.data, []);
      assert.ok(f.attempts.length >= 2, "retried");
      const waited = f.attempts[1].at - f.attempts[0].at;
      assert.ok(waited >= 900, `waited ${waited} ms, Retry-After says at least 1 s`);
    } finally {
      await limited.stop();
    }
  });
});

describe("transport", () => {
  test("idempotent create retried after a lost response makes one record", async () => {
    let drop = 0;
    const f = countingFetch(async (r) => {
      const res = await fetch(r);
      if (drop-- > 0) throw new TypeError("simulated: connection reset after the server answered");
      return res;
    });
    const { c, key } = fresh({ fetch: f, retry: { minDelayMs: 1 } });
    drop = 1;
    const s = await c.servers.create({ name: "W", slug: "w", url: "https://w.example.com/mcp" }, { idempotencyKey: "create-w" });
    assert.equal(f.attempts.length, 2);
    assert.equal(f.attempts[1].headers["idempotency-key"], "create-w");
    assert.equal(responseOf(s).headers.get("Idempotency-Replayed"), "true");
    const again = createClient({ baseUrl: srv.url, apiKey: key });
    assert.deepEqual(
      (await again.servers.list()).data.map((x) => x.slug),
      ["w"],
    );
    const creates = (await again.audit.list({ action: "mcp_server.create" })).data;
    assert.equal(creates.length, 1, "one write");

    drop = 1;
    f.attempts.length = 0;
    const a = await c.agents.create({ uid: "ag", name: "A" }, { idempotencyKey: "create-ag" });
    assert.equal(f.attempts.length, 2);
    assert.equal(a.uid, "ag");
    assert.equal((await again.agents.list()).data.length, 1);

    // Without a key the create is not retried: the caller sees the failure, although the
    // server wrote the record (a blind retry would have met 409).
    drop = 1;
    f.attempts.length = 0;
    await assert.rejects(() => c.servers.create({ name: "X", slug: "x", url: "https://x.example.com/mcp" }), AgentMcpNetworkError);
    assert.equal(f.attempts.length, 1);
    assert.equal((await again.servers.get("x")).slug, "x");
  });

  test("network failure on a closed port: a distinct error, GETs retried, unsafe writes not", async () => {
    const port = await freePort();
    const f = countingFetch();
    const c = createClient({ baseUrl: `http://127.0.0.1:${port}/v3`, apiKey: "amk_x", fetch: f, retry: { retries: 2, minDelayMs: 1 } });
    let err;
    await assert.rejects(
      () => c.servers.list(),
      (e) => (err = e) instanceof AgentMcpNetworkError,
    );
    assert.ok(!(err instanceof AgentMcpError));
    assert.equal(err.timedOut, false);
    assert.equal(err.method, "GET");
    assert.match(err.message, /ECONNREFUSED/);
    assert.ok(err.cause);
    assert.equal(f.attempts.length, 3, "the first try and two retries");

    f.attempts.length = 0;
    await assert.rejects(() => c.servers.update("w", { name: "W" }), AgentMcpNetworkError);
    await assert.rejects(() => c.servers.delete("w"), AgentMcpNetworkError);
    await assert.rejects(() => c.agents.attach("a", ["w"]), AgentMcpNetworkError);
    await assert.rejects(() => c.servers.probe("w"), AgentMcpNetworkError);
    assert.equal(f.attempts.length, 4, "no write retried");
  });

  test("5xx on a GET is retried; the last answer is thrown", async () => {
    let n = 0;
    const h = await startHttp((req, res) => {
      n++;
      res.writeHead(503, { "Content-Type": "application/json", "Retry-After": "0" });
      res.end(JSON.stringify({ statusCode: 503, error: "Service Unavailable", code: "ERR_UNAVAILABLE", message: "The store is unavailable; try again." }));
    });
    try {
      const c = createClient({ baseUrl: h.url, apiKey: "k", retry: { retries: 3, minDelayMs: 1 } });
      await rejectsApi(() => c.servers.get("w"), { status: 503, code: "ERR_UNAVAILABLE", retryAfterMs: 0 });
      assert.equal(n, 4);
    } finally {
      await h.close();
    }
  });

  test("time limit, abort, oversized and non-JSON answers", async () => {
    const h = await startHttp((req, res) => {
      if (req.url.endsWith("/hang")) return; // never answers
      if (req.url.endsWith("/big")) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ name: "x".repeat(5000) }));
        return;
      }
      res.writeHead(502, { "Content-Type": "text/html" });
      res.end("<html>Bad gateway</html>");
    });
    try {
      const f = countingFetch();
      const c = createClient({ baseUrl: h.url, apiKey: "k", fetch: f, timeoutMs: 100, maxResponseBytes: 1000, retry: { retries: 1, minDelayMs: 1 } });
      let err;
      await assert.rejects(
        () => c.servers.get("hang"),
        (e) => (err = e) instanceof AgentMcpNetworkError,
      );
      assert.equal(err.timedOut, true);
      assert.equal(f.attempts.length, 2, "a timed-out GET is retried");

      // A roomy time limit from here: on a loaded machine 100 ms can pass before an answer.
      const f2 = countingFetch();
      const c2 = createClient({ baseUrl: h.url, apiKey: "k", fetch: f2, timeoutMs: 10000, maxResponseBytes: 1000, retry: { retries: 1, minDelayMs: 1 } });
      await assert.rejects(() => c2.servers.get("big"), /larger than 1000 bytes/);
      assert.equal(f2.attempts.length, 1, "an oversized answer is not retried");

      const e = await rejectsApi(() => c2.servers.get("gateway"), { status: 502, code: "", details: [] });
      assert.match(e.message, /^HTTP 502: <html>Bad gateway/);

      const ctl = new AbortController();
      const slow = createClient({ baseUrl: h.url, apiKey: "k", timeoutMs: 0 });
      setTimeout(() => ctl.abort(), 50);
      await assert.rejects(() => slow.servers.get("hang", { signal: ctl.signal }), { name: "AbortError" });
    } finally {
      await h.close();
    }
  });

  test("the key from a function, extra headers, raw calls through unwrap", async () => {
    const { key } = fresh();
    const storage = new Map([["agentmcp.key", key]]); // as the console keeps it in sessionStorage
    const f = countingFetch();
    const c = createClient({ baseUrl: srv.url + "/", apiKey: () => storage.get("agentmcp.key"), headers: { "X-Request-Id": "ts-client-test" }, fetch: f });
    await c.servers.create({ name: "W", slug: "w", url: "https://w.example.com/mcp" });
    assert.equal(f.attempts[0].headers.apikey, key);
    assert.equal(f.attempts[0].headers["content-type"], "application/json");
    const e = await rejectsApi(() => c.servers.get("nope", { headers: { "X-Request-Id": "per-call" } }), { status: 404 });
    assert.equal(e.requestId, "per-call");

    const s = await unwrap(c.raw.GET("/ai-agents/agent-builder/mcp-servers/{slug}", { params: { path: { slug: "w" } } }));
    assert.equal(s.slug, "w");
    assert.ok(etagOf(s));
    await rejectsApi(() => unwrap(c.raw.GET("/ai-agents/agent-builder/mcp-servers/{slug}", { params: { path: { slug: "nope" } } })), {
      status: 404,
      code: "ERR_MCP_SERVER_NOT_FOUND",
      requestId: "ts-client-test",
    });

    storage.delete("agentmcp.key");
    await rejectsApi(() => c.servers.list(), { status: 401, code: "AUTH_ERR_EMPTY_APIKEY" });
  });
});
