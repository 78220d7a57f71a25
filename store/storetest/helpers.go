package storetest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

// BenchListDepth compares the first page of app with the page after cursor (deep in it).
func BenchListDepth(b *testing.B, st store.Store, app string, cursor int64) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		p    store.Page
	}{
		{"first", store.Page{Limit: 10}},
		{"depth100k", store.Page{Limit: 10, Affix: store.AffixAppend, CreatedAt: cursor}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := st.ListMCPServers(ctx, app, bc.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Migrator is a store that reports its migrations.
type Migrator interface {
	io.Closer
	MigrationStatus(ctx context.Context) ([]store.MigrationStatus, error)
}

// Concurrently runs fn(0) … fn(n-1) at once and fails t with the first error any returned.
func Concurrently(t testing.TB, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- fn(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// MigratesOnce opens n stores on one database at once, as n processes starting together
// would, and checks that they all start and that every migration is then applied.
func MigratesOnce(t *testing.T, n int, open func() (Migrator, error)) {
	t.Helper()
	Concurrently(t, n, func(int) error {
		st, err := open()
		if err == nil {
			st.Close()
		}
		return err
	})
	st, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms, err := st.MigrationStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if !m.Applied {
			t.Fatalf("migration %d not applied", m.Version)
		}
	}
}

// BenchOps times the store calls behind the API's hot paths on an app with 1,000 servers.
func BenchOps(b *testing.B, st store.Store) {
	ctx := context.Background()
	if _, err := st.CreateApp(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	k, secret := store.NewAPIKey("bench", store.ScopeFullAccess)
	if err := st.CreateAPIKey(ctx, k); err != nil {
		b.Fatal(err)
	}
	const n = 1000
	for i := range n {
		if _, err := st.CreateMCPServer(ctx, "bench", server(fmt.Sprintf("s%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.CreateAgent(ctx, store.Agent{AppID: "bench", UID: "bot", Name: "Bot"}); err != nil {
		b.Fatal(err)
	}
	seq := 0 // unique across runs (-count), so every create and patch writes
	for _, bc := range []struct {
		name string
		fn   func(i int) error
	}{
		{"lookup-key", func(i int) error { _, err := st.LookupAPIKey(ctx, store.HashKey(secret)); return err }},
		{"get", func(i int) error { _, err := st.GetMCPServer(ctx, "bench", fmt.Sprintf("s%d", i%n)); return err }},
		{"list10", func(i int) error { _, err := st.ListMCPServers(ctx, "bench", store.Page{Limit: 10}); return err }},
		{"create", func(int) error {
			seq++
			_, err := st.CreateMCPServer(ctx, "bench", server(fmt.Sprintf("c%d", seq)))
			return err
		}},
		{"patch", func(i int) error {
			seq++
			_, _, err := st.UpdateMCPServer(ctx, "bench", fmt.Sprintf("s%d", i%n), store.MCPServerPatch{Description: ptr(fmt.Sprint(seq))}, store.Precondition{})
			return err
		}},
		{"attach-detach", func(i int) error {
			slug := []string{fmt.Sprintf("s%d", (i/2)%n)} // attached, then detached
			if i%2 == 0 {
				_, err := st.AttachMCPServers(ctx, "bench", "bot", slug)
				return err
			}
			_, err := st.DetachMCPServers(ctx, "bench", "bot", slug)
			return err
		}},
		{"get-agent", func(i int) error { _, err := st.GetAgent(ctx, "bench", "bot"); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if err := bc.fn(i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchAgentChurn is make bench's agent-add-remove without HTTP: 32 parallel callers add
// and remove one random slug of 1,000 servers on 8 agents, alternating. Each agent starts
// with every other slug attached, the steady state of that churn (and about the lists'
// length at the end of a make bench run), so the cost per call does not drift with b.N.
func BenchAgentChurn(b *testing.B, st store.Store) {
	ctx := context.Background()
	if _, err := st.CreateApp(ctx, "churn"); err != nil {
		b.Fatal(err)
	}
	const n, agents = 1000, 8
	for i := range n {
		if _, err := st.CreateMCPServer(ctx, "churn", server(fmt.Sprintf("s%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	for i := range agents {
		if _, err := st.CreateAgent(ctx, store.Agent{AppID: "churn", UID: fmt.Sprintf("a%d", i), Name: "A"}); err != nil {
			b.Fatal(err)
		}
		var half []string
		for j := i % 2; j < n; j += 2 {
			half = append(half, fmt.Sprintf("s%d", j))
		}
		if _, err := st.AttachMCPServers(ctx, "churn", fmt.Sprintf("a%d", i), half); err != nil {
			b.Fatal(err)
		}
	}
	var seed atomic.Int64
	b.SetParallelism(16) // 32 callers on 2 CPUs, as wrk's connections
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(uint64(seed.Add(1)), 1))
		for i := 0; pb.Next(); i++ {
			uid, slug := fmt.Sprintf("a%d", r.IntN(agents)), []string{fmt.Sprintf("s%d", r.IntN(n))}
			var err error
			if i%2 == 0 {
				_, err = st.AttachMCPServers(ctx, "churn", uid, slug)
			} else {
				_, err = st.DetachMCPServers(ctx, "churn", uid, slug)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
