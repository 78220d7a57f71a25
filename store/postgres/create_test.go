package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
)

// TestCreatesGoInBatches: concurrent creates in one app share statements (and flushes),
// and each still gets its own server back.
func TestCreatesGoInBatches(t *testing.T) {
	st := open(t, pgtest.NewDatabase(t), postgres.Options{})
	ctx := context.Background()
	if _, err := st.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			slug := fmt.Sprintf("b%02d", i)
			m, err := st.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: slug, Name: "N " + slug, URL: "https://" + slug + ".example.com"})
			if err == nil && (m.Slug != slug || m.Name != "N "+slug || m.CreatedAt == 0) {
				err = fmt.Errorf("create %s answered %+v", slug, m)
			}
			if err == nil {
				var got store.MCPServer
				if got, err = st.GetMCPServer(ctx, "a", slug); err == nil && got.CreatedAt != m.CreatedAt {
					err = fmt.Errorf("%s: createdAt %d answered, %d stored", slug, m.CreatedAt, got.CreatedAt)
				}
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
	if n := postgres.BatchedCreates(st); n == 0 {
		t.Fatal("64 concurrent creates, none in a batch")
	} else {
		t.Logf("%d of 64 creates went in batches", n)
	}
}
