import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { session } from "./api";
import { AgentForm, AgentPage, AgentsPage } from "./agents";
import { AuditPage } from "./audit";
import { ConsentPage } from "./consent";
import { href, useRoute } from "./router";
import { ServerForm, ServerPage, ServersPage } from "./servers";
import { SignIn } from "./signin";
import { PageTitle } from "./ui";

function App() {
  const [key, setKey] = useState(session.key());
  const [reason, setReason] = useState("");
  const route = useRoute();
  useEffect(
    () =>
      session.onSignOut((why) => {
        setReason(why);
        setKey(null);
      }),
    [],
  );
  if (!key) {
    return (
      <SignIn
        reason={reason}
        onSignedIn={(k) => {
          session.signIn(k);
          setReason("");
          setKey(k);
        }}
      />
    );
  }
  const [section = "servers", id, sub] = route.parts;
  let page;
  if (section === "servers") {
    if (id === "new") page = <ServerForm />;
    else if (id && sub === "edit") page = <ServerForm slug={id} />;
    else if (id) page = <ServerPage slug={id} />;
    else page = <ServersPage query={route.query} />;
  } else if (section === "agents") {
    if (id === "new") page = <AgentForm />;
    else if (id && sub === "edit") page = <AgentForm uid={id} />;
    else if (id) page = <AgentPage uid={id} />;
    else page = <AgentsPage />;
  } else if (section === "audit") page = <AuditPage query={route.query} />;
  else if (section === "oauth" && id === "consent" && sub) page = <ConsentPage id={sub} />;
  else
    page = (
      <>
        <PageTitle title="Not found">Nothing here</PageTitle>
        <p>
          This console has no page at this address. Go to the <a href={href(["servers"])}>MCP servers</a>.
        </p>
      </>
    );
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href(["servers"])}>
          agentmcp <span>console</span>
        </a>
        <nav aria-label="Main">
          <ul>
            {(
              [
                ["servers", "MCP servers"],
                ["agents", "Agents"],
                ["audit", "Audit"],
              ] as const
            ).map(([s, label]) => (
              <li key={s}>
                <a href={href([s])} aria-current={section === s ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
            <li>
              <a href="/docs">API reference</a>
            </li>
          </ul>
        </nav>
        <button type="button" class="btn btn-plain btn-small signout" onClick={() => session.signOut("You signed out.")}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1} key={route.parts.join("/")}>
        {page}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
