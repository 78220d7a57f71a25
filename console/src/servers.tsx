import { useEffect, useRef, useState } from "preact/hooks";
import { etagOf, type McpServer, type McpServerAuthInput, type PageCursor, type ProbeResult } from "@agentmcp/client";
import { api, fieldErrors, isNotFound, type FieldErrors } from "./api";
import { href, navigate, parse } from "./router";
import { Button, Confirm, ErrorBox, Field, Flash, HealthBadge, Json, Loading, PageTitle, Time, flash, healthText, toolsCell, useAction, useLoad } from "./ui";

const pageSize = 20;
// While a search is on, pages are read this many rows at a time until a screenful matches.
const searchPageSize = 100;

type Health = "" | "ok" | "failing" | "unknown";

const matches = (s: McpServer, q: string) => !q || s.name.toLowerCase().includes(q) || s.slug.toLowerCase().includes(q);

export function ServersPage({ query }: { query: URLSearchParams }) {
  const [health, setHealth] = useState<Health>((query.get("health") as Health) || "");
  const [search, setSearch] = useState(query.get("q") ?? "");
  const [rows, setRows] = useState<McpServer[]>([]);
  const [next, setNext] = useState<PageCursor | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const run = useRef(0);
  const q = search.trim().toLowerCase();

  // load reads pages after `from` (or the first) until `want` more rows match the search, or
  // there are none left; a newer call (filter changed) makes an older one stop.
  const load = async (from: PageCursor | undefined, base: McpServer[], want: number) => {
    const me = ++run.current;
    setLoading(true);
    setError(undefined);
    let all = base;
    let cursor = from;
    let first = !from;
    try {
      for (let found = 0; found < want && (first || cursor); ) {
        const page = await api.servers.list({ limit: q ? searchPageSize : pageSize, health: health || undefined, ...(cursor ?? {}) });
        if (me !== run.current) return;
        first = false;
        all = [...all, ...page.data];
        found += page.data.filter((s) => matches(s, q)).length;
        cursor = page.data.length ? page.meta.next : undefined;
        setRows(all);
        setNext(cursor);
      }
    } catch (e) {
      if (me === run.current) setError(e);
    } finally {
      if (me === run.current) setLoading(false);
    }
  };

  useEffect(() => {
    // Only while the list is still the page: a person may have moved on before this ran.
    const here = parse(location.hash).parts;
    if (here.length === 0 || (here.length === 1 && here[0] === "servers"))
      history.replaceState(null, "", href(["servers"], { health, q: search || undefined }));
    const t = setTimeout(() => load(undefined, [], pageSize), q ? 250 : 0);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [health, q]);

  const shown = rows.filter((s) => matches(s, q));
  return (
    <>
      <div class="title-row">
        <PageTitle title="MCP servers">MCP servers</PageTitle>
        <a class="btn btn-primary" href={href(["servers", "new"])}>
          New MCP server
        </a>
      </div>
      <Flash />
      <form class="filters" role="search" aria-label="Filter MCP servers" onSubmit={(e) => e.preventDefault()}>
        <Field label="Search by name or slug" name="q" type="search" value={search} onInput={setSearch} />
        <div class="field">
          <label for="health">Health</label>
          <select id="health" value={health} onChange={(e) => setHealth(e.currentTarget.value as Health)}>
            <option value="">Any</option>
            <option value="ok">Healthy</option>
            <option value="failing">Failing</option>
            <option value="unknown">Not probed</option>
          </select>
        </div>
      </form>
      <ErrorBox error={error} />
      <table class="list compact">
        <caption class="sr-only">MCP servers{health ? `, ${health === "unknown" ? "not probed" : health}` : ""}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Slug</th>
            <th scope="col">URL</th>
            <th scope="col">Health</th>
            <th scope="col">Tools</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((s) => (
            <tr key={s.slug}>
              <td data-label="Name">
                <a href={href(["servers", s.slug])}>{s.name}</a>
              </td>
              <td data-label="Slug">
                <code>{s.slug}</code>
              </td>
              <td data-label="URL" class="url">
                {s.url}
              </td>
              <td data-label="Health" class="c-health">
                <HealthBadge health={s.health} />
              </td>
              <td data-label="Tools" class="c-tools">
                {toolsCell(s.health)}
              </td>
              <td data-label="Updated" class="c-updated">
                <Time ms={s.updatedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="count" role="status">
        {loading
          ? ""
          : shown.length === 0
            ? q || health
              ? "No MCP server matches."
              : "No MCP servers yet. Register one with “New MCP server”."
            : `${shown.length} ${shown.length === 1 ? "server" : "servers"} shown${next ? "; older ones not loaded yet" : ""}.`}
      </p>
      {loading && <Loading label={q ? "Searching…" : "Loading MCP servers…"} />}
      {!loading && next && (
        <Button onClick={() => load(next, rows, pageSize)}>Load more</Button>
      )}
      <RegistrySwitch />
    </>
  );
}

/** The app's read-only MCP Registry view for editors: its state, a switch, and its URL. */
function RegistrySwitch() {
  const reg = useLoad((signal) => api.registry.get({ signal }), []);
  const toggle = useAction(async () => reg.set(await api.registry.set(!reg.data!.enabled)));
  if (!reg.data) return <ErrorBox error={reg.error} title="The registry's state did not load." />;
  const url = `${location.origin}${reg.data.path}`;
  return (
    <section aria-labelledby="registry-h" class="registry">
      <h2 id="registry-h">Registry for editors</h2>
      <p>
        {reg.data.enabled ? (
          <>
            On: VS Code and other editors can browse and install these servers and the agents' gateways from <code class="url">{url}</code> (no key;
            never a secret). In VS Code: <code>"chat.mcp.gallery.serviceUrl": "{url}"</code>.
          </>
        ) : (
          <>Off: no registry at {url}. Turn it on to let editors browse these servers and the agents' gateways (read-only, no key, never a secret).</>
        )}
      </p>
      <ErrorBox error={toggle.error} title="The registry did not change." />
      <Button busy={toggle.busy} busyLabel="Saving…" onClick={() => toggle.run()}>
        {reg.data.enabled ? "Turn the registry off" : "Turn the registry on"}
      </Button>
    </section>
  );
}

type AuthMode = "keep" | "none" | "bearer" | "headers";
interface HeaderRow {
  id: number;
  name: string;
  value: string;
}

const serverFields = ["name", "slug", "url", "description", "icon", "auth"];

/** Create (no slug) or edit an MCP server. Credentials are write-only: never read back, only replaced. */
export function ServerForm({ slug }: { slug?: string }) {
  const existing = useLoad((signal) => (slug !== undefined ? api.servers.get(slug, { signal }) : Promise.resolve(undefined)), [slug]);
  if (slug === undefined) return <ServerFormBody />;
  if (existing.error) return <LoadFailed error={existing.error} what="MCP server" />;
  if (!existing.data) return <Loading />;
  return <ServerFormBody s={existing.data} />;
}

// The form starts from the record it edits (so nothing typed is overwritten when it loads).
function ServerFormBody({ s }: { s?: McpServer }) {
  const editing = s !== undefined;
  const slug = s?.slug ?? "";
  const [v, setV] = useState({ name: s?.name ?? "", slug, url: s?.url ?? "", description: s?.description ?? "", icon: s?.icon ?? "" });
  const [mode, setMode] = useState<AuthMode>(s?.auth ? "keep" : "none");
  const [token, setToken] = useState("");
  const [headers, setHeaders] = useState<HeaderRow[]>([{ id: 1, name: "", value: "" }]);
  const [errs, setErrs] = useState<FieldErrors>({ fields: {}, other: [] });
  const formRef = useRef<HTMLFormElement>(null);

  const save = useAction(async () => {
    setErrs({ fields: {}, other: [] });
    let auth: McpServerAuthInput | undefined;
    if (mode === "bearer") auth = { type: "bearer", token };
    else if (mode === "headers")
      auth = { type: "headers", headers: Object.fromEntries(headers.filter((h) => h.name || h.value).map((h) => [h.name, h.value])) };
    else if (mode === "none" && (!editing || s?.auth)) auth = editing ? { type: "none" } : undefined;
    try {
      let saved: McpServer;
      if (editing) {
        saved = await api.servers.update(
          slug,
          { name: v.name, url: v.url, description: v.description, icon: v.icon, ...(auth ? { auth } : {}) },
          { ifMatch: s ? etagOf(s) : undefined },
        );
      } else {
        saved = await api.servers.create({
          name: v.name,
          slug: v.slug,
          url: v.url,
          ...(v.description ? { description: v.description } : {}),
          ...(v.icon ? { icon: v.icon } : {}),
          ...(auth ? { auth } : {}),
        });
      }
      // The secret leaves the page's memory with the form.
      setToken("");
      setHeaders([{ id: 1, name: "", value: "" }]);
      flash(editing ? `Saved ${saved.name}.` : `Registered ${saved.name}. Probe it to list its tools.`);
      navigate(href(["servers", saved.slug]));
    } catch (e) {
      const fe = fieldErrors(e, serverFields);
      setErrs(fe);
      requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus());
      throw e;
    }
  });

  const set = (k: keyof typeof v) => (x: string) => setV((old) => ({ ...old, [k]: x }));
  const title = editing ? `Edit ${s.name}` : "New MCP server";
  const authError = errs.fields.auth;
  return (
    <>
      <PageTitle title={title}>{title}</PageTitle>
      <form ref={formRef} class="form" noValidate onSubmit={(e) => (e.preventDefault(), save.run())}>
        <Field label="Name" name="name" value={v.name} onInput={set("name")} error={errs.fields.name} required hint="Shown to people; up to 100 characters." />
        {editing ? (
          <Field label="Slug" name="slug" value={v.slug} onInput={() => {}} readOnly hint="The slug cannot be changed." />
        ) : (
          <Field
            label="Slug"
            name="slug"
            value={v.slug}
            onInput={set("slug")}
            error={errs.fields.slug}
            required
            hint="Its identifier in URLs and tool names: lower-case letters, digits, - and _, e.g. weather-server."
          />
        )}
        <Field
          label="URL"
          name="url"
          type="url"
          value={v.url}
          onInput={set("url")}
          error={errs.fields.url}
          required
          hint="The server's MCP endpoint (Streamable HTTP, or SSE when it ends in /sse)."
          placeholder="https://mcp.example.com/mcp"
        />
        <Field label="Description" name="description" multiline value={v.description} onInput={set("description")} error={errs.fields.description} spellcheck />
        <Field label="Icon URL" name="icon" type="url" value={v.icon} onInput={set("icon")} error={errs.fields.icon} hint="Optional; an absolute http(s) URL." />

        <fieldset class={`creds${authError ? " invalid" : ""}`} aria-describedby={authError ? "auth-err" : "auth-hint"}>
          <legend>Credentials</legend>
          <p class="hint" id="auth-hint">
            What agentmcp sends to this server on probes and tool calls. Stored encrypted and never shown again, not even here.
            {editing && s?.auth && (
              <>
                {" "}
                Stored now: <AuthSummary auth={s.auth} />.
              </>
            )}
          </p>
          <div class="radios">
            {editing && s?.auth && <Radio name="auth" value="keep" mode={mode} setMode={setMode} label="Keep the stored credentials" />}
            <Radio name="auth" value="none" mode={mode} setMode={setMode} label={editing && s?.auth ? "None (remove the stored ones)" : "None"} />
            <Radio name="auth" value="bearer" mode={mode} setMode={setMode} label="Bearer token (Authorization: Bearer …)" />
            <Radio name="auth" value="headers" mode={mode} setMode={setMode} label="Custom headers (e.g. X-Api-Key)" />
          </div>
          {mode === "bearer" && <Field label="Token" name="token" type="password" value={token} onInput={setToken} autoComplete="new-password" />}
          {mode === "headers" && (
            <div class="header-rows">
              {headers.map((h, i) => (
                <div class="header-row" key={h.id}>
                  <Field
                    label={`Header ${i + 1} name`}
                    name={`hname${h.id}`}
                    value={h.name}
                    placeholder="X-Api-Key"
                    onInput={(x) => setHeaders((rows) => rows.map((r) => (r.id === h.id ? { ...r, name: x } : r)))}
                  />
                  <Field
                    label={`Header ${i + 1} value`}
                    name={`hvalue${h.id}`}
                    type="password"
                    autoComplete="new-password"
                    value={h.value}
                    onInput={(x) => setHeaders((rows) => rows.map((r) => (r.id === h.id ? { ...r, value: x } : r)))}
                  />
                  <Button small aria-label={`Remove header ${i + 1}`} onClick={() => setHeaders((rows) => rows.filter((r) => r.id !== h.id))}>
                    Remove
                  </Button>
                </div>
              ))}
              <Button onClick={() => setHeaders((rows) => [...rows, { id: Math.max(0, ...rows.map((r) => r.id)) + 1, name: "", value: "" }])}>Add header</Button>
            </div>
          )}
          {authError && (
            <div class="field-error" id="auth-err">
              {authError}
            </div>
          )}
        </fieldset>

        {errs.other.length > 0 && (
          <ul class="error-box" aria-label="Other problems">
            {errs.other.map((o) => (
              <li key={o}>{o}</li>
            ))}
          </ul>
        )}
        <ErrorBox error={save.error} title={editing ? "Not saved." : "Not registered."} />
        <div class="actions">
          <Button type="submit" variant="primary" busy={save.busy} busyLabel="Saving…">
            {editing ? "Save changes" : "Register MCP server"}
          </Button>
          <a class="btn btn-plain" href={editing ? href(["servers", slug]) : href(["servers"])}>
            Cancel
          </a>
        </div>
      </form>
    </>
  );
}

function Radio(p: { name: string; value: AuthMode; mode: AuthMode; setMode: (m: AuthMode) => void; label: string }) {
  const id = `r-${p.name}-${p.value}`;
  return (
    <div class="radio">
      <input type="radio" id={id} name={p.name} value={p.value} checked={p.mode === p.value} onChange={() => p.setMode(p.value)} />
      <label for={id}>{p.label}</label>
    </div>
  );
}

function AuthSummary({ auth }: { auth: NonNullable<McpServer["auth"]> }) {
  if (auth.type === "oauth") {
    return (
      <span class="oauth-state">
        OAuth ({auth.grant === "client_credentials" ? "client credentials" : "a person's approval"}
        {auth.clientId && (
          <>
            , client <code>{auth.clientId}</code>
          </>
        )}
        ): <strong>{auth.connected ? "connected" : "not connected"}</strong>
        {auth.connected && auth.expiresAt && (
          <>
            , token until <Time ms={auth.expiresAt} />
          </>
        )}
        {auth.problem && <> — {auth.problem}</>}
        {auth.stepUpScopes && auth.stepUpScopes.length > 0 && <> — the server asks for more scopes: {auth.stepUpScopes.join(" ")}; reconnect</>}
      </span>
    );
  }
  return auth.type === "bearer" ? (
    <span>a bearer token (sent as Authorization)</span>
  ) : (
    <span>
      headers {auth.headerNames.map((h, i) => [i > 0 && ", ", <code key={h}>{h}</code>])}
    </span>
  );
}

export function LoadFailed({ error, what }: { error: unknown; what: string }) {
  return (
    <>
      <PageTitle title={isNotFound(error) ? "Not found" : "Failed"}>{isNotFound(error) ? `No such ${what}` : `The ${what} did not load`}</PageTitle>
      <ErrorBox error={error} />
      <p>
        <a href={what === "agent" ? href(["agents"]) : href(["servers"])}>Back to the list</a>
      </p>
    </>
  );
}

const explanations: Record<ProbeResult["status"], string> = {
  ok: "agentmcp connected to it as an MCP client and listed its tools.",
  auth_required:
    "The server wants credentials: it answered 401 Unauthorized. Add them in this server's credentials (Edit → Credentials: a bearer token or custom headers), then probe again.",
  blocked:
    "The address is private (loopback, a private network or link-local), and agentmcp probes only public addresses. For local development, start agentmcp with --probe-allow-private.",
  not_mcp: "Something answered at this URL, but not as an MCP server. Check that the URL is the MCP endpoint itself (it often ends in /mcp or /sse).",
  unreachable: "agentmcp could not connect. Check the URL, and that the server is running and reachable from agentmcp.",
  timeout: "The server did not finish answering in time. It may be overloaded, or the URL may lead somewhere that never answers MCP.",
};

function ProbeOutcome({ p }: { p: ProbeResult }) {
  return (
    <div class={`outcome outcome-${p.status === "ok" ? "ok" : "bad"}`} role="status" aria-live="polite">
      <p>
        <strong>{healthText[p.status]}.</strong> {explanations[p.status]}
      </p>
      {p.status === "auth_required" && p.resourceMetadata && (
        <p>
          It points to OAuth metadata at <code>{p.resourceMetadata}</code>; agentmcp sends static credentials only, so get a token for it and store that as a
          bearer token.
        </p>
      )}
      {p.error && (
        <p>
          Detail: <code>{p.error}</code>
        </p>
      )}
      <dl class="facts">
        <dt>Checked</dt>
        <dd>
          <Time ms={p.checkedAt} /> in {p.latencyMs} ms
        </dd>
        {p.status === "ok" && (
          <>
            <dt>Server</dt>
            <dd>
              {p.serverInfo.name} {p.serverInfo.version}, MCP {p.protocolVersion}
            </dd>
            <dt>Tools</dt>
            <dd>
              {p.toolCount}
              {p.toolsTruncated ? " (more than 1,000; the first 1,000 are kept)" : ""}
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}

/** Why the last probe failed, in its own words (the DNS failure, the refused connection). */
function LastProbe({ slug, status, checkedAt }: { slug: string; status: ProbeResult["status"]; checkedAt: number }) {
  const p = useLoad((signal) => api.servers.lastProbe(slug, { signal }), [slug, checkedAt]);
  return (
    <div class="outcome outcome-bad">
      <p>
        <strong>Last probe: {healthText[status]}.</strong> {explanations[status]}
      </p>
      {p.data?.error && (
        <p>
          Detail: <code>{p.data.error}</code>
        </p>
      )}
    </div>
  );
}

/** Agents that have slug attached, read from every page of agents. */
async function agentsUsing(slug: string, signal: AbortSignal) {
  const out = [];
  for await (const a of api.agents.all({}, { signal })) if (a.mcpServers.includes(slug)) out.push(a);
  return out;
}

export function ServerPage({ slug }: { slug: string }) {
  const server = useLoad((signal) => api.servers.get(slug, { signal }), [slug]);
  // Tools exist only after a probe: a never-probed server's page asks for none (no 404).
  const probed = server.data?.health?.checkedAt;
  const tools = useLoad((signal) => (probed ? api.servers.tools(slug, { signal }) : Promise.resolve(undefined)), [slug, probed]);
  const [probe, setProbe] = useState<ProbeResult | undefined>();
  const [deleting, setDeleting] = useState(false);
  const probing = useAction(async () => {
    const p = await api.servers.probe(slug);
    setProbe(p);
    server.reload(); // a new checkedAt reloads the tools
  });
  // Connect: the authorization server's page opens in a new tab; this page reloads the
  // server until the callback has stored the tokens (an authorization lasts 10 minutes).
  const [waiting, setWaiting] = useState(false);
  // flash() is for the next page: this one says "Connected." in its own live region.
  const [connected, setConnected] = useState(false);
  const connecting = useAction(async () => {
    setConnected(false);
    const tab = window.open("", "_blank");
    const { authorizationUrl } = await api.servers.authorize(slug);
    if (tab) tab.location.href = authorizationUrl;
    else window.location.href = authorizationUrl;
    setWaiting(true);
  });
  useEffect(() => {
    if (!waiting) return;
    const started = Date.now();
    const t = setInterval(() => {
      if (Date.now() - started > 10 * 60 * 1000) setWaiting(false);
      else server.reload();
    }, 2000);
    return () => clearInterval(t);
  }, [waiting]);
  useEffect(() => {
    if (waiting && server.data?.auth?.connected && !server.data.auth.stepUpScopes?.length) {
      setWaiting(false);
      setConnected(true);
    }
  }, [waiting, server.data]);

  if (server.loading && !server.data) return <Loading />;
  if (server.error && !server.data) return <LoadFailed error={server.error} what="MCP server" />;
  const s = server.data!;
  const last = s.health;
  return (
    <>
      <p class="crumbs">
        <a href={href(["servers"])}>MCP servers</a> /
      </p>
      <div class="title-row">
        <PageTitle title={s.name}>{s.name}</PageTitle>
        <div class="actions">
          {s.auth?.type === "oauth" && s.auth.grant === "authorization_code" && (
            <Button variant="primary" busy={connecting.busy || waiting} busyLabel="Waiting for the approval…" onClick={() => connecting.run()}>
              {s.auth.connected || s.auth.problem ? "Reconnect" : "Connect"}
            </Button>
          )}
          <Button variant="primary" busy={probing.busy} busyLabel="Probing…" onClick={() => probing.run()}>
            Probe now
          </Button>
          <a class="btn btn-plain" href={href(["servers", slug, "edit"])}>
            Edit
          </a>
          <Button variant="danger" onClick={() => setDeleting(true)}>
            Delete
          </Button>
        </div>
      </div>
      <Flash />
      {connected && (
        <p class="flash" role="status">
          Connected.
        </p>
      )}
      <ErrorBox error={probing.error} title="The probe did not run." />
      <ErrorBox error={connecting.error} title="The server could not be connected." />
      {probe && <ProbeOutcome p={probe} />}
      {!probe && last && last.status !== "ok" && <LastProbe slug={slug} status={last.status} checkedAt={last.checkedAt} />}
      <dl class="facts">
        <dt>Slug</dt>
        <dd>
          <code>{s.slug}</code>
        </dd>
        <dt>URL</dt>
        <dd class="url">{s.url}</dd>
        {s.description && (
          <>
            <dt>Description</dt>
            <dd>{s.description}</dd>
          </>
        )}
        <dt>Credentials</dt>
        <dd>{s.auth ? <AuthSummary auth={s.auth} /> : "None"}</dd>
        <dt>Health</dt>
        <dd>
          <HealthBadge health={s.health} />
          {s.health && (
            <>
              {" "}
              checked <Time ms={s.health.checkedAt} />
            </>
          )}
        </dd>
        <dt>Created</dt>
        <dd>
          <Time ms={s.createdAt} />
        </dd>
        <dt>Updated</dt>
        <dd>
          <Time ms={s.updatedAt} />
        </dd>
        <dt>Audit</dt>
        <dd>
          <a href={href(["audit"], { target: `mcp_server:${slug}` })}>Changes to this server</a>
        </dd>
      </dl>

      <section aria-labelledby="tools-h">
        <h2 id="tools-h">Tools</h2>
        {!last && <p>Not probed yet: “Probe now” connects to the server and lists its tools.</p>}
        {last && tools.loading && !tools.data && <Loading label="Loading tools…" />}
        {last && tools.error && isNotFound(tools.error) ? (
          <p>No tools listed yet: the server has not answered a probe successfully.</p>
        ) : (
          <ErrorBox error={tools.error} />
        )}
        {tools.data && tools.data.tools.length === 0 && <p>The last probe found no tools.</p>}
        {tools.data && tools.data.tools.length > 0 && (
          <>
            <p class="hint">
              {tools.data.tools.length} {tools.data.tools.length === 1 ? "tool" : "tools"}, as of the probe <Time ms={tools.data.checkedAt} />.
            </p>
            <ul class="tools">
              {tools.data.tools.map((t) => (
                <li key={t.name} class="tool">
                  <h3>
                    <code>{t.name}</code>
                    {t.title && t.title !== t.name && <span class="tool-title"> — {t.title}</span>}
                  </h3>
                  {t.description ? <p>{t.description}</p> : <p class="hint">No description.</p>}
                  {t.inputSchema && (
                    <details>
                      <summary>Input schema of {t.name}</summary>
                      <Json value={t.inputSchema} label={`Input schema of ${t.name}`} />
                    </details>
                  )}
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
      {deleting && <DeleteServer server={s} onClose={() => setDeleting(false)} />}
    </>
  );
}

function DeleteServer({ server, onClose }: { server: McpServer; onClose: () => void }) {
  const using = useLoad((signal) => agentsUsing(server.slug, signal), [server.slug]);
  return (
    <Confirm
      title={`Delete ${server.name}?`}
      confirmLabel="Delete MCP server"
      busyLabel="Deleting…"
      danger
      ready={!using.loading}
      onClose={onClose}
      onConfirm={async () => {
        await api.servers.delete(server.slug);
        flash(`Deleted ${server.name}.`);
        navigate(href(["servers"]));
      }}
    >
      <p>
        This removes <strong>{server.name}</strong> (<code>{server.slug}</code>) and its stored credentials. It cannot be undone.
      </p>
      {using.loading && <Loading label="Finding the agents that use it…" />}
      <ErrorBox error={using.error} title="Could not list the agents that use it." />
      {using.data && using.data.length === 0 && <p>No agent uses it.</p>}
      {using.data && using.data.length > 0 && (
        <>
          <p>
            It will be detached from {using.data.length === 1 ? "this agent" : `these ${using.data.length} agents`}:
          </p>
          <ul class="agents-affected">
            {using.data.map((a) => (
              <li key={a.uid}>
                {a.name} (<code>{a.uid}</code>)
              </li>
            ))}
          </ul>
        </>
      )}
    </Confirm>
  );
}
