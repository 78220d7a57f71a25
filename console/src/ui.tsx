// Building blocks every page shares: loading, errors, fields with their API errors, busy
// buttons, health badges, times, copy buttons and confirmation dialogs.
import type { ComponentChildren, JSX } from "preact";
import { useCallback, useEffect, useId, useRef, useState } from "preact/hooks";
import type { HealthStatus, McpServerHealth } from "@agentmcp/client";
import { describeError, errorReference } from "./api";

/** useLoad runs load on mount and whenever deps change; reload runs it again. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    load(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, loading: false }),
      (error) => !ctl.signal.aborted && setState({ error, loading: false }),
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload, set: (data: T) => setState({ data, loading: false }) };
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** A failure in words, with the code and request id for whoever reads agentmcp's log. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const ref = errorReference(error);
  return (
    <div class="error-box" role="alert">
      {title && <strong>{title} </strong>}
      {describeError(error)}
      {ref && <div class="ref">{ref}</div>}
    </div>
  );
}

// The first view of a page load leaves focus at the document's start (the skip link next).
let firstView = true;

/** A page heading that takes focus when the view changes, so screen readers announce it. */
export function PageTitle({ children, title }: { children: ComponentChildren; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · agentmcp console`;
    if (firstView) firstView = false;
    else ref.current?.focus({ preventScroll: false });
  }, [title]);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

interface FieldProps {
  label: string;
  name: string;
  value: string;
  onInput: (v: string) => void;
  error?: string;
  hint?: ComponentChildren;
  type?: string;
  multiline?: boolean;
  required?: boolean;
  readOnly?: boolean;
  autoComplete?: string;
  placeholder?: string;
  spellcheck?: boolean;
}

/** A labelled input with its hint and the API's error for it beside it. */
export function Field(p: FieldProps) {
  const id = `f-${p.name}-${useId()}`;
  const hintId = p.hint ? `${id}-hint` : undefined;
  const errId = p.error ? `${id}-err` : undefined;
  const common = {
    id,
    name: p.name,
    value: p.value,
    onInput: (e: JSX.TargetedEvent<HTMLInputElement | HTMLTextAreaElement>) => p.onInput(e.currentTarget.value),
    "aria-invalid": p.error ? ("true" as const) : undefined,
    "aria-describedby": [errId, hintId].filter(Boolean).join(" ") || undefined,
    "aria-required": p.required ? ("true" as const) : undefined,
    readOnly: p.readOnly,
    autoComplete: p.autoComplete ?? "off",
    placeholder: p.placeholder,
    spellcheck: p.spellcheck ?? false,
  };
  return (
    <div class={`field${p.error ? " invalid" : ""}`}>
      <label for={id}>
        {p.label}
        {p.required && <span class="req"> (required)</span>}
      </label>
      {p.multiline ? <textarea rows={3} {...common} /> : <input type={p.type ?? "text"} {...common} />}
      {p.hint && (
        <div class="hint" id={hintId}>
          {p.hint}
        </div>
      )}
      {p.error && (
        <div class="field-error" id={errId}>
          {p.error}
        </div>
      )}
    </div>
  );
}

type ButtonProps = Omit<JSX.ButtonHTMLAttributes<HTMLButtonElement>, "type"> & {
  busy?: boolean;
  busyLabel?: string;
  variant?: "primary" | "danger" | "plain";
  small?: boolean;
  type?: "button" | "submit";
};

/** A button that says what it is doing while its action runs, and cannot be pressed twice. */
export function Button({ busy, busyLabel, variant = "plain", small, children, type = "button", disabled, ...rest }: ButtonProps) {
  return (
    <button {...rest} type={type} class={`btn btn-${variant}${small ? " btn-small" : ""}`} disabled={busy || (disabled as boolean)} aria-busy={busy ? "true" : undefined}>
      {busy && <span class="spinner" aria-hidden="true" />}
      {busy && busyLabel ? busyLabel : children}
    </button>
  );
}

/** useAction runs an async action once at a time and keeps its error. */
export function useAction<A extends unknown[]>(fn: (...a: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (...a: A) => {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      await fn(...a);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}

export const healthText: Record<HealthStatus, string> = {
  ok: "Healthy",
  auth_required: "Needs credentials",
  not_mcp: "Not an MCP server",
  unreachable: "Unreachable",
  timeout: "Timed out",
  blocked: "Blocked: private address",
};

export function HealthBadge({ health }: { health?: McpServerHealth | { status: HealthStatus } }) {
  if (!health) return <span class="badge badge-unknown">Not probed</span>;
  const cls = health.status === "ok" ? "ok" : health.status === "auth_required" ? "warn" : "bad";
  return <span class={`badge badge-${cls}`}>{healthText[health.status]}</span>;
}

/** A server's tool count in a list: a number only when the last probe listed the tools. */
export function toolsCell(health?: McpServerHealth) {
  if (!health) return <span class="muted">not probed</span>;
  if (health.status !== "ok") return <span class="muted" title="The last probe did not list tools">—</span>;
  return (
    <>
      {health.toolCount}
      <span class="unit"> {health.toolCount === 1 ? "tool" : "tools"}</span>
    </>
  );
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

function relative(ms: number): string {
  const s = Math.round((ms - Date.now()) / 1000);
  const a = Math.abs(s);
  if (a < 45) return rtf.format(s, "second");
  if (a < 2700) return rtf.format(Math.round(s / 60), "minute");
  if (a < 64800) return rtf.format(Math.round(s / 3600), "hour");
  if (a < 2592000) return rtf.format(Math.round(s / 86400), "day");
  return new Date(ms).toLocaleDateString();
}

/** A time as "3 minutes ago", with the exact one in its title and datetime. */
export function Time({ ms }: { ms: number | null | undefined }) {
  if (!ms) return <span>—</span>;
  const d = new Date(ms);
  return (
    <time dateTime={d.toISOString()} title={d.toLocaleString()}>
      {relative(ms)}
    </time>
  );
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // Not a secure context, or no permission: the old way, through a selection.
  }
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.className = "offscreen";
  document.body.append(ta);
  ta.select();
  const ok = document.execCommand("copy");
  ta.remove();
  if (!ok) throw new Error("The browser did not allow copying: select the text and copy it by hand.");
}

/** Copies text; says so in a live region (and why not, when the browser refuses). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState("");
  useEffect(() => {
    if (!said) return;
    const t = setTimeout(() => setSaid(""), 4000);
    return () => clearTimeout(t);
  }, [said]);
  return (
    <span class="copy">
      <button
        type="button"
        class="btn btn-plain btn-small"
        onClick={() =>
          copyText(text).then(
            () => setSaid("Copied"),
            (e: Error) => setSaid(e.message),
          )
        }
      >
        {label}
      </button>
      <span class="copy-status" role="status">
        {said}
      </span>
    </span>
  );
}

/** A code block with a copy button; the label names what is copied. */
export function CodeBlock({ code, label, title }: { code: string; label: string; title: string }) {
  const id = useId();
  return (
    <figure class="code">
      <figcaption id={id}>
        <span>{title}</span>
        <CopyButton text={code} label={label} />
      </figcaption>
      <pre tabIndex={0} aria-labelledby={id}>
        <code>{code}</code>
      </pre>
    </figure>
  );
}

interface ConfirmProps {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  busyLabel: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  danger?: boolean;
  ready?: boolean;
}

/**
 * A modal confirmation (the native dialog: focus stays inside, Escape cancels, focus returns
 * to the opener). The action's failure is shown in the dialog.
 */
export function Confirm(p: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const act = useAction(p.onConfirm);
  const titleId = useId();
  useEffect(() => {
    opener.current = document.activeElement;
    const d = ref.current;
    d?.showModal();
    return () => {
      // Closed first: while it is modal, everything outside it is inert and cannot take focus.
      d?.close();
      (opener.current as HTMLElement | null)?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        if (!act.busy) p.onClose();
      }}
    >
      <h2 id={titleId}>{p.title}</h2>
      <div class="dialog-body">{p.children}</div>
      <ErrorBox error={act.error} />
      <div class="actions">
        <Button onClick={p.onClose} disabled={act.busy} autoFocus>
          Cancel
        </Button>
        <Button variant={p.danger ? "danger" : "primary"} busy={act.busy} busyLabel={p.busyLabel} disabled={p.ready === false} onClick={() => act.run()}>
          {p.confirmLabel}
        </Button>
      </div>
    </dialog>
  );
}

/** A message for the next page (after a delete, say), shown once in a live region. */
let flashText = "";
export const flash = (text: string) => {
  flashText = text;
};
export function Flash() {
  const [text] = useState(() => {
    const t = flashText;
    flashText = "";
    return t;
  });
  return text ? (
    <p class="flash" role="status">
      {text}
    </p>
  ) : null;
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="json" tabIndex={0} aria-label={label}>
      <code>{JSON.stringify(value, null, 2)}</code>
    </pre>
  );
}

export interface TabItem {
  title: string;
  content: ComponentChildren;
}

/** Tabs as the ARIA pattern has them: one Tab stop, arrows, Home and End move between tabs. */
export function Tabs({ label, tabs }: { label: string; tabs: TabItem[] }) {
  const [sel, setSel] = useState(0);
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const base = useId();
  const go = (i: number) => {
    const n = (i + tabs.length) % tabs.length;
    setSel(n);
    refs.current[n]?.focus();
  };
  const onKey = (e: KeyboardEvent) => {
    const to = { ArrowRight: sel + 1, ArrowLeft: sel - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    go(to);
  };
  return (
    <div class="tabs">
      <div role="tablist" aria-label={label} onKeyDown={onKey}>
        {tabs.map((t, i) => (
          <button
            key={t.title}
            type="button"
            role="tab"
            id={`${base}-tab${i}`}
            aria-controls={`${base}-panel${i}`}
            aria-selected={i === sel}
            tabIndex={i === sel ? 0 : -1}
            ref={(el) => {
              refs.current[i] = el;
            }}
            onClick={() => setSel(i)}
          >
            {t.title}
          </button>
        ))}
      </div>
      {tabs.map((t, i) => (
        <div key={t.title} role="tabpanel" id={`${base}-panel${i}`} aria-labelledby={`${base}-tab${i}`} hidden={i !== sel}>
          {t.content}
        </div>
      ))}
    </div>
  );
}
