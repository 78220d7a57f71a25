import { useEffect, useState } from "preact/hooks";
import type { AuditAction, AuditEvent } from "@agentmcp/client";
import { api } from "./api";
import { href, navigate } from "./router";
import { Button, ErrorBox, Field, Json, Loading, PageTitle, Time } from "./ui";

const pageSize = 25;

export const auditActions: AuditAction[] = [
  "mcp_server.create",
  "mcp_server.update",
  "mcp_server.delete",
  "agent.create",
  "agent.update",
  "agent.delete",
  "agent.mcp_add",
  "agent.mcp_remove",
  "api_key.create",
  "api_key.revoke",
];

/** The audit trail, newest first; the filters live in the address (#/audit?target=…&action=…). */
export function AuditPage({ query }: { query: URLSearchParams }) {
  const target = query.get("target") ?? "";
  const action = (query.get("action") ?? "") as AuditAction | "";
  const [t, setT] = useState(target);
  const [a, setA] = useState(action);
  const [rows, setRows] = useState<AuditEvent[]>([]);
  const [before, setBefore] = useState<number | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();

  const load = async (from?: number) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await api.audit.list({ limit: pageSize, target: target || undefined, action: action || undefined, before: from });
      setRows((r) => (from ? [...r, ...page.data] : page.data));
      setBefore(page.data.length === pageSize ? page.meta.next?.before : undefined);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setT(target);
    setA(action);
    setRows([]);
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target, action]);

  const apply = (e: Event) => {
    e.preventDefault();
    navigate(href(["audit"], { target: t.trim(), action: a }));
  };
  return (
    <>
      <PageTitle title="Audit">Audit trail</PageTitle>
      <p>Every write through the API and the command line, newest first.</p>
      <form class="filters" role="search" aria-label="Filter the audit trail" onSubmit={apply} noValidate>
        <Field label="Target" name="target" value={t} onInput={setT} hint={<>e.g. <code>mcp_server:weather</code> or <code>agent:support</code></>} />
        <div class="field">
          <label for="action">Action</label>
          <select id="action" value={a} onChange={(e) => setA(e.currentTarget.value as AuditAction | "")}>
            <option value="">Any</option>
            {auditActions.map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        </div>
        <div class="field filter-buttons">
          <Button type="submit" variant="primary">
            Filter
          </Button>
          {(target || action) && (
            <a class="btn btn-plain" href={href(["audit"])}>
              Clear
            </a>
          )}
        </div>
      </form>
      <ErrorBox error={error} />
      <table class="list audit">
        <caption class="sr-only">Audit events{target ? ` of ${target}` : ""}{action ? `, ${action}` : ""}</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">By key</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id}>
              <td data-label="When">
                <Time ms={e.at} />
              </td>
              <td data-label="Action">
                <code>{e.action}</code>
              </td>
              <td data-label="Target">
                <a href={href(["audit"], { target: e.target })}>{e.target}</a>
              </td>
              <td data-label="By key">{e.keyId ? <code>{e.keyId}</code> : "command line"}</td>
              <td data-label="Change">
                <details>
                  <summary>Before and after</summary>
                  <Json value={e.before} label={`Before event ${e.id}`} />
                  <Json value={e.after} label={`After event ${e.id}`} />
                  {e.requestId && <p class="hint">Request {e.requestId}</p>}
                </details>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="count" role="status">
        {loading ? "" : rows.length === 0 ? "No events match." : `${rows.length} ${rows.length === 1 ? "event" : "events"} shown.`}
      </p>
      {loading && <Loading label="Loading the audit trail…" />}
      {!loading && before !== undefined && <Button onClick={() => load(before)}>Load more</Button>}
    </>
  );
}
