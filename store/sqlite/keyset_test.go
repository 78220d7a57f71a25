package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/internal/testkit/race"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/sqlite"
	"github.com/agentmcp/agentmcp/store/storetest"
)

const deepCursor = 1000000 + 1000

// deepRows is 100,000, or 10,000 under -race: the race detector instruments SQLite itself
// (modernc.org/sqlite is Go), which made the seeding take minutes on a loaded machine; the
// plan over 10,000 rows, analysed, is the same index range search.
func deepRows() int {
	if race.Enabled {
		return 10_000
	}
	return 100_000
}

// seedDeep fills app "deep" with deepRows() servers (and a neighbour app with half as many)
// straight in SQL, in one transaction on a connection that waits as long as it takes for a
// lock: on a loaded machine the seeding may be slow, and only the plan of the pages is
// under test.
func seedDeep(tb testing.TB) (*sqlite.Store, *sql.DB) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "deep.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(600000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	tx, err := raw.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO apps (id, created_at, clock) VALUES ('deep', 0, 1100000), ('other', 0, 1050000)`,
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		 INSERT INTO mcp_servers (app_id, slug, name, url, created_at, updated_at)
		 SELECT 'deep', 's' || i, 'Server ' || i, 'https://s' || i || '.example.com', 1000000 + i, 1000000 + i FROM n`, deepRows()),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		 INSERT INTO mcp_servers (app_id, slug, name, url, created_at, updated_at)
		 SELECT 'other', 's' || i, 'Server ' || i, 'https://s' || i || '.example.com', 1000000 + i, 1000000 + i FROM n`, deepRows()/2),
		`ANALYZE`,
	} {
		if _, err := tx.Exec(q); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return st, raw
}

// TestKeysetPlan: every page is a range search on the (app_id, created_at) index, with no
// temporary B-tree to sort.
func TestKeysetPlan(t *testing.T) {
	st, raw := seedDeep(t)
	for name, p := range map[string]store.Page{
		"first":   {Limit: 10},
		"deep":    {Limit: 10, Affix: store.AffixAppend, CreatedAt: deepCursor},
		"prepend": {Limit: 10, Affix: store.AffixPrepend, CreatedAt: 1000005},
	} {
		q, args := sqlite.ListServersSQL("deep", p)
		rows, err := raw.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		if !strings.Contains(joined, "USING INDEX mcp_servers_app_created") || strings.Contains(joined, "TEMP B-TREE") || strings.HasPrefix(joined, "SCAN") {
			t.Errorf("%s page: plan %q", name, joined)
		}
		t.Logf("%s: %s", name, joined)
	}
	page, err := st.ListMCPServers(context.Background(), "deep", store.Page{Limit: 10, Affix: store.AffixAppend, CreatedAt: deepCursor})
	if err != nil || len(page) != 10 || page[0].CreatedAt != deepCursor-1 {
		t.Fatalf("deep page: %v %v", page, err)
	}
}

// BenchmarkListDepth compares the first page with one at depth ~99,000 of 100,000 (without
// -race).
func BenchmarkListDepth(b *testing.B) {
	st, _ := seedDeep(b)
	storetest.BenchListDepth(b, st, "deep", deepCursor)
}
