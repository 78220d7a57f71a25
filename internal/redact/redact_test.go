package redact_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/internal/redact"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://host.example/mcp":                           "https://host.example/mcp",
		"https://usr:pw@host.example:8443/mcp?api_key=S&x=1": "https://***@host.example:8443/mcp?api_key=***&x=***",
		"https://tok@host.example/mcp":                       "https://***@host.example/mcp",
		"http://h.example/p?flag":                            "http://h.example/p?flag=***",
		"http://h.example/p#access_token=S":                  "http://h.example/p#***",
		"http://h.example/%zz?k=S":                           "http://h.example/%zz***",
	} {
		if got := redact.URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestError: the text of an error from net/http (which quotes the URL, its query and a
// masked password) keeps no secret, and the error still wraps its cause.
func TestError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://usr:SECRETPW@127.0.0.1:9/mcp?api_key=QLEAKSECRET", nil)
	_, err := http.DefaultClient.Do(req)
	err = redact.Error(fmt.Errorf("upstream: %w", err))
	if msg := err.Error(); strings.Contains(msg, "SECRET") || strings.Contains(msg, "usr") || !strings.Contains(msg, "api_key=***") {
		t.Fatalf("redacted: %s", msg)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the cause is lost: %v", err)
	}
	if redact.Error(nil) != nil {
		t.Fatal("nil is an error")
	}
}
