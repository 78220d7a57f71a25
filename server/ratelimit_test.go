package server_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
)

func get(t *testing.T, url, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("apikey", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestRateLimit: a burst over an app's limit gets 429 with a Retry-After that is right;
// another app is not affected; every response says where the app stands.
func TestRateLimit(t *testing.T) {
	// 0.5 req/s, burst 3: the 4th request in a row is refused and a token is 2 s away.
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{RateLimit: 0.5, RateBurst: 3, IPRateLimit: 1000})
	list := env.URL + "/ai-agents/agent-builder/mcp-servers"
	for i := range 3 {
		resp := get(t, list, env.KeyA)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "3" || resp.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, resp.Header)
		}
		if reset, _ := strconv.Atoi(resp.Header.Get("X-RateLimit-Reset")); reset < 1 || reset > 6 {
			t.Fatalf("X-RateLimit-Reset %d", reset)
		}
	}
	resp := get(t, list, env.KeyA)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("over the limit: %d Retry-After=%q %v", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header)
	}
	if resp := get(t, list, env.KeyB); resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Remaining") != "2" {
		t.Fatalf("another app was limited: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestRateLimitByIP: a flood of bad keys from one address is limited before any key lookup.
func TestRateLimitByIP(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{RateLimit: 100, RateBurst: 100, IPRateLimit: 0.1})
	list := env.URL + "/ai-agents/agent-builder/mcp-servers"
	statuses := map[int]int{}
	for range 1005 {
		statuses[get(t, list, "amk_guess").StatusCode]++
	}
	// The address's burst is 10 × 100: the first 1,000 are looked up (401), the rest refused.
	if statuses[http.StatusUnauthorized] != 1000 || statuses[http.StatusTooManyRequests] != 5 {
		t.Fatalf("statuses %v", statuses)
	}
}
