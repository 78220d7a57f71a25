/** What the client sends requests through: `globalThis.fetch` or a function like it. */
export type FetchLike = (request: Request) => Promise<Response>;
/**
 * Retries of requests that are safe to repeat: GET and HEAD, and POST carrying an
 * `Idempotency-Key` (the server replays the first answer). Nothing else is ever retried.
 */
export interface RetryOptions {
    /** Retries after the first attempt (default 2; 0 turns retrying off). */
    retries?: number;
    /** The first backoff (default 200 ms); it doubles each retry, with jitter. */
    minDelayMs?: number;
    /** The longest wait (default 10 s). A `Retry-After` longer than this is not waited for: the error is thrown. */
    maxDelayMs?: number;
}
export interface TransportOptions {
    apiKey?: string | (() => string | undefined | Promise<string | undefined>);
    fetch?: FetchLike;
    retry?: RetryOptions | false;
    timeoutMs?: number;
    maxResponseBytes?: number;
}
/**
 * transport wraps fetch with what every call needs: the `apikey` header, a time limit per
 * attempt, a bound on the response body (read whole here, so the time limit covers it), and
 * bounded retries with backoff that honours `Retry-After`.
 */
export declare function transport(o: TransportOptions): FetchLike;
