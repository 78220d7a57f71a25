import createFetchClient, {} from "openapi-fetch";
import { AgentMcpError } from "./errors.js";
import { transport } from "./transport.js";
// Responses of the objects this client returned, for etagOf/responseOf.
const responses = new WeakMap();
/** The HTTP response an object returned by this client came from (its headers: ETag, Idempotency-Replayed, X-RateLimit-*…). */
export function responseOf(value) {
    return responses.get(value);
}
/** The ETag of a record returned by create, get, update, attach or detach; pass it as `ifMatch`. */
export function etagOf(value) {
    return responses.get(value)?.headers.get("ETag") ?? undefined;
}
function remember(value, response) {
    if (value && typeof value === "object")
        responses.set(value, response);
    return value;
}
/** The data of a successful openapi-fetch call; any other status throws `AgentMcpError`. */
export async function unwrap(call) {
    const r = await call;
    if (!r.response.ok)
        throw new AgentMcpError(r.response.status, r.error, r.response.headers);
    return remember(r.data, r.response);
}
// unwrapData is unwrap for answers that wrap the record in {data}.
async function unwrapData(call) {
    const r = await call;
    const env = await unwrap(Promise.resolve(r));
    return remember(env.data, r.response);
}
async function unlessNotModified(call) {
    const r = await call;
    return r.response.status === 304 ? null : unwrap(Promise.resolve(r));
}
// walk follows the cursors away from the start: `next` (older) by default, `previous` (newer)
// for prepend. It stops at an empty page rather than a short one: a server may cap `limit`.
async function* walk(list, query, o) {
    const newer = query.affix === "prepend";
    let q = { ...query, limit: query.limit ?? 100 };
    for (;;) {
        const page = await list(q, o);
        yield* newer ? [...page.data].reverse() : page.data;
        const cursor = newer ? page.meta.previous : page.meta.next;
        if (!cursor || page.data.length === 0)
            return;
        q = { ...q, affix: cursor.affix, createdAt: cursor.createdAt };
    }
}
const req = (o) => ({ signal: o.signal, headers: o.headers });
/**
 * A client of agentmcp, or of CometChat's Agent Builder API (only the base URL differs).
 * Every non-2xx answer throws `AgentMcpError`; no answer at all, `AgentMcpNetworkError`.
 */
export function createClient(options) {
    const raw = createFetchClient({
        baseUrl: options.baseUrl,
        headers: options.headers,
        fetch: transport(options),
    });
    const servers = {
        create: (body, o = {}) => unwrap(raw.POST("/ai-agents/agent-builder/mcp-servers", {
            body,
            params: { header: { "Idempotency-Key": o.idempotencyKey } },
            ...req(o),
        })),
        list: (query = {}, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/mcp-servers", { params: { query }, ...req(o) })),
        all: (query = {}, o = {}) => walk(servers.list, query, o),
        get: ((slug, o = {}) => unlessNotModified(raw.GET("/ai-agents/agent-builder/mcp-servers/{slug}", {
            params: { path: { slug }, header: { "If-None-Match": o.ifNoneMatch } },
            ...req(o),
        }))),
        update: (slug, patch, o = {}) => unwrap(raw.PATCH("/ai-agents/agent-builder/mcp-servers/{slug}", {
            params: { path: { slug }, header: { "If-Match": o.ifMatch } },
            body: patch,
            ...req(o),
        })),
        delete: async (slug, o = {}) => {
            await unwrap(raw.DELETE("/ai-agents/agent-builder/mcp-servers/{slug}", {
                params: { path: { slug }, header: { "If-Match": o.ifMatch } },
                ...req(o),
            }));
        },
        probe: (slug, o = {}) => unwrap(raw.POST("/ai-agents/agent-builder/mcp-servers/{slug}/probe", { params: { path: { slug } }, ...req(o) })),
        tools: (slug, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/mcp-servers/{slug}/tools", { params: { path: { slug } }, ...req(o) })),
        lastProbe: (slug, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/mcp-servers/{slug}/probe", { params: { path: { slug } }, ...req(o) })),
        authorize: (slug, o = {}) => unwrap(raw.POST("/ai-agents/agent-builder/mcp-servers/{slug}/oauth/authorize", { params: { path: { slug } }, ...req(o) })),
    };
    const agents = {
        create: (body, o = {}) => unwrap(raw.POST("/ai-agents/agent-builder/agents", {
            body,
            params: { header: { "Idempotency-Key": o.idempotencyKey } },
            ...req(o),
        })),
        list: (query = {}, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/agents", { params: { query }, ...req(o) })),
        all: (query = {}, o = {}) => walk(agents.list, query, o),
        get: ((uid, o = {}) => unlessNotModified(raw.GET("/ai-agents/agent-builder/agents/{uid}", {
            params: { path: { uid }, header: { "If-None-Match": o.ifNoneMatch } },
            ...req(o),
        }))),
        update: (uid, patch, o = {}) => unwrap(raw.PATCH("/ai-agents/agent-builder/agents/{uid}", {
            params: { path: { uid }, header: { "If-Match": o.ifMatch } },
            body: patch,
            ...req(o),
        })),
        delete: async (uid, o = {}) => {
            await unwrap(raw.DELETE("/ai-agents/agent-builder/agents/{uid}", {
                params: { path: { uid }, header: { "If-Match": o.ifMatch } },
                ...req(o),
            }));
        },
        attach: (uid, slugs, o = {}) => unwrapData(raw.PATCH("/ai-agents/agent-builder/agents/{uid}/mcp/add", { params: { path: { uid } }, body: { mcps: slugs }, ...req(o) })),
        detach: (uid, slugs, o = {}) => unwrapData(raw.PATCH("/ai-agents/agent-builder/agents/{uid}/mcp/remove", { params: { path: { uid } }, body: { mcps: slugs }, ...req(o) })),
        enabledItems: (uid, query = {}, o = {}) => unwrapData(raw.GET("/ai-agents/agent-builder/agents/{uid}/enabled-items", { params: { path: { uid }, query }, ...req(o) })),
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
        decideToolChange: (uid, hash, decision, o = {}) => unwrap(raw.POST("/ai-agents/agent-builder/agents/{uid}/tool-changes/{hash}/{decision}", { params: { path: { uid, hash, decision } }, ...req(o) })),
    };
    const audit = {
        list: (query = {}, o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/audit-events", { params: { query }, ...req(o) })),
        all: async function* (query = {}, o = {}) {
            let q = { ...query, limit: query.limit ?? 100 };
            for (;;) {
                const page = await audit.list(q, o);
                yield* page.data;
                if (!page.meta.next || page.data.length === 0)
                    return;
                q = { ...q, before: page.meta.next.before };
            }
        },
    };
    const registry = {
        get: (o = {}) => unwrap(raw.GET("/ai-agents/agent-builder/registry", { ...req(o) })),
        set: (enabled, o = {}) => unwrap(raw.PUT("/ai-agents/agent-builder/registry", { body: { enabled }, ...req(o) })),
    };
    return { servers, agents, audit, registry, raw };
}
