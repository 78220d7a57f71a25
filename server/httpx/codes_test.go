package httpx_test

import (
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp"
	"github.com/agentmcp/agentmcp/server/httpx"
)

// Every code the API can send is documented in openapi.yaml, so a client can rely on it.
func TestEveryCodeDocumented(t *testing.T) {
	spec := string(agentmcp.Spec)
	for code, status := range httpx.Codes {
		if status < 400 || status > 599 {
			t.Errorf("%s: status %d is not an error", code, status)
		}
		if !strings.Contains(spec, code) {
			t.Errorf("%s is not documented in openapi.yaml", code)
		}
	}
}
