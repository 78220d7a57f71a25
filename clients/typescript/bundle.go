// Package typescript holds the TypeScript client (@agentmcp/client); for Go it embeds the
// built bundle, so the web console can serve the same file that make test checks.
package typescript

import _ "embed"

// Bundle is dist/bundle.js: the client, openapi-fetch included, as one ES module with no
// imports (its types are dist/index.d.ts).
//
//go:embed dist/bundle.js
var Bundle []byte
