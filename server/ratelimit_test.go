package server_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

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
