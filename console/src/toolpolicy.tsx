// The agent's tool policy editor: per attached server, every tool or only the checked ones,
// and new names; saved as the whole gateway.servers map by one PATCH of the agent (with its
// ETag), the API's 400/409 shown at the field it names, nothing changed on error.
import { useEffect, useRef, useState } from "preact/hooks";
import { AgentMcpError, etagOf, type Agent, type EnabledMcpServer } from "@agentmcp/client";
import { api } from "./api";
import { allowField, draftOf, placeErrors, policyOf, renameField, serverField, updateServer, updateTool, usualName, type PolicyErrors, type ServerDraft } from "./policy";
import { Button, ErrorBox, useAction } from "./ui";

const noErrors: PolicyErrors = { at: {}, other: [] };

export function ToolPolicyEditor({ agent, servers, onDone }: { agent: Agent; servers: EnabledMcpServer[]; onDone: (saved?: Agent) => void }) {
  const [drafts, setDrafts] = useState<ServerDraft[]>(() => draftOf(agent.gateway.servers, servers));
  const [errs, setErrs] = useState<PolicyErrors>(noErrors);
  // A server detached meanwhile (its Detach button stays usable) is neither shown nor sent.
  const shown = drafts.filter((d) => servers.some((m) => m.slug === d.slug));
  const formRef = useRef<HTMLFormElement>(null);
  // The button that opened the editor is gone: focus its first choice.
  useEffect(() => formRef.current?.querySelector<HTMLElement>("input:checked")?.focus(), []);
  const save = useAction(async () => {
    setErrs(noErrors);
    try {
      onDone(await api.agents.update(agent.uid, { gateway: { servers: policyOf(shown) } }, { ifMatch: etagOf(agent) }));
    } catch (e) {
      if (e instanceof AgentMcpError) setErrs(placeErrors(e.details, shown));
      requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus());
      throw e;
    }
  });
  const placed = Object.keys(errs.at).length > 0;
  return (
    <form ref={formRef} class="picker policy" noValidate onSubmit={(e) => (e.preventDefault(), save.run())}>
      <p class="hint">
        For each server: the tools the agent gets, and a new name for any of them (letters, digits, _ and -, up to 64; unique within the agent). A new
        name replaces the usual one, prefix and all.
      </p>
      {shown.map((d) => (
        <ServerPolicy
          key={d.slug}
          d={d}
          toolNames={agent.gateway.toolNames}
          errs={errs}
          set={(f) => setDrafts((all) => updateServer(all, d.slug, f))}
        />
      ))}
      {errs.other.length > 0 && (
        <ul class="error-box" aria-label="Other problems">
          {errs.other.map((o) => (
            <li key={o}>{o}</li>
          ))}
        </ul>
      )}
      {placed ? (
        <div class="error-box" role="alert">
          <strong>Not saved. </strong>The marked fields need fixing; nothing was changed.
        </div>
      ) : (
        <ErrorBox error={save.error} title="Not saved." />
      )}
      <div class="actions">
        <Button type="submit" variant="primary" busy={save.busy} busyLabel="Saving…">
          Save tool policy
        </Button>
        <Button onClick={() => onDone()}>Cancel</Button>
      </div>
    </form>
  );
}

function ServerPolicy({ d, toolNames, errs, set }: { d: ServerDraft; toolNames: Agent["gateway"]["toolNames"]; errs: PolicyErrors; set: (f: (d: ServerDraft) => ServerDraft) => void }) {
  const id = `pol-${d.slug}`;
  const serverErr = errs.at[serverField(d.slug)];
  const allowErr = errs.at[allowField(d.slug)];
  const bad = serverErr ?? allowErr;
  return (
    <fieldset class={bad ? "invalid" : undefined} aria-describedby={bad ? `${id}-err` : undefined}>
      <legend>
        {d.name} <code>{d.slug}</code>
      </legend>
      <div class="radios">
        <div class="radio">
          <input
            type="radio"
            id={`${id}-all`}
            name={`${id}-mode`}
            checked={!d.only}
            aria-invalid={bad ? "true" : undefined}
            onChange={() => set((x) => ({ ...x, only: false }))}
          />
          <label for={`${id}-all`}>Every tool it offers, now and later</label>
        </div>
        <div class="radio">
          <input type="radio" id={`${id}-only`} name={`${id}-mode`} checked={d.only} onChange={() => set((x) => ({ ...x, only: true }))} />
          <label for={`${id}-only`}>Only the checked tools</label>
        </div>
      </div>
      {d.tools.length === 0 ? (
        <p class="hint">It offers no tools that agentmcp knows of: probe the server to list them.</p>
      ) : (
        <table class="list policy-tools">
          <caption class="sr-only">Tools of {d.name}</caption>
          <thead>
            <tr>
              <th scope="col">Tool</th>
              <th scope="col">Served as</th>
            </tr>
          </thead>
          <tbody>
            {d.tools.map((t, i) => {
              const on = !d.only || t.allowed;
              const field = renameField(d.slug, t.tool);
              const err = errs.at[field];
              const rid = `${id}-t${i}`;
              return (
                <tr key={t.tool}>
                  <td data-label="Tool">
                    <div class="radio">
                      <input
                        type="checkbox"
                        id={`${rid}-on`}
                        name={allowField(d.slug)}
                        value={t.tool}
                        checked={on}
                        disabled={!d.only}
                        onChange={(e) => {
                          const v = e.currentTarget.checked;
                          set((x) => updateTool(x, t.tool, (y) => ({ ...y, allowed: v })));
                        }}
                      />
                      <label for={`${rid}-on`}>
                        <code>{t.tool}</code>
                        {!t.offered && <span class="hint"> (not offered now)</span>}
                      </label>
                    </div>
                  </td>
                  <td data-label="Served as">
                    <div class={`field${err ? " invalid" : ""}`}>
                      <label class="sr-only" for={`${rid}-as`}>
                        New name for {t.tool}
                      </label>
                      <input
                        id={`${rid}-as`}
                        name={field}
                        value={t.rename}
                        placeholder={usualName(toolNames, d.slug, t.tool)}
                        disabled={!on}
                        autoComplete="off"
                        spellcheck={false}
                        aria-invalid={err ? "true" : undefined}
                        aria-describedby={err ? `${rid}-err` : undefined}
                        onInput={(e) => {
                          const v = e.currentTarget.value;
                          set((x) => updateTool(x, t.tool, (y) => ({ ...y, rename: v })));
                        }}
                      />
                      {err && (
                        <div class="field-error" id={`${rid}-err`}>
                          {err}
                        </div>
                      )}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {bad && (
        <div class="field-error" id={`${id}-err`}>
          {[serverErr, allowErr].filter(Boolean).join("; ")}
        </div>
      )}
    </fieldset>
  );
}
