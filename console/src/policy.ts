// The tool-policy editor's state, apart from the page so node --test can hold it: a draft per
// attached server (every tool or a checked subset, new names), built from the agent's
// gateway.servers and what enabled-items says each server offers; the whole servers map the
// API's PATCH takes; and the API's errors sorted onto the draft's fields. Types only from the
// client: this module imports nothing at run time.
import type { AgentGateway, EnabledMcpServer, GatewayServerPolicy, ToolNames } from "@agentmcp/client";

export type GatewayServers = NonNullable<AgentGateway["servers"]>;

/** One tool of a server in the editor. */
export interface ToolDraft {
  /** Its name at its server (what allow and rename are keyed by). */
  tool: string;
  allowed: boolean;
  /** The new name; "" serves it under its usual name. */
  rename: string;
  /** Whether the server offers it now (false: only the stored policy names it). */
  offered: boolean;
}

export interface ServerDraft {
  slug: string;
  name: string;
  /** true: only the allowed tools; false: every tool, now and later. */
  only: boolean;
  tools: ToolDraft[];
}

/**
 * draftOf is the editor's starting state: one draft per attached server, in enabled-items'
 * order, listing the tools the server offers (served or withheld, sorted) and then the ones
 * only the stored policy names.
 */
export function draftOf(servers: GatewayServers | undefined, attached: EnabledMcpServer[]): ServerDraft[] {
  return attached.map((m) => {
    const p: GatewayServerPolicy = servers?.[m.slug] ?? {};
    const offered = [...new Set([...(m.tools ?? []).map((t) => t.tool), ...(m.withheldTools ?? []).map((w) => w.name)])].sort();
    const named = [...new Set([...(p.allow ?? []), ...Object.keys(p.rename ?? {})])].filter((t) => !offered.includes(t)).sort();
    const row = (tool: string, isOffered: boolean): ToolDraft => ({
      tool,
      allowed: p.allow === undefined || p.allow.includes(tool),
      rename: p.rename?.[tool] ?? "",
      offered: isOffered,
    });
    return { slug: m.slug, name: m.name, only: p.allow !== undefined, tools: [...offered.map((t) => row(t, true)), ...named.map((t) => row(t, false))] };
  });
}

/**
 * policyOf is the whole servers map to PATCH. A tool left out of a subset is off, so its
 * new name is not sent (as a form does not send a disabled field); a server with neither a
 * subset nor a new name is left out (the same as every tool under its usual name).
 */
export function policyOf(drafts: ServerDraft[]): GatewayServers {
  const out: GatewayServers = {};
  for (const d of drafts) {
    const p: GatewayServerPolicy = {};
    if (d.only) p.allow = d.tools.filter((t) => t.allowed).map((t) => t.tool);
    const rename: Record<string, string> = {};
    for (const t of d.tools) if (t.rename !== "" && (!d.only || t.allowed)) rename[t.tool] = t.rename;
    if (Object.keys(rename).length > 0) p.rename = rename;
    if (p.allow !== undefined || p.rename !== undefined) out[d.slug] = p;
  }
  return out;
}

/** The request field of a server's policy, of its allow-list, of a tool's new name. */
export const serverField = (slug: string) => `gateway.servers.${slug}`;
export const allowField = (slug: string) => `${serverField(slug)}.allow`;
export const renameField = (slug: string, tool: string) => `${serverField(slug)}.rename.${tool}`;

/** An API error's details (the shape of AgentMcpError's), enough to place them. */
export interface Detail {
  field: string;
  message: string;
}

/** Problems placed on the editor: by field (renameField, allowField, serverField) and the rest. */
export interface PolicyErrors {
  at: Record<string, string>;
  other: string[];
}

/**
 * placeErrors puts each detail at the editor field it names: a new name's field as it is, an
 * allow-list entry (…allow.{i}) at its server's allow-list, a server at its server; whatever
 * names no field of these drafts (another setting, a server no longer shown) goes to other.
 * The message is the API's own.
 */
export function placeErrors(details: Detail[], drafts: ServerDraft[]): PolicyErrors {
  const fields = new Set<string>();
  for (const d of drafts) {
    fields.add(serverField(d.slug));
    fields.add(allowField(d.slug));
    for (const t of d.tools) fields.add(renameField(d.slug, t.tool));
  }
  const out: PolicyErrors = { at: {}, other: [] };
  for (const e of details) {
    let f = e.field;
    if (!fields.has(f)) {
      const allow = drafts.find((d) => f.startsWith(allowField(d.slug) + "."));
      f = allow ? allowField(allow.slug) : "";
    }
    if (f) out.at[f] = out.at[f] ? `${out.at[f]}; ${e.message}` : e.message;
    else out.other.push(`${e.field}: ${e.message}`);
  }
  return out;
}

/** The name the gateway serves a tool under without a new name. */
export const usualName = (toolNames: ToolNames, slug: string, tool: string) => (toolNames === "original" ? tool : `${slug}__${tool}`);

/** drafts with the server slug's draft changed by f (a new array, the others as they were). */
export const updateServer = (drafts: ServerDraft[], slug: string, f: (d: ServerDraft) => ServerDraft) => drafts.map((d) => (d.slug === slug ? f(d) : d));

/** d with tool's draft changed by f. */
export const updateTool = (d: ServerDraft, tool: string, f: (t: ToolDraft) => ToolDraft): ServerDraft => ({
  ...d,
  tools: d.tools.map((t) => (t.tool === tool ? f(t) : t)),
});
