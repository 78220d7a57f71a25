// The TypeScript SDK's own OAuth client against an agent's gateway, headless: where a
// browser would show the person the consent page, this script approves it with a
// fullAccess key, as the person would (server/oauth_clients_test.go runs it).
//
//   node sdk-client.mjs <gateway URL> <fullAccess key> [client metadata document URL]
//
// It prints one JSON line per step: {"step": ..., ...}; the Go test reads them.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [gateway, key, metadataUrl] = process.argv.slice(2);
const redirectUrl = "http://127.0.0.1:8976/callback";
const say = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));

let approve = true; // false once revoked: the person is not asked again
let code = "";
const provider = {
  saved: {},
  get redirectUrl() {
    return redirectUrl;
  },
  clientMetadataUrl: metadataUrl || undefined,
  get clientMetadata() {
    return { client_name: "SDK test client", redirect_uris: [redirectUrl], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  },
  clientInformation() {
    return this.saved.client;
  },
  saveClientInformation(c) {
    this.saved.client = c;
    say("registered", { clientId: c.client_id });
  },
  tokens() {
    return this.saved.tokens;
  },
  saveTokens(t) {
    this.saved.tokens = t;
    say("tokens", { prefix: t.access_token.slice(0, 4), hasRefresh: !!t.refresh_token });
  },
  saveCodeVerifier(v) {
    this.saved.verifier = v;
  },
  codeVerifier() {
    return this.saved.verifier;
  },
  async redirectToAuthorization(url) {
    say("authorize", { consent: true });
    if (!approve) throw new Error("the person was asked again after revocation");
    // The browser: follow /oauth/authorize to the console's consent page…
    const r = await fetch(url, { redirect: "manual" });
    const page = r.headers.get("location") ?? "";
    const m = page.match(/#\/oauth\/consent\/([^/?]+)$/);
    if (!m) throw new Error(`authorize answered ${r.status} to ${page}`);
    // …where the signed-in person allows it.
    const origin = new URL(page).origin;
    const d = await fetch(`${origin}/oauth/consent/${m[1]}`, {
      method: "POST",
      headers: { apikey: key, "Content-Type": "application/json" },
      body: JSON.stringify({ approve: true }),
    });
    if (!d.ok) throw new Error(`consent answered ${d.status}: ${await d.text()}`);
    const back = new URL((await d.json()).redirectTo);
    if (back.searchParams.get("iss") !== origin) throw new Error(`no iss in ${back}`);
    code = back.searchParams.get("code") ?? "";
    say("consented");
  },
};

async function connect() {
  const transport = new StreamableHTTPClientTransport(new URL(gateway), { authProvider: provider });
  const client = new Client({ name: "oauth-sdk-test", version: "1.0.0" });
  try {
    await client.connect(transport);
    return client;
  } catch (e) {
    if (!(e instanceof UnauthorizedError) || !code) throw e;
    await transport.finishAuth(code);
    code = "";
    const again = new Client({ name: "oauth-sdk-test", version: "1.0.0" });
    await again.connect(new StreamableHTTPClientTransport(new URL(gateway), { authProvider: provider }));
    return again;
  }
}

try {
  let client = await connect();
  const tools = await client.listTools();
  const res = await client.callTool({ name: tools.tools[0].name, arguments: {} });
  say("called", { tools: tools.tools.length, isError: !!res.isError });
  await client.close();

  // An expired access token: the SDK refreshes on the 401 and retries.
  const before = provider.saved.tokens;
  provider.saved.tokens = { ...before, access_token: "amo_expired" };
  client = await connect();
  await client.listTools();
  const after = provider.saved.tokens;
  say("refreshed", { rotated: after.refresh_token !== before.refresh_token && after.access_token !== "amo_expired" });
  await client.close();

  // Revoked (RFC 7009, as a client's sign-out does): refused, and no silent way back in.
  const origin = new URL(gateway).origin;
  const rv = await fetch(`${origin}/oauth/revoke`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: after.refresh_token, client_id: provider.saved.client?.client_id ?? metadataUrl }),
  });
  approve = false;
  try {
    await connect();
    say("revoked", { refused: false, status: rv.status });
  } catch (e) {
    say("revoked", { refused: true, status: rv.status, error: String(e).slice(0, 200) });
  }
} catch (e) {
  say("failed", { error: String(e?.stack ?? e).slice(0, 2000) });
  process.exitCode = 1;
}
