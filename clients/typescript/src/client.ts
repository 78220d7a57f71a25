import createFetchClient, { type Client as FetchClient } from "openapi-fetch";
import { AgentMcpError } from "./errors.js";
import type { components, operations, paths } from "./schema.js";
import { transport, type FetchLike, type RetryOptions } from "./transport.js";

type Schemas = components["schemas"];
type Query<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;

export type McpServer = Schemas["McpServer"];
export type McpServerList = Schemas["McpServerList"];
export type CreateMcpServer = Schemas["CreateMcpServerDto"];
export type UpdateMcpServer = Schemas["UpdateMcpServerDto"];
export type McpServerHealth = Schemas["McpServerHealth"];
export type HealthStatus = Schemas["HealthStatus"];
export type ProbeResult = Schemas["ProbeResult"];
export type McpServerTools = Schemas["McpServerTools"];
export type McpTool = Schemas["McpTool"];
export type Agent = Schemas["Agent"];
export type AgentList = Schemas["AgentList"];
export type CreateAgent = Schemas["CreateAgentDto"];
export type UpdateAgent = Schemas["UpdateAgentDto"];
export type EnabledItems = Schemas["EnabledItemsResponse"]["data"];
export type EnabledMcpServer = Schemas["EnabledMcpServer"];
export type AgentGateway = Schemas["AgentGateway"];
export type AgentGatewayInput = Schemas["AgentGatewayInput"];
export type ToolNames = Schemas["ToolNames"];
export type WithheldTool = Schemas["WithheldTool"];
export type Pinning = Schemas["Pinning"];
export type GatewayServerPolicy = Schemas["GatewayServerPolicy"];
export type EnabledTool = Schemas["EnabledTool"];
export type DescriptionFlag = Schemas["DescriptionFlag"];
export type ToolChange = Schemas["ToolChange"];
export type AuditEvent = Schemas["AuditEvent"];
export type AuditEventList = Schemas["AuditEventList"];
export type AuditAction = Schemas["AuditAction"];
export type AuditRecord = Schemas["AuditRecord"];
export type AgentKey = Schemas["AgentKey"];
export type OAuthGrant = Schemas["OAuthGrant"];
export type AgentKeyCreated = Schemas["AgentKeyCreated"];
export type CreateAgentKey = Schemas["CreateAgentKeyDto"];
export type McpServerAuth = Schemas["McpServerAuth"];
export type McpServerAuthInput = Schemas["McpServerAuthInput"];
export type OAuthAuthorization = Schemas["OAuthAuthorization"];
export type PageMeta = Schemas["PageMeta"];
export type RegistrySettings = Schemas["RegistrySettings"];
export type PageCursor = Schemas["PageCursor"];
export type ListServersQuery = Query<"McpServersController_getAllMcpServers">;
export type ListAgentsQuery = Query<"AgentBuilderController_getAllAgents">;
export type EnabledItemsQuery = Query<"AgentBuilderController_getEnabledItems">;
export type ListAuditQuery = Query<"AuditController_getAuditEvents">;

export interface ClientOptions {
  /** e.g. `http://localhost:8080/v3`, or `https://{appId}.api-{region}.cometchat.io/v3`. */
  baseUrl: string;
  /** Sent as the `apikey` header; a function is called before every request (e.g. to read `sessionStorage`). */
  apiKey?: string | (() => string | undefined | Promise<string | undefined>);
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Instead of `globalThis.fetch`; it is given a `Request`. */
  fetch?: FetchLike;
  /** Retries of the requests that are safe to repeat; `false` turns them off. */
  retry?: RetryOptions | false;
  /** Time limit of one attempt, the body included (default 30 s; 0 = none). */
  timeoutMs?: number;
  /** Largest response body accepted (default 32 MiB). */
  maxResponseBytes?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Extra headers for this request. */
  headers?: Record<string, string>;
}

export interface CreateOptions extends RequestOptions {
  /** Makes the create safe to retry: the server replays the first answer for this key and body. */
  idempotencyKey?: string;
}

export interface WriteOptions extends RequestOptions {
  /** Write only if the record's current ETag is this one (or `*`); otherwise 412 `ERR_PRECONDITION_FAILED`. */
  ifMatch?: string;
}

/** `get(id)` returns the record; `get(id, { ifNoneMatch: etag })` returns `null` when it is unchanged (304). */
export interface Get<T> {
  (id: string, options: RequestOptions & { ifNoneMatch: string }): Promise<T | null>;
  (id: string, options?: RequestOptions & { ifNoneMatch?: undefined }): Promise<T>;
}

export interface ServersApi {
  create(body: CreateMcpServer, options?: CreateOptions): Promise<McpServer>;
  /** One page, newest first. */
  list(query?: ListServersQuery, options?: RequestOptions): Promise<McpServerList>;
  /** Every server, newest first, page after page; with `affix: "prepend"` every server newer than `createdAt`, oldest first. */
  all(query?: ListServersQuery, options?: RequestOptions): AsyncGenerator<McpServer, void, undefined>;
  get: Get<McpServer>;
  update(slug: string, patch: UpdateMcpServer, options?: WriteOptions): Promise<McpServer>;
  delete(slug: string, options?: WriteOptions): Promise<void>;
  probe(slug: string, options?: RequestOptions): Promise<ProbeResult>;
  tools(slug: string, options?: RequestOptions): Promise<McpServerTools>;
  /** The last probe's result (background probes' too), with its error in words; 404 ERR_NOT_PROBED if never probed. */
  lastProbe(slug: string, options?: RequestOptions): Promise<ProbeResult>;
  /** Connect a server whose auth is OAuth: the URL a person opens to approve agentmcp; `auth.connected` says when it is done. 409 ERR_NOT_OAUTH otherwise. */
  authorize(slug: string, options?: RequestOptions): Promise<OAuthAuthorization>;
}

export interface AgentsApi {
  create(body: CreateAgent, options?: CreateOptions): Promise<Agent>;
  list(query?: ListAgentsQuery, options?: RequestOptions): Promise<AgentList>;
  all(query?: ListAgentsQuery, options?: RequestOptions): AsyncGenerator<Agent, void, undefined>;
  get: Get<Agent>;
  update(uid: string, patch: UpdateAgent, options?: WriteOptions): Promise<Agent>;
  delete(uid: string, options?: WriteOptions): Promise<void>;
  /** Attaches MCP servers by slug; returns the agent. */
  attach(uid: string, slugs: string[], options?: RequestOptions): Promise<Agent>;
  detach(uid: string, slugs: string[], options?: RequestOptions): Promise<Agent>;
  enabledItems(uid: string, query?: EnabledItemsQuery, options?: RequestOptions): Promise<EnabledItems>;
  /** Mints a key for this agent's MCP gateway only; `secret` is in this answer and never again. */
  createKey(uid: string, body?: CreateAgentKey, options?: RequestOptions): Promise<AgentKeyCreated>;
  /** The agent's keys, oldest first, revoked ones included; never a secret. */
  listKeys(uid: string, options?: RequestOptions): Promise<AgentKey[]>;
  /** Revokes a key (revoking a revoked key succeeds). */
  revokeKey(uid: string, keyId: string, options?: RequestOptions): Promise<void>;
  /** The MCP clients connected to the agent's gateway through OAuth, newest first; never a token. */
  listGrants(uid: string, options?: RequestOptions): Promise<OAuthGrant[]>;
  /** Disconnects an OAuth client: every token of the grant stops working at once. */
  revokeGrant(uid: string, grantId: string, options?: RequestOptions): Promise<void>;
  /** The agent's tool definitions that changed since pinned (or are new), awaiting a decision. */
  listToolChanges(uid: string, options?: RequestOptions): Promise<ToolChange[]>;
  /**
   * Approves (or rejects) the change pending under `hash`; a hash no longer pending (the
   * server changed the definition again) is refused with 409 `ERR_TOOL_CHANGE_STALE`.
   */
  decideToolChange(uid: string, hash: string, decision: "approve" | "reject", options?: RequestOptions): Promise<ToolChange>;
}

export interface AuditApi {
  /** One page, newest first. */
  list(query?: ListAuditQuery, options?: RequestOptions): Promise<AuditEventList>;
  /** Every matching event, newest first. */
  all(query?: ListAuditQuery, options?: RequestOptions): AsyncGenerator<AuditEvent, void, undefined>;
}

/** The app's read-only MCP Registry view for editors, at `{server}{path}`. */
export interface RegistryApi {
  get(options?: RequestOptions): Promise<RegistrySettings>;
  set(enabled: boolean, options?: RequestOptions): Promise<RegistrySettings>;
}

export interface AgentMcpClient {
  servers: ServersApi;
  agents: AgentsApi;
  audit: AuditApi;
  registry: RegistryApi;
  /**
   * The typed openapi-fetch client underneath (same key, retries and limits), for operations
   * not wrapped above. It returns `{ data, error, response }`; pass its promise to `unwrap`
   * to get the data or an `AgentMcpError`.
   */
  raw: FetchClient<paths>;
}

// Responses of the objects this client returned, for etagOf/responseOf.
const responses = new WeakMap<object, Response>();

/** The HTTP response an object returned by this client came from (its headers: ETag, Idempotency-Replayed, X-RateLimit-*…). */
export function responseOf(value: object): Response | undefined {
  return responses.get(value);
}

/** The ETag of a record returned by create, get, update, attach or detach; pass it as `ifMatch`. */
export function etagOf(value: object): string | undefined {
  return responses.get(value)?.headers.get("ETag") ?? undefined;
}

function remember<T>(value: T, response: Response): T {
  if (value && typeof value === "object") responses.set(value, response);
  return value;
}

type Result = { data?: unknown; error?: unknown; response: Response };

/** The data of a successful openapi-fetch call; any other status throws `AgentMcpError`. */
export async function unwrap<R extends Result>(call: Promise<R>): Promise<Exclude<R["data"], undefined>> {
  const r = await call;
  if (!r.response.ok) throw new AgentMcpError(r.response.status, r.error, r.response.headers);
  return remember(r.data as Exclude<R["data"], undefined>, r.response);
}

// unwrapData is unwrap for answers that wrap the record in {data}.
async function unwrapData<R extends Result>(call: Promise<R>): Promise<Exclude<R["data"], undefined> extends { data: infer D } ? D : never> {
  const r = await call;
  const env = await unwrap(Promise.resolve(r));
  return remember((env as { data: never }).data, r.response);
}

async function unlessNotModified<R extends Result>(call: Promise<R>): Promise<Exclude<R["data"], undefined> | null> {
  const r = await call;
  return r.response.status === 304 ? null : unwrap(Promise.resolve(r));
}

type Keyset = { limit?: number; affix?: "prepend" | "append"; createdAt?: number };

// walk follows the cursors away from the start: `next` (older) by default, `previous` (newer)
// for prepend. It stops at an empty page rather than a short one: a server may cap `limit`.
async function* walk<T, Q extends Keyset>(
  list: (q: Q, o: RequestOptions) => Promise<{ data: T[]; meta: PageMeta }>,
  query: Q,
  o: RequestOptions,
): AsyncGenerator<T, void, undefined> {
  const newer = query.affix === "prepend";
  let q: Q = { ...query, limit: query.limit ?? 100 };
  for (;;) {
    const page = await list(q, o);
    yield* newer ? [...page.data].reverse() : page.data;
    const cursor = newer ? page.meta.previous : page.meta.next;
    if (!cursor || page.data.length === 0) return;
    q = { ...q, affix: cursor.affix, createdAt: cursor.createdAt };
  }
}

const req = (o: RequestOptions) => ({ signal: o.signal, headers: o.headers });

/**
 * A client of agentmcp, or of CometChat's Agent Builder API (only the base URL differs).
 * Every non-2xx answer throws `AgentMcpError`; no answer at all, `AgentMcpNetworkError`.
 */
export function createClient(options: ClientOptions): AgentMcpClient {
  const raw = createFetchClient<paths>({
    baseUrl: options.baseUrl,
    headers: options.headers,
    fetch: transport(options),
  });

  const servers: ServersApi = {
    create: (body, o = {}) =>
      unwrap(
        raw.POST("/ai-agents/agent-builder/mcp-servers", {
          body,
          params: { header: { "Idempotency-Key": o.idempotencyKey } },
          ...req(o),
        }),
      ),
    list: (query = {}, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/mcp-servers", { params: { query }, ...req(o) })),
    all: (query = {}, o = {}) => walk(servers.list, query, o),
    get: ((slug: string, o: RequestOptions & { ifNoneMatch?: string } = {}) =>
      unlessNotModified(
        raw.GET("/ai-agents/agent-builder/mcp-servers/{slug}", {
          params: { path: { slug }, header: { "If-None-Match": o.ifNoneMatch } },
          ...req(o),
        }),
      )) as Get<McpServer>,
    update: (slug, patch, o = {}) =>
      unwrap(
        raw.PATCH("/ai-agents/agent-builder/mcp-servers/{slug}", {
          params: { path: { slug }, header: { "If-Match": o.ifMatch } },
          body: patch,
          ...req(o),
        }),
      ),
    delete: async (slug, o = {}) => {
      await unwrap(
        raw.DELETE("/ai-agents/agent-builder/mcp-servers/{slug}", {
          params: { path: { slug }, header: { "If-Match": o.ifMatch } },
          ...req(o),
        }),
      );
    },
    probe: (slug, o = {}) => unwrap(raw.POST("/ai-agents/agent-builder/mcp-servers/{slug}/probe", { params: { path: { slug } }, ...req(o) })),
    tools: (slug, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/mcp-servers/{slug}/tools", { params: { path: { slug } }, ...req(o) })),
    lastProbe: (slug, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/mcp-servers/{slug}/probe", { params: { path: { slug } }, ...req(o) })),
    authorize: (slug, o = {}) =>
      unwrap(raw.POST("/ai-agents/agent-builder/mcp-servers/{slug}/oauth/authorize", { params: { path: { slug } }, ...req(o) })),
  };

  const agents: AgentsApi = {
    create: (body, o = {}) =>
      unwrap(
        raw.POST("/ai-agents/agent-builder/agents", {
          body,
          params: { header: { "Idempotency-Key": o.idempotencyKey } },
          ...req(o),
        }),
      ),
    list: (query = {}, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/agents", { params: { query }, ...req(o) })),
    all: (query = {}, o = {}) => walk(agents.list, query, o),
    get: ((uid: string, o: RequestOptions & { ifNoneMatch?: string } = {}) =>
      unlessNotModified(
        raw.GET("/ai-agents/agent-builder/agents/{uid}", {
          params: { path: { uid }, header: { "If-None-Match": o.ifNoneMatch } },
          ...req(o),
        }),
      )) as Get<Agent>,
    update: (uid, patch, o = {}) =>
      unwrap(
        raw.PATCH("/ai-agents/agent-builder/agents/{uid}", {
          params: { path: { uid }, header: { "If-Match": o.ifMatch } },
          body: patch,
          ...req(o),
        }),
      ),
    delete: async (uid, o = {}) => {
      await unwrap(
        raw.DELETE("/ai-agents/agent-builder/agents/{uid}", {
          params: { path: { uid }, header: { "If-Match": o.ifMatch } },
          ...req(o),
        }),
      );
    },
    attach: (uid, slugs, o = {}) =>
      unwrapData(raw.PATCH("/ai-agents/agent-builder/agents/{uid}/mcp/add", { params: { path: { uid } }, body: { mcps: slugs }, ...req(o) })),
    detach: (uid, slugs, o = {}) =>
      unwrapData(raw.PATCH("/ai-agents/agent-builder/agents/{uid}/mcp/remove", { params: { path: { uid } }, body: { mcps: slugs }, ...req(o) })),
    enabledItems: (uid, query = {}, o = {}) =>
      unwrapData(raw.GET("/ai-agents/agent-builder/agents/{uid}/enabled-items", { params: { path: { uid }, query }, ...req(o) })),
    createKey: (uid, body = {}, o = {}) => unwrap(raw.POST("/ai-agents/agent-builder/agents/{uid}/keys", { params: { path: { uid } }, body, ...req(o) })),
    listKeys: (uid, o = {}) => unwrapData(raw.GET("/ai-agents/agent-builder/agents/{uid}/keys", { params: { path: { uid } }, ...req(o) })),
    revokeKey: async (uid, keyId, o = {}) => {
      await unwrap(raw.DELETE("/ai-agents/agent-builder/agents/{uid}/keys/{keyId}", { params: { path: { uid, keyId } }, ...req(o) }));
    },
    listGrants: (uid, o = {}) => unwrapData(raw.GET("/ai-agents/agent-builder/agents/{uid}/oauth-grants", { params: { path: { uid } }, ...req(o) })),
    revokeGrant: async (uid, grantId, o = {}) => {
      await unwrap(raw.DELETE("/ai-agents/agent-builder/agents/{uid}/oauth-grants/{grantId}", { params: { path: { uid, grantId } }, ...req(o) }));
    },
    listToolChanges: (uid, o = {}) => unwrapData(raw.GET("/ai-agents/agent-builder/agents/{uid}/tool-changes", { params: { path: { uid } }, ...req(o) })),
    decideToolChange: (uid, hash, decision, o = {}) =>
      unwrap(raw.POST("/ai-agents/agent-builder/agents/{uid}/tool-changes/{hash}/{decision}", { params: { path: { uid, hash, decision } }, ...req(o) })),
  };

  const audit: AuditApi = {
    list: (query = {}, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/audit-events", { params: { query }, ...req(o) })),
    all: async function* (query = {}, o = {}) {
      let q = { ...query, limit: query.limit ?? 100 };
      for (;;) {
        const page = await audit.list(q, o);
        yield* page.data;
        if (!page.meta.next || page.data.length === 0) return;
        q = { ...q, before: page.meta.next.before };
      }
    },
  };

  const registry: RegistryApi = {
    get: (o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/registry", { ...req(o) })),
    set: (enabled, o = {}) => unwrap(raw.PUT("/ai-agents/agent-builder/registry", { body: { enabled }, ...req(o) })),
  };

  return { servers, agents, audit, registry, raw };
}
