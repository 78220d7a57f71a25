import { useState } from "preact/hooks";
import { AgentMcpError, api, withKey } from "./api";
import { Button, ErrorBox, Field, PageTitle } from "./ui";

/**
 * Sign-in checks the key with one read of the MCP servers before keeping it (in
 * sessionStorage: this tab only, gone when it closes).
 */
export function SignIn({ reason, onSignedIn }: { reason: string; onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [fieldError, setFieldError] = useState("");
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setFieldError("");
    setError(undefined);
    const k = key.trim();
    if (!k) {
      setFieldError("Enter an API key.");
      return;
    }
    setBusy(true);
    try {
      await api.servers.list({ limit: 1 }, withKey(k));
      onSignedIn(k);
    } catch (err) {
      if (err instanceof AgentMcpError && err.status === 401) setFieldError("agentmcp does not know this key, or it was revoked.");
      else if (err instanceof AgentMcpError && err.status === 403)
        setFieldError("This key cannot manage MCP servers (an authOnly or agent key). Use a fullAccess key.");
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <PageTitle title="Sign in">Sign in to agentmcp</PageTitle>
      {reason && (
        <p class="flash" role="status">
          {reason}
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <Field
          label="API key"
          name="apikey"
          type="password"
          value={key}
          onInput={setKey}
          error={fieldError}
          required
          autoComplete="off"
          hint={
            <>
              A fullAccess key of your app. <code>make run</code> prints one on first start; <code>agentmcp keys create --app default</code> makes
              another. It is kept in this tab only and forgotten when you sign out or close the tab.
            </>
          }
        />
        <ErrorBox error={error} />
        <Button type="submit" variant="primary" busy={busy} busyLabel="Checking the key…">
          Sign in
        </Button>
      </form>
    </main>
  );
}
