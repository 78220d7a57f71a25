package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
	"github.com/agentmcp/agentmcp/store/storetest"
)

// TestCreatesGoInBatches: concurrent creates in one app share statements (and flushes),
// and each still gets its own server back.
func TestCreatesGoInBatches(t *testing.T) {
	st := open(t, pgtest.NewDatabase(t), postgres.Options{})
	ctx := context.Background()
	if _, err := st.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	storetest.Concurrently(t, 64, func(i int) error {
		slug := fmt.Sprintf("b%02d", i)
		m, err := st.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: slug, Name: "N " + slug, URL: "https://" + slug + ".example.com"})
		if err != nil {
			return err
		}
		if m.Slug != slug || m.Name != "N "+slug || m.CreatedAt == 0 {
			return fmt.Errorf("create %s answered %+v", slug, m)
		}
		got, err := st.GetMCPServer(ctx, "a", slug)
		if err == nil && got.CreatedAt != m.CreatedAt {
			err = fmt.Errorf("%s: createdAt %d answered, %d stored", slug, m.CreatedAt, got.CreatedAt)
		}
		return err
	})
	if n := postgres.BatchedCreates(st); n == 0 {
		t.Fatal("64 concurrent creates, none in a batch")
	} else {
		t.Logf("%d of 64 creates went in batches", n)
	}
}
