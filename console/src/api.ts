// The console's only way to agentmcp: @agentmcp/client against this origin's /v3, with the
// API key read from sessionStorage on every request, so signing out (or closing the tab)
// forgets it and any 401 with it sends the user back to sign-in.
import { AgentMcpError, AgentMcpNetworkError, createClient } from "@agentmcp/client";

const storageKey = "agentmcp.apiKey";

export const gatewayBase = `${location.origin}/v3/ai-agents/agent-builder/agents`;

type Listener = (reason: string) => void;
const listeners = new Set<Listener>();

export const session = {
  key: (): string | null => sessionStorage.getItem(storageKey),
  signIn(key: string) {
    sessionStorage.setItem(storageKey, key);
  },
  signOut(reason = "") {
    sessionStorage.removeItem(storageKey);
    for (const l of listeners) l(reason);
  },
  onSignOut(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

export const api = createClient({
  baseUrl: `${location.origin}/v3`,
  apiKey: () => session.key() ?? undefined,
  fetch: async (req) => {
    const res = await fetch(req);
    // Only a 401 for the key of this session ends it (sign-in tries a key of its own).
    const key = session.key();
    if (res.status === 401 && key !== null && req.headers.get("apikey") === key) {
      session.signOut("agentmcp no longer accepts that API key (revoked or unknown). Sign in again.");
    }
    return res;
  },
});

/** The request option that sends a key other than the session's (sign-in). */
export const withKey = (key: string) => ({ headers: { apikey: key } });

export { AgentMcpError, AgentMcpNetworkError };

/** Field-level problems of a failed write: `field` → message, and what names no field of the form. */
export interface FieldErrors {
  fields: Record<string, string>;
  other: string[];
}

/**
 * fieldErrors sorts an API error's details by the form's fields: a detail on `auth.token` goes
 * to `auth` when `auth` is a field of the form (prefix match on the dotted path).
 */
export function fieldErrors(e: unknown, formFields: string[]): FieldErrors {
  const out: FieldErrors = { fields: {}, other: [] };
  if (!(e instanceof AgentMcpError)) return out;
  for (const d of e.details) {
    const f = formFields.find((name) => d.field === name || d.field.startsWith(name + "."));
    if (f) out.fields[f] = out.fields[f] ? `${out.fields[f]}; ${d.message}` : d.message;
    else out.other.push(`${d.field}: ${d.message}`);
  }
  // Conflicts name no field in details, but they are about one.
  const conflict: Record<string, string> = { ERR_SLUG_ALREADY_EXISTS: "slug", ERR_AGENT_ALREADY_EXISTS: "uid", ERR_TOOL_NAME_CONFLICT: "gateway" };
  const f = conflict[e.code];
  if (f && formFields.includes(f) && !out.fields[f]) out.fields[f] = e.message;
  return out;
}

/** A sentence a person can act on, for any failure. */
export function describeError(e: unknown): string {
  if (e instanceof AgentMcpNetworkError) {
    return e.timedOut
      ? "agentmcp did not answer in time. It may be busy or unreachable; try again."
      : "agentmcp could not be reached. Check that it is running and that you are online, then try again.";
  }
  if (e instanceof AgentMcpError) {
    switch (e.code) {
      case "ERR_PRECONDITION_FAILED":
        return "Someone changed this record after you opened it. Reload the page to see the change, then try again.";
      case "ERR_RATE_LIMITED": {
        const s = e.retryAfterMs ? Math.ceil(e.retryAfterMs / 1000) : 0;
        return `Too many requests for this app. Try again${s ? ` in ${s} s` : " shortly"}.`;
      }
      case "AUTH_ERR_NO_ACCESS":
        return "This API key may not do that: the console needs a fullAccess key.";
      case "ERR_UNAVAILABLE":
        return "agentmcp's database is not available right now. Try again in a moment.";
      case "ERR_INTERNAL":
        return "agentmcp failed on its side. Try again; if it keeps failing, its log has the request id below.";
    }
    if (e.code === "ERR_VALIDATION" && e.details.length) return "Some fields need fixing.";
    return e.message || `agentmcp answered ${e.status}.`;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Its code and request id, for a bug report; "" when there are none. */
export function errorReference(e: unknown): string {
  if (!(e instanceof AgentMcpError)) return "";
  return [e.code && `code ${e.code}`, `HTTP ${e.status}`, e.requestId && `request ${e.requestId}`].filter(Boolean).join(" · ");
}

export const isNotFound = (e: unknown) => e instanceof AgentMcpError && e.status === 404;
