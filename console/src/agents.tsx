import { useEffect, useRef, useState } from "preact/hooks";
import { etagOf, type Agent, type AgentKey, type AgentKeyCreated, type EnabledMcpServer, type McpServer, type OAuthGrant, type PageCursor, type Pinning, type ToolNames, type WithheldTool } from "@agentmcp/client";
import { api, fieldErrors, gatewayBase, type FieldErrors } from "./api";
import { href, navigate } from "./router";
import { LoadFailed } from "./servers";
import { ToolChanges, flagText } from "./toolchanges";
import { usualName } from "./policy";
import { ToolPolicyEditor } from "./toolpolicy";
import { Button, CodeBlock, Confirm, CopyButton, ErrorBox, Field, Flash, HealthBadge, Loading, PageTitle, Tabs, Time, flash, toolsCell, useAction, useLoad } from "./ui";

const pageSize = 20;

export function AgentsPage() {
  const [rows, setRows] = useState<Agent[]>([]);
  const [next, setNext] = useState<PageCursor | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const load = async (from?: PageCursor) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await api.agents.list({ limit: pageSize, ...(from ?? {}) });
      setRows((r) => (from ? [...r, ...page.data] : page.data));
      setNext(page.data.length === pageSize ? page.meta.next : undefined);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void load(), []);
  return (
    <>
      <div class="title-row">
        <PageTitle title="Agents">Agents</PageTitle>
        <a class="btn btn-primary" href={href(["agents", "new"])}>
          New agent
        </a>
      </div>
      <Flash />
      <ErrorBox error={error} />
      <table class="list">
        <caption class="sr-only">Agents</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">UID</th>
            <th scope="col">Active</th>
            <th scope="col">MCP servers</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((a) => (
            <tr key={a.uid}>
              <td data-label="Name">
                <a href={href(["agents", a.uid])}>{a.name}</a>
              </td>
              <td data-label="UID">
                <code>{a.uid}</code>
              </td>
              <td data-label="Active">{a.isActive ? "Yes" : "No"}</td>
              <td data-label="MCP servers">{a.mcpServers.length}</td>
              <td data-label="Updated">
                <Time ms={a.updatedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="count" role="status">
        {loading ? "" : rows.length === 0 ? "No agents yet. Make one with “New agent”." : `${rows.length} ${rows.length === 1 ? "agent" : "agents"} shown.`}
      </p>
      {loading && <Loading label="Loading agents…" />}
      {!loading && next && <Button onClick={() => load(next)}>Load more</Button>}
    </>
  );
}

// "gateway" takes gateway.toolNames, and the tool-name conflicts of the servers the agent has.
const agentFields = ["uid", "name", "description", "instruction", "isActive", "gateway.pinning", "gateway"];

export function AgentForm({ uid }: { uid?: string }) {
  const existing = useLoad((signal) => (uid !== undefined ? api.agents.get(uid, { signal }) : Promise.resolve(undefined)), [uid]);
  if (uid === undefined) return <AgentFormBody />;
  if (existing.error) return <LoadFailed error={existing.error} what="agent" />;
  if (!existing.data) return <Loading />;
  return <AgentFormBody a={existing.data} />;
}

function AgentFormBody({ a }: { a?: Agent }) {
  const editing = a !== undefined;
  const uid = a?.uid ?? "";
  const [v, setV] = useState({ uid, name: a?.name ?? "", description: a?.description ?? "", instruction: a?.instruction ?? "" });
  const [active, setActive] = useState(a?.isActive ?? true);
  const [toolNames, setToolNames] = useState<ToolNames>(a?.gateway.toolNames ?? "prefixed");
  const [pinning, setPinning] = useState<Pinning>(a?.gateway.pinning ?? "enforce");
  const [errs, setErrs] = useState<FieldErrors>({ fields: {}, other: [] });
  const formRef = useRef<HTMLFormElement>(null);
  const save = useAction(async () => {
    setErrs({ fields: {}, other: [] });
    try {
      const saved = editing
        ? await api.agents.update(
            uid,
            { name: v.name, description: v.description, instruction: v.instruction, isActive: active, gateway: { toolNames, pinning } },
            { ifMatch: a ? etagOf(a) : undefined },
          )
        : await api.agents.create({
            ...(v.uid ? { uid: v.uid } : {}),
            name: v.name,
            ...(v.description ? { description: v.description } : {}),
            ...(v.instruction ? { instruction: v.instruction } : {}),
            isActive: active,
            gateway: { toolNames, pinning },
          });
      flash(editing ? `Saved ${saved.name}.` : `Made ${saved.name}. Attach MCP servers to give it tools.`);
      navigate(href(["agents", saved.uid]));
    } catch (e) {
      setErrs(fieldErrors(e, agentFields));
      requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus());
      throw e;
    }
  });
  const set = (k: keyof typeof v) => (x: string) => setV((old) => ({ ...old, [k]: x }));
  const title = editing ? `Edit ${a.name}` : "New agent";
  return (
    <>
      <PageTitle title={title}>{title}</PageTitle>
      <form ref={formRef} class="form" noValidate onSubmit={(e) => (e.preventDefault(), save.run())}>
        {editing ? (
          <Field label="UID" name="uid" value={v.uid} onInput={() => {}} readOnly hint="The UID cannot be changed." />
        ) : (
          <Field
            label="UID"
            name="uid"
            value={v.uid}
            onInput={set("uid")}
            error={errs.fields.uid}
            hint="Its identifier in URLs, e.g. support-bot: lower-case letters, digits, - and _. Leave it empty and agentmcp makes one."
          />
        )}
        <Field label="Name" name="name" value={v.name} onInput={set("name")} error={errs.fields.name} required />
        <Field label="Description" name="description" multiline value={v.description} onInput={set("description")} error={errs.fields.description} spellcheck />
        <Field label="Instruction" name="instruction" multiline value={v.instruction} onInput={set("instruction")} error={errs.fields.instruction} spellcheck />
        <div class={`field check${errs.fields.isActive ? " invalid" : ""}`}>
          <input type="checkbox" id="isActive" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
          <label for="isActive">Active</label>
          {errs.fields.isActive && <div class="field-error">{errs.fields.isActive}</div>}
        </div>
        <div class={`field${errs.fields.gateway ? " invalid" : ""}`}>
          <label for="toolNames">Tool names</label>
          <select
            id="toolNames"
            value={toolNames}
            aria-invalid={errs.fields.gateway ? "true" : undefined}
            aria-describedby={`toolNames-hint${errs.fields.gateway ? " toolNames-err" : ""}`}
            onChange={(e) => setToolNames(e.currentTarget.value as ToolNames)}
          >
            <option value="prefixed">Prefixed with the server's slug (slug__tool)</option>
            <option value="original">As each server names them</option>
          </select>
          <div class="hint" id="toolNames-hint">
            How its gateway names the tools. With the servers' own names, two attached servers may not offer a tool of the same name.
          </div>
          {errs.fields.gateway && (
            <div class="field-error" id="toolNames-err">
              {errs.fields.gateway}
            </div>
          )}
        </div>
        <div class={`field${errs.fields["gateway.pinning"] ? " invalid" : ""}`}>
          <label for="pinning">Pinning</label>
          <select
            id="pinning"
            value={pinning}
            aria-invalid={errs.fields["gateway.pinning"] ? "true" : undefined}
            aria-describedby={`pinning-hint${errs.fields["gateway.pinning"] ? " pinning-err" : ""}`}
            onChange={(e) => setPinning(e.currentTarget.value as Pinning)}
          >
            <option value="enforce">Enforce: withhold changed or new tool definitions until approved</option>
            <option value="warn">Warn: serve them, and record the change</option>
            <option value="off">Off: serve definitions as they come</option>
          </select>
          <div class="hint" id="pinning-hint">
            What its gateway does when a server offers a tool whose definition differs from the one pinned for this agent, or a new tool.
          </div>
          {errs.fields["gateway.pinning"] && (
            <div class="field-error" id="pinning-err">
              {errs.fields["gateway.pinning"]}
            </div>
          )}
        </div>
        {errs.other.length > 0 && (
          <ul class="error-box" aria-label="Other problems">
            {errs.other.map((o) => (
              <li key={o}>{o}</li>
            ))}
          </ul>
        )}
        <ErrorBox error={save.error} title={editing ? "Not saved." : "Not made."} />
        <div class="actions">
          <Button type="submit" variant="primary" busy={save.busy} busyLabel="Saving…">
            {editing ? "Save changes" : "Make agent"}
          </Button>
          <a class="btn btn-plain" href={editing ? href(["agents", uid]) : href(["agents"])}>
            Cancel
          </a>
        </div>
      </form>
    </>
  );
}

export function AgentPage({ uid }: { uid: string }) {
  const agent = useLoad((signal) => api.agents.get(uid, { signal }), [uid]);
  const items = useLoad((signal) => api.agents.enabledItems(uid, {}, { signal }), [uid]);
  const [picking, setPicking] = useState(false);
  const [policing, setPolicing] = useState(false);
  const [policySaved, setPolicySaved] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [detaching, setDetaching] = useState("");
  const detach = useAction(async (slug: string) => {
    setDetaching(slug);
    try {
      await api.agents.detach(uid, [slug]);
      agent.reload();
      items.reload();
    } finally {
      setDetaching("");
    }
  });
  if (agent.loading && !agent.data) return <Loading />;
  if (agent.error && !agent.data) return <LoadFailed error={agent.error} what="agent" />;
  const a = agent.data!;
  const servers = items.data?.mcpServers ?? [];
  return (
    <>
      <p class="crumbs">
        <a href={href(["agents"])}>Agents</a> /
      </p>
      <div class="title-row">
        <PageTitle title={a.name}>{a.name}</PageTitle>
        <div class="actions">
          <a class="btn btn-plain" href={href(["agents", uid, "edit"])}>
            Edit
          </a>
          <Button variant="danger" onClick={() => setDeleting(true)}>
            Delete
          </Button>
        </div>
      </div>
      <Flash />
      <dl class="facts">
        <dt>UID</dt>
        <dd>
          <code>{a.uid}</code>
        </dd>
        <dt>Active</dt>
        <dd>{a.isActive ? "Yes" : "No"}</dd>
        <dt>Tool names</dt>
        <dd>{a.gateway.toolNames === "original" ? "As each server names them" : "Prefixed with the server's slug"}</dd>
        <dt>Pinning</dt>
        <dd>{pinningText[a.gateway.pinning]}</dd>
        {a.description && (
          <>
            <dt>Description</dt>
            <dd>{a.description}</dd>
          </>
        )}
        {a.instruction && (
          <>
            <dt>Instruction</dt>
            <dd class="pre">{a.instruction}</dd>
          </>
        )}
        <dt>Updated</dt>
        <dd>
          <Time ms={a.updatedAt} />
        </dd>
        <dt>Audit</dt>
        <dd>
          <a href={href(["audit"], { target: `agent:${uid}` })}>Changes to this agent</a>
        </dd>
      </dl>

      <section aria-labelledby="servers-h">
        <div class="title-row">
          <h2 id="servers-h">MCP servers it can use</h2>
          {!picking && !policing && (
            <div class="actions">
              {servers.length > 0 && (
                <Button id="edit-policy" onClick={() => (setPolicySaved(false), setPolicing(true))} disabled={agent.loading}>
                  Edit tool policy
                </Button>
              )}
              <Button variant="primary" onClick={() => (setPolicySaved(false), setPicking(true))}>
                Attach MCP servers
              </Button>
            </div>
          )}
        </div>
        {policing && items.data && (
          <ToolPolicyEditor
            agent={a}
            servers={servers}
            onDone={(saved) => {
              setPolicing(false);
              requestAnimationFrame(() => document.getElementById("edit-policy")?.focus()); // back to the button that opened it
              if (saved) {
                setPolicySaved(true);
                agent.set(saved); // the PATCH's answer, with its ETag for the next write
                items.reload();
              }
            }}
          />
        )}
        {policySaved && (
          <p class="flash" role="status">
            Saved the tool policy; the table below shows what the agent gets.
          </p>
        )}
        {picking && (
          <AttachPicker
            uid={uid}
            attached={a.mcpServers}
            onDone={(changed) => {
              setPicking(false);
              if (changed) {
                agent.reload();
                items.reload();
              }
            }}
          />
        )}
        {items.loading && !items.data && <Loading label="Loading what it can use…" />}
        <ErrorBox error={items.error} />
        <ErrorBox error={detach.error} title="Not detached." />
        {items.data && servers.length === 0 && <p>None attached: its gateway serves no tools yet.</p>}
        {servers.length > 0 && (
          <table class="list">
            <caption class="sr-only">MCP servers attached to {a.name}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Slug</th>
                <th scope="col">Health</th>
                <th scope="col">Tools</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {servers.map((m) => (
                <tr key={m.slug}>
                  <td data-label="Name">
                    <a href={href(["servers", m.slug])}>{m.name}</a>
                  </td>
                  <td data-label="Slug">
                    <code>{m.slug}</code>
                  </td>
                  <td data-label="Health">
                    <HealthBadge health={m.health} />
                  </td>
                  <td data-label="Tools">
                    {toolsCell(m.health)}
                    {renamed(m, a.gateway.toolNames).length > 0 && (
                      <div>
                        Renamed:{" "}
                        {renamed(m, a.gateway.toolNames).map((t, i) => (
                          <span key={t.name}>
                            {i > 0 && ", "}
                            <code>{t.tool}</code> → <code>{t.name}</code>
                          </span>
                        ))}
                      </div>
                    )}
                    {m.tools && m.tools.some((t) => t.flags.length > 0) && (
                      <div class="field-error">
                        Flagged descriptions:{" "}
                        {m.tools
                          .filter((t) => t.flags.length > 0)
                          .map((t, i) => (
                            <span key={t.name}>
                              {i > 0 && ", "}
                              <code>{t.name}</code> ({t.flags.map((f) => flagText[f] ?? f).join(", ")})
                            </span>
                          ))}
                      </div>
                    )}
                    {m.withheldTools && m.withheldTools.length > 0 && (
                      <div class="field-error">
                        Withheld:{" "}
                        {m.withheldTools.map((w, i) => (
                          <span key={w.name}>
                            {i > 0 && ", "}
                            <code>{w.name}</code> ({withheldText(w)})
                          </span>
                        ))}
                      </div>
                    )}
                  </td>
                  <td data-label="">
                    <Button small busy={detaching === m.slug} busyLabel="Detaching…" aria-label={`Detach ${m.name}`} onClick={() => detach.run(m.slug)}>
                      Detach
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <ToolChanges uid={uid} onDecided={() => items.reload()} />
      <Gateway uid={uid} toolNames={a.gateway.toolNames} />
      <Keys uid={uid} />
      <OAuthClients uid={uid} />
      <Connect uid={uid} />
      {deleting && (
        <Confirm
          title={`Delete ${a.name}?`}
          confirmLabel="Delete agent"
          busyLabel="Deleting…"
          danger
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await api.agents.delete(uid);
            flash(`Deleted ${a.name}.`);
            navigate(href(["agents"]));
          }}
        >
          <p>
            This removes <strong>{a.name}</strong> (<code>{a.uid}</code>), and revokes its agent keys: clients that use its gateway stop working. Its MCP
            servers stay.
          </p>
        </Confirm>
      )}
    </>
  );
}

const pinningText: Record<Pinning, string> = {
  enforce: "Changed or new tool definitions are withheld until approved",
  warn: "Changed or new tool definitions are served and recorded",
  off: "Tool definitions are served as they come",
};

/** The tools of a server the agent gets under a new name (not its usual one). */
const renamed = (m: EnabledMcpServer, toolNames: ToolNames) => (m.tools ?? []).filter((t) => t.name !== usualName(toolNames, m.slug, t.tool));

function withheldText(w: WithheldTool): string {
  switch (w.reason) {
    case "name_conflict":
      return `the name is taken by ${w.conflictsWith ?? "an earlier server"}`;
    case "not_allowed":
      return "not in the allow-list";
    case "pending_approval":
      return "changed, awaits approval";
    case "rejected":
      return "its definition was rejected";
  }
  return w.reason;
}

// Servers offered for attaching: the first this many, newest first (then the filter helps).
const pickerMax = 1000;

function AttachPicker({ uid, attached, onDone }: { uid: string; attached: string[]; onDone: (changed: boolean) => void }) {
  const all = useLoad(async (signal) => {
    const out: McpServer[] = [];
    for await (const s of api.servers.all({}, { signal })) {
      out.push(s);
      if (out.length >= pickerMax) break;
    }
    return out;
  }, []);
  const [picked, setPicked] = useState<string[]>([]);
  const [filter, setFilter] = useState("");
  const attach = useAction(async () => {
    await api.agents.attach(uid, picked);
    onDone(true);
  });
  const f = filter.trim().toLowerCase();
  const offered = (all.data ?? []).filter((s) => !attached.includes(s.slug) && (!f || s.name.toLowerCase().includes(f) || s.slug.includes(f)));
  return (
    <form class="picker" onSubmit={(e) => (e.preventDefault(), attach.run())} noValidate>
      <fieldset>
        <legend>Pick MCP servers to attach</legend>
        <Field label="Filter" name="pick-filter" type="search" value={filter} onInput={setFilter} />
        {all.loading && <Loading label="Loading MCP servers…" />}
        <ErrorBox error={all.error} />
        {all.data && offered.length === 0 && <p>{f ? "No server matches." : "Every MCP server is attached already."}</p>}
        <ul class="checks">
          {offered.map((s) => (
            <li key={s.slug}>
              <input
                type="checkbox"
                id={`pick-${s.slug}`}
                checked={picked.includes(s.slug)}
                onChange={(e) => {
                  const on = e.currentTarget.checked;
                  setPicked((p) => (on ? [...p, s.slug] : p.filter((x) => x !== s.slug)));
                }}
              />
              <label for={`pick-${s.slug}`}>
                {s.name} <code>{s.slug}</code> <HealthBadge health={s.health} />
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
      <ErrorBox error={attach.error} title="Not attached." />
      <div class="actions">
        <Button type="submit" variant="primary" busy={attach.busy} busyLabel="Attaching…" disabled={picked.length === 0}>
          {picked.length > 1 ? `Attach ${picked.length} servers` : "Attach"}
        </Button>
        <Button onClick={() => onDone(false)}>Cancel</Button>
      </div>
    </form>
  );
}

/** VS Code's input id for an agent's key: one per agent, so two agents in one mcp.json each get theirs. */
const inputId = (uid: string) => `agentmcp-key-${uid.replace(/[^A-Za-z0-9_-]/g, "_")}`;

/** The copy-ready client configurations of an agent's gateway. */
export function gatewayConfigs(uid: string, url: string) {
  const vscode = JSON.stringify(
    {
      servers: { [uid]: { type: "http", url, headers: { Authorization: `Bearer \${input:${inputId(uid)}}` } } },
      inputs: [{ id: inputId(uid), type: "promptString", password: true, description: `agentmcp agent key for ${uid}` }],
    },
    null,
    2,
  );
  const claude = `claude mcp add --transport http ${uid} ${url} \\\n  --header "Authorization: Bearer $AGENTMCP_AGENT_KEY"`;
  const ts = `import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const transport = new StreamableHTTPClientTransport(new URL("${url}"), {
  requestInit: { headers: { Authorization: \`Bearer \${process.env.AGENTMCP_AGENT_KEY}\` } },
});
const client = new Client({ name: "my-agent", version: "1.0.0" });
await client.connect(transport);
const { tools } = await client.listTools();
console.log(tools.map((t) => t.name));
await client.close(); // else the open session keeps the process running
`;
  const inspector = `npx @modelcontextprotocol/inspector --cli ${url} \\
  --transport http --header "Authorization: Bearer $AGENTMCP_AGENT_KEY" --method tools/list`;
  const go = `package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearer sends the agent key on every request.
type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

func main() {
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "my-agent", Version: "1.0.0"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   "${url}",
		HTTPClient: &http.Client{Transport: bearer{os.Getenv("AGENTMCP_AGENT_KEY")}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range tools.Tools {
		fmt.Println(t.Name)
	}
}
`;
  return { vscode, claude, ts, inspector, go };
}

function Gateway({ uid, toolNames }: { uid: string; toolNames: ToolNames }) {
  const url = gatewayUrl(uid);
  return (
    <section aria-labelledby="gateway-h">
      <h2 id="gateway-h">Gateway</h2>
      <p>
        One MCP endpoint (Streamable HTTP) with the tools of every attached server, named{" "}
        {toolNames === "original" ? "as each server names them" : <code>{"{slug}__{tool}"}</code>}. Clients authenticate with{" "}
        <code>Authorization: Bearer</code> and an agent key (below), which can use this gateway and nothing else.
      </p>
      <div class="gateway-url">
        <label for="gateway-url">Gateway URL</label>
        <input id="gateway-url" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
        <CopyButton text={url} label="Copy URL" />
      </div>
    </section>
  );
}

const gatewayUrl = (uid: string) => `${gatewayBase}/${encodeURIComponent(uid)}/mcp`;

function Connect({ uid }: { uid: string }) {
  const c = gatewayConfigs(uid, gatewayUrl(uid));
  return (
    <section aria-labelledby="connect-h">
      <h2 id="connect-h">Connect a client</h2>
      <Tabs
        label="Client"
        tabs={[
          { title: "VS Code", content: <CodeBlock title="In .vscode/mcp.json; VS Code asks for the key once." label="Copy VS Code config" code={c.vscode} /> },
          { title: "Claude Code", content: <CodeBlock title="With the key in AGENTMCP_AGENT_KEY." label="Copy Claude Code command" code={c.claude} /> },
          { title: "TypeScript", content: <CodeBlock title="With @modelcontextprotocol/sdk." label="Copy TypeScript snippet" code={c.ts} /> },
          {
            title: "Inspector",
            content: <CodeBlock title="The MCP Inspector needs Node ≥ 22; the key goes in --header." label="Copy Inspector command" code={c.inspector} />,
          },
          { title: "Go", content: <CodeBlock title="With github.com/modelcontextprotocol/go-sdk." label="Copy Go snippet" code={c.go} /> },
        ]}
      />
    </section>
  );
}

function Keys({ uid }: { uid: string }) {
  const keys = useLoad((signal) => api.agents.listKeys(uid, { signal }), [uid]);
  const [name, setName] = useState("");
  const [fresh, setFresh] = useState<AgentKeyCreated | undefined>();
  const [revoking, setRevoking] = useState<AgentKey | undefined>();
  const [nameError, setNameError] = useState<string | undefined>();
  const freshRef = useRef<HTMLDivElement>(null);
  const mint = useAction(async () => {
    setNameError(undefined);
    try {
      const k = await api.agents.createKey(uid, name ? { name } : {});
      setFresh(k);
      setName("");
      keys.reload();
      requestAnimationFrame(() => freshRef.current?.focus());
    } catch (e) {
      setNameError(fieldErrors(e, ["name"]).fields.name);
      throw e;
    }
  });
  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">Agent keys</h2>
      {fresh && (
        <div class="secret" ref={freshRef} tabIndex={-1} role="region" aria-labelledby="secret-h">
          <h3 id="secret-h">New key {fresh.key.name && `“${fresh.key.name}”`}: copy it now</h3>
          <p>This is the only time agentmcp shows it. It keeps only a hash; if you lose the key, revoke it and make another.</p>
          <div class="gateway-url">
            <label for="secret-value">Agent key</label>
            <input id="secret-value" readOnly value={fresh.secret} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={fresh.secret} label="Copy key" />
          </div>
          <Button onClick={() => setFresh(undefined)}>I have copied it</Button>
        </div>
      )}
      <form class="inline-form" noValidate onSubmit={(e) => (e.preventDefault(), mint.run())}>
        <Field label="Key name" name="key-name" value={name} onInput={setName} error={nameError} hint="What the key is for, e.g. the runtime that uses it." />
        <Button type="submit" variant="primary" busy={mint.busy} busyLabel="Creating…">
          Create key
        </Button>
      </form>
      <ErrorBox error={mint.error} title="No key made." />
      {keys.loading && !keys.data && <Loading label="Loading keys…" />}
      <ErrorBox error={keys.error} />
      {keys.data && keys.data.length === 0 && <p>No keys yet.</p>}
      {keys.data && keys.data.length > 0 && (
        <table class="list">
          <caption class="sr-only">Keys of this agent</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Starts with</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <td data-label="Name">{k.name || <span class="hint">(no name)</span>}</td>
                <td data-label="Starts with">
                  <code>{k.prefix}…</code>
                </td>
                <td data-label="Created">
                  <Time ms={k.createdAt} />
                </td>
                <td data-label="Status">
                  {k.revokedAt ? (
                    <span class="badge badge-bad">
                      Revoked <Time ms={k.revokedAt} />
                    </span>
                  ) : (
                    <span class="badge badge-ok">Active</span>
                  )}
                </td>
                <td data-label="">
                  {!k.revokedAt && (
                    <Button small variant="danger" aria-label={`Revoke key ${k.name || k.prefix}`} onClick={() => setRevoking(k)}>
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoking && (
        <Confirm
          title={`Revoke key ${revoking.name || revoking.prefix + "…"}?`}
          confirmLabel="Revoke key"
          busyLabel="Revoking…"
          danger
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            await api.agents.revokeKey(uid, revoking.id);
            if (fresh?.key.id === revoking.id) setFresh(undefined);
            setRevoking(undefined);
            keys.reload();
          }}
        >
          <p>Clients using it lose access to the gateway within seconds. This cannot be undone.</p>
        </Confirm>
      )}
    </section>
  );
}

/** The MCP clients a person connected through OAuth (the consent page), with Revoke. */
function OAuthClients({ uid }: { uid: string }) {
  const grants = useLoad((signal) => api.agents.listGrants(uid, { signal }), [uid]);
  const [revoking, setRevoking] = useState<OAuthGrant | undefined>();
  return (
    <section aria-labelledby="oauth-h">
      <h2 id="oauth-h">Connected clients</h2>
      <p class="hint">
        MCP clients that signed in with OAuth (paste the gateway URL into the client and approve it here). Each has access until you revoke it.
      </p>
      {grants.loading && !grants.data && <Loading label="Loading clients…" />}
      <ErrorBox error={grants.error} />
      {grants.data && grants.data.length === 0 && <p>No client connected.</p>}
      {grants.data && grants.data.length > 0 && (
        <table class="list">
          <caption class="sr-only">OAuth clients of this agent</caption>
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">Connected</th>
              <th scope="col">Last use</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {grants.data.map((g) => (
              <tr key={g.id}>
                <td data-label="Client">
                  {g.clientName || <span class="hint">(no name)</span>} <code>{g.clientId.slice(0, 60)}</code>
                </td>
                <td data-label="Connected">
                  <Time ms={g.createdAt} />
                </td>
                <td data-label="Last use">
                  <Time ms={g.lastUsedAt} />
                </td>
                <td data-label="">
                  <Button small variant="danger" aria-label={`Revoke client ${g.clientName || g.clientId}`} onClick={() => setRevoking(g)}>
                    Revoke
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoking && (
        <Confirm
          title={`Disconnect ${revoking.clientName || "this client"}?`}
          confirmLabel="Revoke"
          busyLabel="Revoking…"
          danger
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            await api.agents.revokeGrant(uid, revoking.id);
            setRevoking(undefined);
            grants.reload();
          }}
        >
          <p>Its tokens stop working at once; to connect again, the client must ask you again.</p>
        </Confirm>
      )}
    </section>
  );
}
