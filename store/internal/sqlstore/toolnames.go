package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/agentmcp/agentmcp/internal/toolnames"
	"github.com/agentmcp/agentmcp/store"
)

// checkToolNames refuses (*store.ToolNameConflictError) a write that leaves an agent with
// original tool names serving the servers of list (in attachment order) when a server of
// added would share a tool name with another of list: toolnames.Conflicts over the tools of
// their last successful probes (a server never probed offers none yet). Conflicts between
// servers attached before are not this write's: the gateway withholds the later one's tool.
// q is the write's transaction, so attaches of one agent are checked one after the other.
func (s *Store) checkToolNames(ctx context.Context, q Querier, appID string, list, added []string) error {
	if len(added) == 0 || len(list) < 2 {
		return nil
	}
	tools := make(map[string][]byte, len(list))
	err := q.Query(ctx, s.q.serverTools, []any{appID, s.d.List(list)}, func(sc Scanner) error {
		var slug, t string
		if err := sc.Scan(&slug, &t); err != nil {
			return err
		}
		tools[slug] = []byte(t)
		return nil
	})
	if err != nil {
		return err
	}
	servers := make([]toolnames.Server, 0, len(tools))
	for _, slug := range list {
		t, ok := tools[slug]
		if !ok {
			continue
		}
		names, err := toolnames.ToolNames(t)
		if err != nil {
			return fmt.Errorf("tools of %q: decoding stored JSON: %w", slug, err)
		}
		servers = append(servers, toolnames.Server{Slug: slug, Names: names})
	}
	for _, c := range toolnames.Conflicts(servers) {
		if slices.Contains(added, c.Server) || slices.Contains(added, c.ConflictsWith) {
			return &store.ToolNameConflictError{Conflict: c}
		}
	}
	return nil
}

// addedServers is what a write that leaves an agent serving next adds to what it served
// before (cur) under original tool names: every server when the agent was not using them.
func addedServers(cur, next store.Agent) []string {
	if next.Gateway.ToolNames != toolnames.Original {
		return nil
	}
	if cur.Gateway.ToolNames != toolnames.Original {
		return next.MCPServers
	}
	return notAttached(cur.MCPServers, next.MCPServers)
}
