package postgres_test

import (
	"context"
	"testing"

	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
	"github.com/agentmcp/agentmcp/store/storetest"
)

// The registry view pages in byte order (its cursor is compared in Go) also on a database
// whose collation orders '-' and '_' otherwise, as most natural-language ones do.
func TestRegistryNaturalCollation(t *testing.T) {
	pgtest.URL(t)
	storetest.RunRegistry(t, func(t *testing.T) store.Store {
		st := open(t, pgtest.NewDatabaseWith(t, "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"), postgres.Options{})
		var natural bool
		if err := st.Pool().QueryRow(context.Background(), "SELECT 'a_b' < 'a-b' AND 'a-c' < 'a0'").Scan(&natural); err != nil || !natural {
			t.Fatalf("the database's collation is not natural-language (%v, %v): this test would prove nothing", natural, err)
		}
		return st
	})
}
