// Package docsui is the interactive API reference served at /docs: Swagger UI, vendored
// from the npm package swagger-ui-dist (see swagger-ui/VERSION), rendering /openapi.yaml.
// Everything is embedded, so the page works offline.
package docsui

import "embed"

//go:embed index.html init.js swagger-ui
var Files embed.FS
