package store_test

import (
	"encoding/json"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

// Events written by an older agentmcp carry Go's field names; they are served in the wire
// shape like new ones.
func TestUpgradeAuditJSON(t *testing.T) {
	srv := store.MCPServer{AppID: "a", Slug: "s", Name: "N", URL: "https://x.example", CreatedAt: 1, UpdatedAt: 2}
	agent := store.Agent{AppID: "a", UID: "u", Name: "A", MCPServers: []string{"s"}}
	legacy := func(v any) []byte { b, _ := json.Marshal(v); return b }
	for _, c := range []struct {
		old  []byte
		want []byte
	}{
		{legacy(srv), store.AuditJSON(srv)},
		{legacy(agent), store.AuditJSON(agent)},
		{legacy(struct {
			ID, AppID, Scope, Prefix string
			CreatedAt, RevokedAt     int64
		}{"k", "a", "fullAccess", "amk_ab", 1, 0}), store.AuditJSON(store.APIKey{ID: "k", AppID: "a", Scope: store.ScopeFullAccess, Prefix: "amk_ab", CreatedAt: 1})},
		{store.AuditJSON(srv), store.AuditJSON(srv)},
	} {
		if got := store.UpgradeAuditJSON(c.old); string(got) != string(c.want) {
			t.Errorf("UpgradeAuditJSON(%s) = %s, want %s", c.old, got, c.want)
		}
	}
	if got := string(store.AuditJSON(srv)); got != `{"_id":"a_s","appId":"a","slug":"s","name":"N","description":"","url":"https://x.example","icon":"","createdAt":1,"updatedAt":2}` {
		t.Errorf("AuditJSON(server) = %s", got)
	}
}
