package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/store"
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

// gatewayPing sends a ping outside any session to agent uid's gateway with key; its status.
func gatewayPing(t *testing.T, env *apitest.Env, uid, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/ai-agents/agent-builder/agents/"+uid+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a 429 without Retry-After")
	}
	return resp.StatusCode
}

func createAgent(t *testing.T, env *apitest.Env, key, uid string) {
	t.Helper()
	if _, err := env.Client(t, key).CreateAgent(context.Background(), client.CreateAgent{Uid: &uid, Name: uid}); err != nil {
		t.Fatal(err)
	}
}

// TestGatewayRateLimits: on the gateways the client address's limit counts only requests
// that fail authentication, so an agent runtime with a good key goes past it while bad keys
// are refused before any lookup once it is spent; each key has a limit of its own, and
// its app one over all its keys.
func TestGatewayRateLimits(t *testing.T) {
	t.Run("address", func(t *testing.T) {
		// Address burst 10 (10 × RateBurst), refilled every 100 s; no key or app limit.
		env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{RateLimit: 100, RateBurst: 1, IPRateLimit: 0.01, GatewayRateLimit: -1, GatewayAppRateLimit: -1})
		createAgent(t, env, env.KeyA, "a1")
		for i := range 30 {
			if st := gatewayPing(t, env, "a1", env.KeyA); st != http.StatusOK {
				t.Fatalf("good key, call %d: %d", i, st)
			}
		}
		statuses := map[int]int{}
		for range 15 {
			statuses[gatewayPing(t, env, "a1", "amk_guess")]++
		}
		// The burst of 10 less the REST request that created the agent (the REST API's
		// address limit counts every request).
		if statuses[http.StatusUnauthorized] != 9 || statuses[http.StatusTooManyRequests] != 6 {
			t.Fatalf("bad keys from one address: %v", statuses)
		}
		if st := gatewayPing(t, env, "a1", env.KeyA); st != http.StatusTooManyRequests {
			t.Fatalf("an address past its limit of failures got %d", st)
		}
	})
	t.Run("key", func(t *testing.T) {
		// Each key: burst 1, refilled every 100 s; the app unlimited.
		env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{IPRateLimit: 1000, GatewayRateLimit: 0.01, GatewayAppRateLimit: -1})
		createAgent(t, env, env.KeyA, "a1")
		_, other := apitest.NewKey(t, env.Store, env.AppA, store.ScopeFullAccess)
		if st := gatewayPing(t, env, "a1", env.KeyA); st != http.StatusOK {
			t.Fatalf("first call: %d", st)
		}
		if st := gatewayPing(t, env, "a1", env.KeyA); st != http.StatusTooManyRequests {
			t.Fatalf("a key past its limit got %d", st)
		}
		if st := gatewayPing(t, env, "a1", other); st != http.StatusOK {
			t.Fatalf("another key of the same app got %d", st)
		}
	})
	t.Run("app", func(t *testing.T) {
		// Each app: burst 1, refilled every 100 s; keys unlimited.
		env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{IPRateLimit: 1000, GatewayRateLimit: -1, GatewayAppRateLimit: 0.01})
		createAgent(t, env, env.KeyA, "a1")
		createAgent(t, env, env.KeyB, "b1")
		_, other := apitest.NewKey(t, env.Store, env.AppA, store.ScopeFullAccess)
		if st := gatewayPing(t, env, "a1", env.KeyA); st != http.StatusOK {
			t.Fatalf("first call: %d", st)
		}
		if st := gatewayPing(t, env, "a1", other); st != http.StatusTooManyRequests {
			t.Fatalf("another key of an app past its limit got %d", st)
		}
		if st := gatewayPing(t, env, "b1", env.KeyB); st != http.StatusOK {
			t.Fatalf("another app got %d", st)
		}
	})
}
