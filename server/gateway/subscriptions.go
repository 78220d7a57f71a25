package gateway

import (
	"context"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/server/gateway/upstream"
)

// subscriptions hold, per server resource, the client sessions subscribed to it (and the
// URI each knows it by). The gateway subscribes upstream once, on the shared lane, while
// any client session is subscribed, and the SDK fans an update out to the subscribers.
type subscriptions struct {
	g  *Gateway
	mu sync.Mutex
	m  map[subKey]map[*mcp.ServerSession]subscriber
}

type subKey struct {
	k   upstream.Key
	uri string // the server's own
}

type subscriber struct {
	a      *agentState
	served string
}

func (a *agentState) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	slug, own, ok := a.resolve(req.Params.URI)
	if !ok {
		return mcp.ResourceNotFoundError(req.Params.URI)
	}
	url, ok := a.route(slug)
	if !ok {
		return mcp.ResourceNotFoundError(req.Params.URI)
	}
	s := a.g.subs
	key := subKey{upstream.Key{App: a.app, Slug: slug}, own}
	s.mu.Lock()
	first := len(s.m[key]) == 0
	if s.m[key] == nil {
		s.m[key] = map[*mcp.ServerSession]subscriber{}
	}
	s.m[key][req.Session] = subscriber{a, req.Params.URI}
	s.mu.Unlock()
	if !first {
		return nil
	}
	err := a.g.shared.Do(ctx, key.k, url, a.g.opt.CallTimeout, func(ctx context.Context, cs *mcp.ClientSession) error {
		return cs.Subscribe(ctx, &mcp.SubscribeParams{URI: own})
	})
	if err != nil {
		s.drop(key, req.Session, url)
		return protocolError(err)
	}
	return nil
}

func (a *agentState) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	slug, own, ok := a.resolve(req.Params.URI)
	if !ok {
		return nil
	}
	url, _ := a.route(slug)
	a.g.subs.drop(subKey{upstream.Key{App: a.app, Slug: slug}, own}, req.Session, url)
	return nil
}

// drop removes ss's subscription to key, unsubscribing upstream when it was the last.
func (s *subscriptions) drop(key subKey, ss *mcp.ServerSession, url string) {
	s.mu.Lock()
	subs := s.m[key]
	delete(subs, ss)
	last := subs != nil && len(subs) == 0
	if last {
		delete(s.m, key)
	}
	s.mu.Unlock()
	if last && url != "" {
		_ = s.g.shared.Do(context.Background(), key.k, url, s.g.opt.CallTimeout, func(ctx context.Context, cs *mcp.ClientSession) error {
			return cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: key.uri})
		})
	}
}

// dropSession removes every subscription of a session that ended.
func (s *subscriptions) dropSession(ss *mcp.ServerSession) {
	type gone struct {
		key subKey
		url string
	}
	var last []gone
	s.mu.Lock()
	for key, subs := range s.m {
		sub, ok := subs[ss]
		if !ok {
			continue
		}
		delete(subs, ss)
		if len(subs) == 0 {
			delete(s.m, key)
			url, _ := sub.a.route(key.k.Slug)
			last = append(last, gone{key, url})
		}
	}
	s.mu.Unlock()
	for _, g := range last {
		if g.url != "" {
			go func() {
				_ = s.g.shared.Do(context.Background(), g.key.k, g.url, s.g.opt.CallTimeout, func(ctx context.Context, cs *mcp.ClientSession) error {
					return cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: g.key.uri})
				})
			}()
		}
	}
}

// updated tells the subscribers of a server's resource that it changed.
func (s *subscriptions) updated(ctx context.Context, k upstream.Key, p *mcp.ResourceUpdatedNotificationParams) {
	if p == nil {
		return
	}
	type target struct {
		a      *agentState
		served string
	}
	seen := map[target]bool{}
	s.mu.Lock()
	for _, sub := range s.m[subKey{k, p.URI}] {
		seen[target(sub)] = true
	}
	s.mu.Unlock()
	for t := range seen {
		q := *p
		q.URI = t.served
		_ = t.a.srv.ResourceUpdated(ctx, &q)
	}
}
