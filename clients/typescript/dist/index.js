// @agentmcp/client: a typed client of the agentmcp (and CometChat Agent Builder MCP Servers)
// API. The types come from openapi.yaml (src/schema.ts, generated); this layer only names the
// operations, throws on errors and retries what is safe to retry.
export { createClient, unwrap, etagOf, responseOf, } from "./client.js";
export { AgentMcpError, AgentMcpNetworkError } from "./errors.js";
