package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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
// another app is not affected; every response says where the app stands. A token every
// 1,000 s: the bucket cannot refill while the test runs, however slow the machine.
func TestRateLimit(t *testing.T) {
	const perToken = 1000 // seconds
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{RateLimit: 1.0 / perToken, RateBurst: 3, IPRateLimit: 1000})
	list := env.URL + "/ai-agents/agent-builder/mcp-servers"
	start := time.Now()
	for i := range 3 {
		resp := get(t, list, env.KeyA)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "3" || resp.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, resp.Header)
		}
		// Full again once the i+1 spent tokens are back.
		if reset, _ := strconv.Atoi(resp.Header.Get("X-RateLimit-Reset")); !within(reset, (i+1)*perToken, time.Since(start)) {
			t.Fatalf("request %d: X-RateLimit-Reset %d", i, reset)
		}
	}
	resp := get(t, list, env.KeyA)
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || !within(retry, perToken, time.Since(start)) || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("over the limit: %d Retry-After=%q %v", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header)
	}
	if resp := get(t, list, env.KeyB); resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Remaining") != "2" {
		t.Fatalf("another app was limited: %d %v", resp.StatusCode, resp.Header)
	}
}

// within reports whether secs, a wait rounded up to seconds, is full seconds less at most
// the time that has passed since the first token was spent.
func within(secs, full int, passed time.Duration) bool {
	return secs <= full && secs >= full-int(passed/time.Second)-1
}

// TestRateLimitByIP: a flood of bad keys from one address is limited before any key lookup.
// The address gets a token an hour: the count of 429s does not depend on the machine's speed.
func TestRateLimitByIP(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{RateLimit: 100, RateBurst: 10, IPRateLimit: 1.0 / 3600})
	list := env.URL + "/ai-agents/agent-builder/mcp-servers"
	statuses := map[int]int{}
	var retry string
	for range 105 {
		resp := get(t, list, "amk_guess")
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			retry = resp.Header.Get("Retry-After")
		}
	}
	// The address's burst is 10 × 10: the first 100 are looked up (401), the rest refused.
	if statuses[http.StatusUnauthorized] != 100 || statuses[http.StatusTooManyRequests] != 5 {
		t.Fatalf("statuses %v", statuses)
	}
	if s, _ := strconv.Atoi(retry); s < 3000 || s > 3600 {
		t.Fatalf("Retry-After %q for a token an hour", retry)
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
