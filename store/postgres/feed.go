package postgres

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/store"
)

// Listen delivers the changes every replica writes (the triggers of migration 0008 notify
// channel agentmcp_changes) to f until ctx ends. While its connection is down the feed is
// unhealthy; once it listens again it publishes a reset, since changes may have been missed.
func (s *Store) Listen(ctx context.Context, f *store.Feed, log *slog.Logger) {
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; {
		err := s.listen(ctx, f)
		f.SetHealthy(false)
		if ctx.Err() != nil {
			return
		}
		if log != nil {
			log.Warn("change feed: connection lost; reconnecting", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listen(ctx context.Context, f *store.Feed) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "agentmcp-feed"
	cfg.RuntimeParams["statement_timeout"] = "0"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN agentmcp_changes"); err != nil {
		return err
	}
	f.SetHealthy(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var m struct{ K, A, ID string }
		if json.Unmarshal([]byte(n.Payload), &m) != nil {
			continue
		}
		f.Publish(store.Change{Kind: m.K, AppID: m.A, Key: m.ID})
	}
}
