package storetest

import (
	"context"
	"io"
	"sync"
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

// MigratesOnce opens n stores on one database at once, as n processes starting together
// would, and checks that they all start and that every migration is then applied.
func MigratesOnce(t *testing.T, n int, open func() (Migrator, error)) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			st, err := open()
			if err == nil {
				st.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
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
