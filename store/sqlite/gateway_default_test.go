package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/agentmcp/agentmcp/internal/toolnames"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

// An agent stored before migration 0013 has the column's default, '{}': it reads as
// prefixed tool names, as every agent had before the setting existed.
func TestAgentGatewayDefault(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	st := open(t, path, sqlite.Options{})
	if _, err := st.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAgent(ctx, store.Agent{AppID: "a", UID: "old", Name: "Old", Gateway: store.AgentGateway{ToolNames: toolnames.Original}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, "UPDATE agents SET gateway = '{}'"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	st = open(t, path, sqlite.Options{})
	defer st.Close()
	a, err := st.GetAgent(ctx, "a", "old")
	if err != nil || a.Gateway.ToolNames != toolnames.Prefixed {
		t.Fatalf("an agent with the column's default: %+v, %v; want prefixed tool names", a.Gateway, err)
	}
}
