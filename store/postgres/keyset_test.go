package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
	"github.com/agentmcp/agentmcp/store/storetest"
)

const deepRows = 100_000

// seedDeep fills app "deep" with deepRows servers (one created_at apart) and a noisy
// neighbour app, straight in SQL, and returns the store. The seeding runs in one
// transaction without the store's statement timeout: on a loaded machine it may take longer
// than any one request is allowed, and only the plan of the pages is under test.
func seedDeep(tb testing.TB) *postgres.Store {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	st, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	ctx := context.Background()
	seed := []string{
		`SET LOCAL statement_timeout = 0`,
		`INSERT INTO apps (id, created_at, clock) VALUES ('deep', 0, 1000000 + 100000), ('other', 0, 1000000 + 50000)`,
		`INSERT INTO mcp_servers (app_id, slug, name, url, created_at, updated_at)
		 SELECT 'deep', 's' || i, 'Server ' || i, 'https://s' || i || '.example.com', 1000000 + i, 1000000 + i FROM generate_series(1, 100000) i`,
		`INSERT INTO mcp_servers (app_id, slug, name, url, created_at, updated_at)
		 SELECT 'other', 's' || i, 'Server ' || i, 'https://s' || i || '.example.com', 1000000 + i, 1000000 + i FROM generate_series(1, 50000) i`,
		`ANALYZE mcp_servers`,
	}
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		for _, q := range seed {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// deepCursor is a cursor at the oldest 1%: the page after it is at depth ~99,000.
const deepCursor = 1000000 + deepRows/100

// TestKeysetPlan: the first page and a page at depth 100,000 are both an index range scan
// on (app_id, created_at), never a sort of the app's rows.
func TestKeysetPlan(t *testing.T) {
	st := seedDeep(t)
	ctx := context.Background()
	for name, p := range map[string]store.Page{
		"first":   {Limit: 10},
		"deep":    {Limit: 10, Affix: store.AffixAppend, CreatedAt: deepCursor},
		"prepend": {Limit: 10, Affix: store.AffixPrepend, CreatedAt: 1000000 + 5},
	} {
		sql, args := postgres.ListServersSQL("deep", p)
		var plan string
		if err := st.Pool().QueryRow(ctx, "EXPLAIN (FORMAT JSON, ANALYZE) "+sql, args...).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		var nodes []string
		var walk func(n map[string]any)
		walk = func(n map[string]any) {
			nodes = append(nodes, n["Node Type"].(string)+"("+str(n["Index Name"])+")")
			if kids, ok := n["Plans"].([]any); ok {
				for _, k := range kids {
					walk(k.(map[string]any))
				}
			}
		}
		var doc []map[string]any
		if err := json.Unmarshal([]byte(plan), &doc); err != nil {
			t.Fatal(err)
		}
		walk(doc[0]["Plan"].(map[string]any))
		joined := strings.Join(nodes, " > ")
		if !strings.Contains(joined, "Index Scan(mcp_servers_app_created)") && !strings.Contains(joined, "Index Scan Backward(mcp_servers_app_created)") {
			t.Errorf("%s page: plan %s does not scan the (app_id, created_at) index", name, joined)
		}
		if strings.Contains(joined, "Sort") || strings.Contains(joined, "Seq Scan") {
			t.Errorf("%s page: plan %s sorts or scans the table", name, joined)
		}
		t.Logf("%s: %s", name, joined)
	}
	// And the deep page is the right one.
	page, err := st.ListMCPServers(ctx, "deep", store.Page{Limit: 10, Affix: store.AffixAppend, CreatedAt: deepCursor})
	if err != nil || len(page) != 10 || page[0].CreatedAt != deepCursor-1 {
		t.Fatalf("deep page: %v %v", page, err)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// BenchmarkListDepth compares the first page with a page at depth ~99,000 of 100,000
// (target: deep ≤ ~1.5× first). Run: scripts/test-postgres.sh go test -run x -bench ListDepth ./store/postgres
func BenchmarkListDepth(b *testing.B) {
	storetest.BenchListDepth(b, seedDeep(b), "deep", deepCursor)
}
