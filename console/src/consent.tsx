// The consent page of agentmcp's authorization server: an MCP client asked, through
// /oauth/authorize, to use one agent's gateway; the person signed in with a fullAccess key
// of the agent's app sees who asks for what and allows or denies. The decision is a JSON
// POST with the key in the apikey header — nothing a page of another site can make the
// browser send — and the console may not be framed (its CSP), so it cannot be clickjacked.
import { useState } from "preact/hooks";
import { session } from "./api";
import { Button, ErrorBox, Loading, PageTitle, useLoad } from "./ui";

interface ConsentInfo {
  clientId: string;
  clientName: string;
  redirectHost: string;
  agentUid: string;
  agentName: string;
  scope: string;
}

class ConsentError extends Error {}

async function call<T>(id: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${location.origin}/oauth/consent/${encodeURIComponent(id)}`, {
    ...init,
    headers: { ...(init.headers ?? {}), apikey: session.key() ?? "" },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ConsentError(body.error_description || `agentmcp answered ${res.status}.`);
  return body as T;
}

export function ConsentPage({ id }: { id: string }) {
  const info = useLoad(() => call<ConsentInfo>(id), [id]);
  const [busy, setBusy] = useState<"" | "allow" | "deny">("");
  const [error, setError] = useState<unknown>();
  const decide = async (approve: boolean) => {
    setBusy(approve ? "allow" : "deny");
    setError(undefined);
    try {
      const d = await call<{ redirectTo: string }>(id, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ approve }),
      });
      location.assign(d.redirectTo);
    } catch (e) {
      setError(e);
      setBusy("");
    }
  };
  return (
    <>
      <PageTitle title="Connect a client">Connect a client to an agent</PageTitle>
      {info.loading && !info.data && <Loading label="Loading the request…" />}
      <ErrorBox error={info.error} title="This request cannot be decided." />
      {info.data && (
        <section class="consent" aria-labelledby="consent-h">
          <h2 id="consent-h">
            <strong>{info.data.clientName || "An unnamed client"}</strong> asks to use the gateway of agent <strong>{info.data.agentName}</strong> (
            <code>{info.data.agentUid}</code>)
          </h2>
          <dl>
            <dt>Client</dt>
            <dd>
              <code>{info.data.clientId}</code>
            </dd>
            <dt>It will be sent back to</dt>
            <dd>
              <code>{info.data.redirectHost}</code>
            </dd>
            <dt>Access</dt>
            <dd>Every tool of this agent's gateway, as an agent key would, until you revoke it on the agent's page.</dd>
          </dl>
          <p>Allow only if you started this connection yourself, from the client named above.</p>
          <ErrorBox error={error} title="Not decided." />
          <div class="actions">
            <Button variant="primary" busy={busy === "allow"} busyLabel="Allowing…" disabled={busy !== ""} onClick={() => decide(true)}>
              Allow
            </Button>
            <Button busy={busy === "deny"} busyLabel="Denying…" disabled={busy !== ""} onClick={() => decide(false)}>
              Deny
            </Button>
          </div>
        </section>
      )}
    </>
  );
}
