package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/internal/testkit"
	"github.com/agentmcp/agentmcp/store/postgres"
)

// TestTwoReplicas runs two real `agentmcp serve` processes on one PostgreSQL database,
// started at the same moment, and spreads concurrent work over both.
func TestTwoReplicas(t *testing.T) {
	db := pgtest.NewDatabase(t)
	reps, key := startReplicas(t, db, "multi", "--db-max-conns", "8")
	var wg sync.WaitGroup
	ms, _, _ := runCmd(t, "migrate", "status", "--db", db)
	known, _ := postgres.Migrations()
	if strings.Count(ms, "\n") != len(known)+1 || strings.Contains(ms, "  -\n") {
		t.Fatalf("migrations after two concurrent starts:\n%s", ms)
	}
	cs := replicaClients(t, reps, key)
	ctx := context.Background()

	// 200 concurrent creates of the same 20 slugs → exactly 20 × 201, the rest 409.
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 200 {
		wg.Go(func() {
			slug := fmt.Sprintf("same-%02d", i%20)
			_, err := cs[i%2].CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: "https://r.example.com"})
			st := http.StatusCreated
			if err != nil {
				st = -1
				if ce, ok := err.(*client.Error); ok {
					st = ce.Status
				}
			}
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusCreated] != 20 || statuses[http.StatusConflict] != 180 || len(statuses) != 2 {
		t.Fatalf("statuses %v, want 20×201 and 180×409", statuses)
	}

	// 30 concurrent attach/detach on one agent, spread over both: no lost update.
	if _, err := cs[0].CreateAgent(ctx, client.CreateAgent{Uid: ptr("shared"), Name: "Shared"}); err != nil {
		t.Fatal(err)
	}
	slugs := make([]string, 30)
	for w := range slugs {
		slugs[w] = fmt.Sprintf("same-%02d", w)
		if w >= 20 {
			slugs[w] = fmt.Sprintf("extra-%02d", w)
			if _, err := cs[w%2].CreateServer(ctx, client.CreateMCPServer{Name: slugs[w], Slug: slugs[w], Url: "https://r.example.com"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	testkit.AttachChurn(t, cs[:], "shared", slugs, 3, func(w, i int) bool { return (i+w)%2 == 0 })

	// Creates racing on both replicas, then a walk alternating replicas sees each once.
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				slug := fmt.Sprintf("walk-%d-%02d", w, i)
				if _, err := cs[(w+i)%2].CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: "https://r.example.com"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	opts := client.ListOptions{Limit: 7}
	var prev int64
	for i := 0; ; i++ {
		page, err := cs[i%2].ListServers(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) == 0 {
			break
		}
		for _, s := range page.Data {
			if prev != 0 && s.CreatedAt >= prev {
				t.Fatalf("not strictly newest first across replicas at %s", s.Slug)
			}
			prev = s.CreatedAt
			seen[s.Slug]++
		}
		opts = client.ListOptions{Limit: 7, Affix: "append", CreatedAt: page.Meta.Next.CreatedAt}
	}
	total := 20 + 10 + 200
	if len(seen) != total {
		t.Fatalf("walk saw %d servers, want %d", len(seen), total)
	}
	for s, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", s, n)
		}
	}
	for _, p := range reps {
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("replica stop: %v\n%s", err, p.stderr)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestTwoReplicasIfMatch: clients on two replicas read the same ETag and PATCH at once with
// If-Match: in every round exactly one gets 200 and the others 412, and the stored server is
// the winner's (PostgreSQL's row lock makes the check and the write one step).
func TestTwoReplicasIfMatch(t *testing.T) {
	reps, key := startReplicas(t, pgtest.NewDatabase(t), "ifmatch")
	var wg sync.WaitGroup
	var gcs [2]*gen.ClientWithResponses
	for i, c := range replicaClients(t, reps, key) {
		gcs[i] = c.Generated()
	}
	ctx := context.Background()
	for round := range 20 {
		slug := fmt.Sprintf("race-%d", round)
		cr, err := gcs[0].McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "r", Slug: slug, Url: "https://r.example.com"})
		if err != nil || cr.StatusCode() != http.StatusCreated {
			t.Fatalf("create: %v %s", err, cr.Body)
		}
		tag := cr.HTTPResponse.Header.Get("ETag")
		res := make([]*gen.McpServersControllerUpdateMcpServerResponse, 6)
		start := make(chan struct{})
		for i := range res {
			wg.Go(func() {
				<-start
				res[i], _ = gcs[i%2].McpServersControllerUpdateMcpServerWithResponse(ctx, slug,
					&gen.McpServersControllerUpdateMcpServerParams{IfMatch: &tag}, gen.UpdateMcpServerDto{Name: ptr(fmt.Sprintf("writer-%d", i))})
			})
		}
		close(start)
		wg.Wait()
		winner, codes := "", map[int]int{}
		for i, r := range res {
			if r == nil {
				t.Fatalf("round %d: writer %d got no response", round, i)
			}
			codes[r.StatusCode()]++
			if r.StatusCode() == http.StatusOK {
				winner = fmt.Sprintf("writer-%d", i)
			}
		}
		if codes[http.StatusOK] != 1 || codes[http.StatusPreconditionFailed] != len(res)-1 {
			t.Fatalf("round %d: statuses %v, want one 200 and the rest 412", round, codes)
		}
		if g, _ := gcs[round%2].McpServersControllerGetMcpServerBySlugWithResponse(ctx, slug, nil); g == nil || g.JSON200 == nil || g.JSON200.Name != winner {
			t.Fatalf("round %d: stored %v, winner %s", round, g, winner)
		}
	}
}

// startReplicas starts two `agentmcp serve` on db at the same moment and creates app, whose
// key it returns.
// replicaClients returns an API client of each replica.
func replicaClients(t *testing.T, reps [2]*proc, key string) [2]*client.Client {
	t.Helper()
	var cs [2]*client.Client
	for i, p := range reps {
		c, err := client.New(p.base+"/v3", key)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}
	return cs
}

func startReplicas(t *testing.T, db, app string, extra ...string) ([2]*proc, string) {
	t.Helper()
	var reps [2]*proc
	var wg sync.WaitGroup
	for i := range reps {
		wg.Go(func() { reps[i] = startServe(t, db, extra...) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	out, errOut, code := runCmd(t, "apps", "create", app, "--db", db)
	if code != 0 {
		t.Fatalf("apps create: %s", errOut)
	}
	return reps, strings.TrimSpace(out)
}

// TestReplicaCachesStayCoherent: each replica caches servers and list pages; a write
// through one is seen through the other within 100 ms, while both are under load, and
// after the other's feed connection is killed (store/postgres TestFeedBetweenReplicas
// kills the notifying side's).
func TestReplicaCachesStayCoherent(t *testing.T) {
	db := pgtest.NewDatabase(t)
	reps, key := startReplicas(t, db, "coherent")
	ctx := context.Background()
	cs := replicaClients(t, reps, key)
	a, b := cs[0], cs[1]
	for _, s := range []string{"one", "two"} {
		if _, err := a.CreateServer(ctx, client.CreateMCPServer{Name: s, Slug: s, Url: "https://" + s + ".example.com/mcp"}); err != nil {
			t.Fatal(err)
		}
	}

	// Load on both replicas, reading what the test changes (so that B's cache holds it).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			c := cs[i%2]
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.GetServer(ctx, "one")
				c.ListServers(ctx, client.ListOptions{Limit: 10})
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()

	psql := func(q string) {
		t.Helper()
		pool, err := pgxpool.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		var n int
		if err := pool.QueryRow(ctx, q).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s: %d, %v", q, n, err)
		}
	}
	// seen: 100 ms after the write returned, B serves it (GET and the cached first page).
	seen := func(what, desc string) {
		t.Helper()
		time.Sleep(100 * time.Millisecond)
		got, err := b.GetServer(ctx, "one")
		if err != nil || got.Description != desc {
			t.Fatalf("%s: replica B serves %+v (%v) 100 ms after the write, want description %q\nA: %s\nB: %s", what, got, err, desc, reps[0].stderr, reps[1].stderr)
		}
		l, err := b.ListServers(ctx, client.ListOptions{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range l.Data {
			if s.Slug == "one" && s.Description != desc {
				t.Fatalf("%s: replica B's list shows %+v", what, s)
			}
		}
	}
	patch := func(desc string) {
		t.Helper()
		if _, err := a.UpdateServer(ctx, "one", client.UpdateMCPServer{Description: &desc}); err != nil {
			t.Fatalf("%v\nA: %s", err, grepLines(reps[0].stderr.String(), `"status":503`, `"level":"ERROR"`, `"level":"WARN"`))
		}
	}
	for i := range 10 {
		d := fmt.Sprintf("v%d", i)
		patch(d)
		seen("patch "+d, d)
	}

	// A create and a delete through A change B's cached page and server.
	if _, err := a.CreateServer(ctx, client.CreateMCPServer{Name: "three", Slug: "three", Url: "https://three.example.com/mcp"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if l, err := b.ListServers(ctx, client.ListOptions{Limit: 10}); err != nil || len(l.Data) != 3 {
		t.Fatalf("after a create through A, B lists %+v (%v)", l, err)
	}
	if err := a.DeleteServer(ctx, "two"); err != nil {
		t.Fatalf("%v\nA: %s", err, grepLines(reps[0].stderr.String(), `"status":503`, `"level":"ERROR"`, `"level":"WARN"`))
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := b.GetServer(ctx, "two"); err == nil {
		t.Fatal("B still serves a server deleted through A")
	}

	// B's feed connection killed: B must not serve what it may have missed.
	psql(fmt.Sprintf("SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE application_name = '%s/%d' AND datname = current_database()", postgres.FeedApplicationName, reps[1].cmd.Process.Pid))
	patch("after B's feed died")
	seen("B's feed killed", "after B's feed died")
	patch("after B reconnected")
	seen("B's feed back", "after B reconnected")

	if !strings.Contains(reps[1].stderr.String(), "change feed: connection lost") {
		t.Errorf("B's log does not say its feed connection was lost:\n%s", reps[1].stderr)
	}
}

// grepLines returns the lines of s that contain any of subs.
func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
