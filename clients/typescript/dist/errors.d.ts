import type { components } from "./schema.js";
export type ErrorResponse = components["schemas"]["ErrorResponse"];
export type ErrorDetail = components["schemas"]["ErrorDetail"];
/**
 * The API answered with a status outside 2xx. `code`, `message` and `details` come from the
 * ErrorResponse body; a body that is not one (a proxy's page, say) leaves `code` empty.
 */
export declare class AgentMcpError extends Error {
    readonly name = "AgentMcpError";
    /** The HTTP status. */
    readonly status: number;
    /** The stable machine-readable code, e.g. `ERR_SLUG_ALREADY_EXISTS`; `""` if the body had none. */
    readonly code: string;
    /** For validation failures, every problem found. */
    readonly details: ErrorDetail[];
    /** The response's `X-Request-Id`, to find the request in the server's log. */
    readonly requestId: string | undefined;
    /** From `Retry-After` (429, 503): how long to wait before trying again. */
    readonly retryAfterMs: number | undefined;
    /** The response's headers. */
    readonly headers: Headers;
    constructor(status: number, body: unknown, headers: Headers);
}
/**
 * No usable answer: the connection failed or broke, the attempt timed out (`timedOut`), or the
 * response was larger than the client accepts. `cause` holds what fetch threw. Retries, where
 * they are safe, have already been made.
 */
export declare class AgentMcpNetworkError extends Error {
    readonly name = "AgentMcpNetworkError";
    readonly method: string;
    readonly url: string;
    readonly timedOut: boolean;
    constructor(method: string, url: string, reason: string, options?: {
        cause?: unknown;
        timedOut?: boolean;
    });
}
/** Retry-After in milliseconds: delay-seconds or an HTTP date; undefined when absent or bad. */
export declare function parseRetryAfter(v: string | null): number | undefined;
