// Package agentmcp holds the API contract (openapi.yaml) that gen/ is generated from.
package agentmcp

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/cfg.yaml openapi.yaml

import _ "embed"

// Spec is openapi.yaml as written, served at /openapi.yaml.
//
//go:embed openapi.yaml
var Spec []byte
