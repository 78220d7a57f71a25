package server_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

func seed(t *testing.T, c *client.Client, slug string) client.MCPServer {
	t.Helper()
	m, err := c.CreateServer(context.Background(), client.CreateMCPServer{Name: "S " + slug, Slug: slug, Url: "https://" + slug + ".example.com/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	return *m
}

// TestAuthMatrix: every operation × every kind of bad key, checked before the body (an
// invalid body still gets the auth error), and nothing changes.
func TestAuthMatrix(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env := apitest.Start(t, st, app.Config{})
	seed(t, env.Client(t, env.KeyA), "target")
	if _, err := st.CreateAgent(context.Background(), store.Agent{AppID: env.AppA, UID: "target", Name: "T", RagVersion: "v2"}); err != nil {
		t.Fatal(err)
	}
	keys := []struct {
		name, key string
		status    int
		code      string
	}{
		{"no key", "", http.StatusUnauthorized, httpx.CodeEmptyAPIKey},
		{"unknown key", "amk_not-a-key", http.StatusUnauthorized, httpx.CodeAPIKeyNotFound},
		{"revoked key", env.Revoked, http.StatusUnauthorized, httpx.CodeAPIKeyNotFound},
		{"authOnly key", env.AuthOnlyKey, http.StatusForbidden, httpx.CodeNoAccess},
	}
	for _, op := range apitest.Ops("target", "target") {
		for _, k := range keys {
			t.Run(op.ID+"/"+k.name, func(t *testing.T) {
				before := snapshot(t, st, env.AppA)
				status, body := env.Do(t, op, k.key)
				e := wantError(t, status, body, k.status, k.code)
				if len(e.Details) != 0 {
					t.Fatalf("an auth error reveals details: %s", body)
				}
				if op.Body != "" {
					// A body the schema rejects must not turn the auth error into a 400.
					bad := op
					bad.Body = `{"nonsense":true}`
					status, body = env.Do(t, bad, k.key)
					wantError(t, status, body, k.status, k.code)
				}
				if after := snapshot(t, st, env.AppA); after != before {
					t.Fatal("a rejected request changed the store")
				}
			})
		}
	}
}

// TestCrossAppIsolation: app B can neither see nor touch app A's servers; all it learns is 404.
func TestCrossAppIsolation(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env := apitest.Start(t, st, app.Config{})
	a, b := env.Client(t, env.KeyA), env.Client(t, env.KeyB)
	ctx := context.Background()
	mine := seed(t, a, "mine")

	if _, err := b.GetServer(ctx, "mine"); !isCode(err, http.StatusNotFound, httpx.CodeMCPServerNotFound) {
		t.Fatalf("B got A's server: %v", err)
	}
	if _, err := b.UpdateServer(ctx, "mine", client.UpdateMCPServer{Name: ptr("pwned")}); !isCode(err, http.StatusNotFound, httpx.CodeMCPServerNotFound) {
		t.Fatalf("B updated A's server: %v", err)
	}
	if err := b.DeleteServer(ctx, "mine"); !isCode(err, http.StatusNotFound, httpx.CodeMCPServerNotFound) {
		t.Fatalf("B deleted A's server: %v", err)
	}
	if page, err := b.ListServers(ctx, client.ListOptions{}); err != nil || len(page.Data) != 0 {
		t.Fatalf("B lists %v, %v", page, err)
	}
	// Cursors do not cross apps either.
	if page, err := b.ListServers(ctx, client.ListOptions{Affix: "prepend", CreatedAt: 0}); err != nil || len(page.Data) != 0 {
		t.Fatalf("B lists A's servers through a cursor: %v, %v", page, err)
	}
	// B may use the same slug; the two records are separate.
	theirs := seed(t, b, "mine")
	if theirs.UnderscoreId != env.AppB+"_mine" || theirs.AppId != env.AppB {
		t.Fatalf("B's record: %+v", theirs)
	}
	got, err := a.GetServer(ctx, "mine")
	if err != nil || *got != mine {
		t.Fatalf("A's record after B's attempts: %+v, %v", got, err)
	}
}

func isCode(err error, status int, code string) bool {
	e, ok := err.(*client.Error)
	return ok && e.Status == status && e.Code == code
}

// TestKeyCacheRevocation: with the cache on, a revoked key keeps working for at most the TTL.
func TestKeyCacheRevocation(t *testing.T) {
	st := apitest.OpenSQLite(t)
	const ttl = 200 * time.Millisecond
	env := apitest.Start(t, st, app.Config{KeyCacheTTL: ttl})
	k, secret := apitest.NewKey(t, st, env.AppA, store.ScopeFullAccess)
	c := env.Client(t, secret)
	ctx := context.Background()
	if _, err := c.ListServers(ctx, client.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	// The key was cached before the revocation: once the TTL has passed (on purpose), the
	// cache has let go of it and the next request is refused, however slow the machine.
	time.Sleep(ttl)
	if _, err := c.ListServers(ctx, client.ListOptions{}); !isCode(err, http.StatusUnauthorized, httpx.CodeAPIKeyNotFound) {
		t.Fatalf("revoked key still accepted %s after the revocation: %v", ttl, err)
	}
}

// TestConcurrentDuplicateCreates: many clients racing to create the same slugs get exactly
// one 201 per slug and 409 for the rest.
func TestConcurrentDuplicateCreates(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			for i := range 10 {
				slug := fmt.Sprintf("dup-%d", (i+w)%10)
				_, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "d", Slug: slug, Url: "https://d.example.com"})
				status := http.StatusCreated
				if err != nil {
					if e, ok := err.(*client.Error); ok {
						status = e.Status
					} else {
						status = -1
					}
				}
				mu.Lock()
				counts[status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if counts[http.StatusCreated] != 10 || counts[http.StatusConflict] != 190 || len(counts) != 2 {
		t.Fatalf("statuses %v, want 10×201 and 190×409", counts)
	}
	page, _ := c.ListServers(ctx, client.ListOptions{Limit: 100})
	if len(page.Data) != 10 {
		t.Fatalf("%d records", len(page.Data))
	}
}
