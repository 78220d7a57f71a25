// Package server holds what agentmcp's HTTP rooms share: the API's base path. The rooms
// are server/httpx (protocol-neutral plumbing), server/rest (the REST API),
// server/gateway (the agents' MCP endpoints) and server/registry (the MCP Registry views);
// internal/app puts them together.
package server

// BasePath is where the API is mounted, as on CometChat (`https://{appId}.api-{region}.cometchat.io/v3`).
const BasePath = "/v3"
