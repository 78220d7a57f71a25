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

type recorder struct{ got []store.Change }

func (r *recorder) Publish(c store.Change) { r.got = append(r.got, c) }

// A change of toolNames reaches the change feed as the agent's change, as an attach does:
// every replica's gateway reloads the agent (and its names) on it.
func TestToolNamesChangeIsPublished(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
	defer st.Close()
	var rec recorder
	pub := store.Publishing(st, &rec)
	if _, err := pub.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.CreateAgent(ctx, store.Agent{AppID: "a", UID: "bot", Name: "Bot"}); err != nil {
		t.Fatal(err)
	}
	rec.got = nil
	original := toolnames.Original
	if _, err := pub.UpdateAgent(ctx, "a", "bot", store.AgentPatch{ToolNames: &original}, store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 || rec.got[0] != (store.Change{Kind: store.ChangeAgent, AppID: "a", Key: "bot"}) {
		t.Fatalf("published %+v, want the agent's change", rec.got)
	}
}
