//go:build tools

// Pins the code generator in go.mod so `go generate` runs the same version everywhere.
package agentmcp

import _ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
