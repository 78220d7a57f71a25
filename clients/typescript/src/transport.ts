import { AgentMcpNetworkError, parseRetryAfter } from "./errors.js";

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

const retriedStatuses = new Set([429, 500, 502, 503, 504]);
const nullBodyStatuses = new Set([101, 204, 205, 304]);
// Failures that the same request would meet again (an oversized body): never retried.
const final = new WeakSet<Error>();

/**
 * transport wraps fetch with what every call needs: the `apikey` header, a time limit per
 * attempt, a bound on the response body (read whole here, so the time limit covers it), and
 * bounded retries with backoff that honours `Retry-After`.
 */
export function transport(o: TransportOptions): FetchLike {
  const send = o.fetch ?? ((r: Request) => globalThis.fetch(r));
  const retry = o.retry === false ? { retries: 0 } : (o.retry ?? {});
  const retries = Math.max(0, retry.retries ?? 2);
  const minDelay = retry.minDelayMs ?? 200;
  const maxDelay = retry.maxDelayMs ?? 10_000;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const maxBytes = o.maxResponseBytes ?? 32 << 20;

  const once = async (req: Request): Promise<Response> => {
    const caller = req.signal;
    if (caller.aborted) throw caller.reason;
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(caller.reason);
    caller.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            ctl.abort();
          }, timeoutMs)
        : undefined;
    try {
      const res = await send(new Request(req, { signal: ctl.signal }));
      const body = await readBounded(res, maxBytes, req);
      return new Response(nullBodyStatuses.has(res.status) ? null : body, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    } catch (e) {
      if (caller.aborted) throw caller.reason;
      if (e instanceof AgentMcpNetworkError) throw e;
      const reason = timedOut ? `no answer within ${timeoutMs} ms` : describe(e);
      throw new AgentMcpNetworkError(req.method, req.url, reason, { cause: e, timedOut });
    } finally {
      clearTimeout(timer);
      caller.removeEventListener("abort", onAbort);
    }
  };

  // delay says how long to wait before retrying, or undefined to stop.
  const delay = async (attempt: number, res: Response | undefined): Promise<number | undefined> => {
    const backoff = Math.min(maxDelay, minDelay * 2 ** attempt) * (0.5 + Math.random() / 2);
    if (!res) return backoff;
    if (res.status === 409) {
      // Another request with this Idempotency-Key is still running: its answer will be replayed.
      return (await bodyCode(res)) === "ERR_IDEMPOTENCY_IN_PROGRESS" ? backoff : undefined;
    }
    if (!retriedStatuses.has(res.status)) return undefined;
    const after = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get("Retry-After")) : undefined;
    if (after === undefined) return backoff;
    return after <= maxDelay ? after : undefined;
  };

  return async (req: Request): Promise<Response> => {
    const key = typeof o.apiKey === "function" ? await o.apiKey() : o.apiKey;
    if (key && !req.headers.has("apikey")) req.headers.set("apikey", key);
    const safe = req.method === "GET" || req.method === "HEAD" || (req.method === "POST" && req.headers.has("Idempotency-Key"));
    const max = safe ? retries : 0;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= max;
      let res: Response | undefined;
      let failure: AgentMcpNetworkError | undefined;
      try {
        res = await once(last ? req : req.clone());
      } catch (e) {
        if (last || !(e instanceof AgentMcpNetworkError) || final.has(e)) throw e;
        failure = e;
      }
      if (last) return res!;
      const wait = await delay(attempt, res);
      if (wait === undefined) {
        if (failure) throw failure;
        return res!;
      }
      await sleep(wait, req.signal);
    }
  };
}

async function readBounded(res: Response, max: number, req: Request): Promise<Uint8Array<ArrayBuffer> | null> {
  const tooLarge = () => {
    const e = new AgentMcpNetworkError(req.method, req.url, `response body larger than ${max} bytes`);
    final.add(e);
    return e;
  };
  if (Number(res.headers.get("Content-Length")) > max) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

async function bodyCode(res: Response): Promise<string | undefined> {
  try {
    const b: unknown = await res.clone().json();
    return b && typeof b === "object" && "code" in b && typeof b.code === "string" ? b.code : undefined;
  } catch {
    return undefined;
  }
}

// describe names what fetch threw; undici hides the reason (ECONNREFUSED, …) in its cause.
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause;
  if (cause && typeof cause === "object" && "code" in cause && typeof cause.code === "string") return `${e.message} (${cause.code})`;
  return e.message;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
