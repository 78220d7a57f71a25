// The agent's pending tool changes: what a server now offers for a tool (prompt, resource)
// pinned with another definition, as a readable diff, with Approve / Reject by its hash.
import type { ToolChange } from "@agentmcp/client";
import { api } from "./api";
import { Button, ErrorBox, Loading, Time, useAction, useLoad } from "./ui";

/** A definition as "key: value" lines; nested values (schemas) as indented JSON. */
export function definitionLines(def: Record<string, unknown> | null | undefined): string[] {
  if (!def) return [];
  const out: string[] = [];
  for (const k of Object.keys(def).sort()) {
    const v = def[k];
    if (typeof v === "string") out.push(`${k}: ${v}`);
    else for (const [i, l] of JSON.stringify(v, null, 2).split("\n").entries()) out.push(i === 0 ? `${k}: ${l}` : `  ${l}`);
  }
  return out;
}

/** A line diff (longest common subsequence): each line kept, removed or added. */
export function diffLines(before: string[], after: string[]): { op: " " | "-" | "+"; text: string }[] {
  const n = before.length, m = after.length;
  // lcs[i * (m + 1) + j]: the longest common subsequence of before[i:] and after[j:].
  const lcs = new Array<number>((n + 1) * (m + 1)).fill(0);
  const at = (i: number, j: number) => lcs[i * (m + 1) + j] ?? 0;
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i * (m + 1) + j] = before[i] === after[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
  const out: { op: " " | "-" | "+"; text: string }[] = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    const b = before[i] ?? "", a = after[j] ?? "";
    if (i < n && j < m && b === a) {
      out.push({ op: " ", text: b });
      i++;
      j++;
    } else if (j < m && (i === n || at(i, j + 1) >= at(i + 1, j))) {
      out.push({ op: "+", text: a });
      j++;
    } else {
      out.push({ op: "-", text: b });
      i++;
    }
  }
  return out;
}

/** What each scanner flag means, in words. */
export const flagText: Record<string, string> = {
  instructions: "speaks to the model",
  hidden_unicode: "hidden characters",
  hidden_markup: "hidden markup",
  long: "very long",
};

export function ToolChanges({ uid, onDecided }: { uid: string; onDecided: () => void }) {
  const changes = useLoad((signal) => api.agents.listToolChanges(uid, { signal }), [uid]);
  const decide = useAction(async (c: ToolChange, decision: "approve" | "reject") => {
    try {
      await api.agents.decideToolChange(uid, c.hash, decision);
    } finally {
      changes.reload();
      onDecided();
    }
  });
  const list = changes.data ?? [];
  return (
    <section aria-labelledby="changes-h">
      <h2 id="changes-h">Tool changes</h2>
      <p>
        Definitions its servers offer now that differ from the ones pinned for this agent (or are new). Under pinning <code>enforce</code> the
        gateway withholds them until approved; approval is for the definition shown, by its hash.
      </p>
      {changes.loading && !changes.data && <Loading label="Loading tool changes…" />}
      <ErrorBox error={changes.error} />
      <ErrorBox error={decide.error} title="Not decided." />
      {changes.data && list.length === 0 && <p>None: every definition is the one approved.</p>}
      {list.map((c) => (
        <article class="change" key={c.hash} aria-label={`${c.kind} ${c.name} of ${c.server}`}>
          <h3>
            {c.kind} <code>{c.name}</code> of <code>{c.server}</code> — {c.status === "rejected" ? "rejected" : c.before ? "changed" : "new"}
          </h3>
          <p class="muted">
            hash <code>{c.hash}</code> · <Time ms={c.updatedAt} />
            {c.flags.length > 0 && <span class="field-error"> Flagged: {c.flags.map((f) => flagText[f] ?? f).join(", ")}</span>}
          </p>
          <pre class="diff" aria-label="Definition, before and after">
            {diffLines(definitionLines(c.before), definitionLines(c.after)).map((l, i) => (
              <span key={i} class={l.op === "+" ? "add" : l.op === "-" ? "del" : ""}>
                {l.op} {l.text}
                {"\n"}
              </span>
            ))}
          </pre>
          <div class="actions">
            <Button variant="primary" small busy={decide.busy} onClick={() => decide.run(c, "approve")}>
              Approve
            </Button>
            {c.status !== "rejected" && (
              <Button small busy={decide.busy} onClick={() => decide.run(c, "reject")}>
                Reject
              </Button>
            )}
          </div>
        </article>
      ))}
    </section>
  );
}
