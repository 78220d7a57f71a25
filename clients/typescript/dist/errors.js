/** The text of a non-ErrorResponse body kept in a message, at most. */
const maxBodyInMessage = 200;
/**
 * The API answered with a status outside 2xx. `code`, `message` and `details` come from the
 * ErrorResponse body; a body that is not one (a proxy's page, say) leaves `code` empty.
 */
export class AgentMcpError extends Error {
    name = "AgentMcpError";
    /** The HTTP status. */
    status;
    /** The stable machine-readable code, e.g. `ERR_SLUG_ALREADY_EXISTS`; `""` if the body had none. */
    code;
    /** For validation failures, every problem found. */
    details;
    /** The response's `X-Request-Id`, to find the request in the server's log. */
    requestId;
    /** From `Retry-After` (429, 503): how long to wait before trying again. */
    retryAfterMs;
    /** The response's headers. */
    headers;
    constructor(status, body, headers) {
        const e = errorFields(body);
        super(e.message || `HTTP ${status}` + (typeof body === "string" && body.trim() ? `: ${body.trim().slice(0, maxBodyInMessage)}` : ""));
        this.status = status;
        this.code = e.code;
        this.details = e.details;
        this.headers = headers;
        this.requestId = headers.get("X-Request-Id") ?? undefined;
        this.retryAfterMs = parseRetryAfter(headers.get("Retry-After"));
    }
}
/**
 * No usable answer: the connection failed or broke, the attempt timed out (`timedOut`), or the
 * response was larger than the client accepts. `cause` holds what fetch threw. Retries, where
 * they are safe, have already been made.
 */
export class AgentMcpNetworkError extends Error {
    name = "AgentMcpNetworkError";
    method;
    url;
    timedOut;
    constructor(method, url, reason, options = {}) {
        super(`${method} ${url}: ${reason}`, { cause: options.cause });
        this.method = method;
        this.url = url;
        this.timedOut = options.timedOut ?? false;
    }
}
// errorFields reads agentmcp's ErrorResponse, and the shapes CometChat is known to answer with
// ({statusCode, message: string | string[], error} and {error: {code, message}}).
function errorFields(body) {
    const out = { code: "", message: "", details: [] };
    if (!body || typeof body !== "object")
        return out;
    let b = body;
    if (b.error && typeof b.error === "object")
        b = b.error;
    if (typeof b.code === "string")
        out.code = b.code;
    if (typeof b.message === "string")
        out.message = b.message;
    else if (Array.isArray(b.message))
        out.message = b.message.filter((m) => typeof m === "string").join("; ");
    if (Array.isArray(b.details)) {
        out.details = b.details.filter((d) => !!d && typeof d === "object" && typeof d.field === "string" && typeof d.message === "string");
    }
    return out;
}
/** Retry-After in milliseconds: delay-seconds or an HTTP date; undefined when absent or bad. */
export function parseRetryAfter(v) {
    if (v === null || v.trim() === "")
        return undefined;
    if (/^\s*\d+\s*$/.test(v))
        return Number(v) * 1000;
    const at = Date.parse(v);
    return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
