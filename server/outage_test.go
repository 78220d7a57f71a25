package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
)

// TestDatabaseOutage stops PostgreSQL under a running server: readyz says degraded (the
// gateway serves what it last knew, TestDatabaseOutageTwoReplicas), the REST API's
// requests get 503 ERR_UNAVAILABLE, nothing is half-written, and the server recovers by
// itself when the database is back.
func TestDatabaseOutage(t *testing.T) {
	cl, st := stoppablePostgres(t)
	ctx := context.Background()
	env := apitest.Start(t, st, app.Config{})
	c := env.Client(t, env.KeyA)
	seed(t, c, "before")
	readyz := func() (int, string) {
		resp, err := http.Get(env.Server.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := readyz(); st != http.StatusOK {
		t.Fatalf("readyz before the outage: %d", st)
	}

	cl.Stop(t)
	if st, body := readyz(); st != http.StatusOK || !strings.Contains(body, `"status":"degraded"`) {
		t.Fatalf("readyz during the outage: %d %s", st, body)
	}
	if _, err := c.GetServer(ctx, "before"); !isCode(err, http.StatusServiceUnavailable, httpx.CodeUnavailable) {
		t.Fatalf("GET during the outage: %v", err)
	}
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "x", Slug: "during", Url: "https://x.example.com"}); !isCode(err, http.StatusServiceUnavailable, httpx.CodeUnavailable) {
		t.Fatalf("POST during the outage: %v", err)
	}

	cl.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.GetServer(ctx, "before"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no recovery after the database came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st, _ := readyz(); st != http.StatusOK {
		t.Fatalf("readyz after the outage: %d", st)
	}
	page, err := c.ListServers(ctx, client.ListOptions{})
	if err != nil || len(page.Data) != 1 || page.Data[0].Slug != "before" {
		t.Fatalf("after the outage: %+v, %v", page, err)
	}
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "x", Slug: "during", Url: "https://x.example.com"}); err != nil {
		t.Fatalf("POST after the outage: %v", err)
	}
}

// TestStaleOutageConfirmed: an outage past its bound is confirmed with the store before the
// gateway refuses for it, since one unavailable answer (a slow query out of time) followed
// by silence looks like one; the ping's answer ends it.
func TestStaleOutageConfirmed(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st, func(cfg *app.Config) { cfg.LastKnownFor = time.Millisecond })
	if _, err := c.CreateAgent(context.Background(), client.CreateAgent{Name: "A", Uid: ptr("agent-1")}); err != nil {
		t.Fatal(err)
	}
	o := env.App.Outage()
	o.Observe(store.ErrUnavailable)
	pollUntil(t, 15*time.Second, "the outage past its bound", o.Expired)
	if st, _ := postMCP(t, env.URL+"/ai-agents/agent-builder/agents/agent-1/mcp", env.KeyA, "", initializeBody); st != http.StatusOK {
		t.Fatalf("initialize with the store reachable: %d", st)
	}
	if o.Down() {
		t.Fatal("the store answered, yet the outage goes on")
	}
}

// stoppablePostgres is a store on a PostgreSQL cluster of the test's own, which it may stop.
func stoppablePostgres(t *testing.T) (*pgtest.Cluster, *postgres.Store) {
	t.Helper()
	cl := pgtest.StartCluster(t)
	st, err := postgres.Open(context.Background(), cl.URL, postgres.Options{StatementTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return cl, st
}
