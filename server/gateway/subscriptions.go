package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/server/gateway/upstream"
)

// subscriptions hold, per server resource, the client sessions subscribed to it (and the
// URI each knows it by). The gateway subscribes upstream once, on the shared lane, while
// any client session is subscribed, and the SDK fans an update out to the subscribers.
//
// Upstream subscriptions belong to the upstream session (a resources/subscribe, or a
// subscriptions/listen stream under protocol 2026-07-28 that the SDK never reopens), so
// a keeper per server watches the shared session they were made on and, when it ends
// for any reason, subscribes again every URI that still has subscribers.
type subscriptions struct {
	g       *Gateway
	mu      sync.Mutex
	m       map[subKey]map[*mcp.ServerSession]subscriber
	keepers map[upstream.Key]bool                // a keeper runs for the server
	ends    map[*mcp.ClientSession]chan struct{} // closed when the session ends; one waiter each
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
	var on *mcp.ClientSession
	err := a.g.shared.Do(ctx, key.k, url, a.g.opt.CallTimeout, func(ctx context.Context, cs *mcp.ClientSession) error {
		on = cs
		return cs.Subscribe(ctx, &mcp.SubscribeParams{URI: own})
	})
	if err != nil {
		s.drop(key, req.Session, url)
		return protocolError(err)
	}
	s.keep(key.k, on)
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

// keep starts k's keeper unless one runs; on is the session the caller subscribed on.
func (s *subscriptions) keep(k upstream.Key, on *mcp.ClientSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keepers[k] {
		return
	}
	s.keepers[k] = true
	go s.keeper(k, on)
}

// Backoff of a keeper between sessions that did not last.
const (
	resubscribeMin    = 250 * time.Millisecond
	resubscribeMax    = 30 * time.Second
	resubscribeSteady = 10 * time.Second // a session that lived this long resets the backoff
)

// keeper waits for the end of the session k's subscriptions were made on, then (while any
// remain) opens a session and subscribes them again, backing off while that fails or the
// sessions do not last. It ends with k's last subscription or the gateway.
func (s *subscriptions) keeper(k upstream.Key, on *mcp.ClientSession) {
	var wait time.Duration
	for {
		if on != nil {
			opened := time.Now()
			select {
			case <-s.ended(on):
			case <-s.g.stop:
				s.stopKeeper(k)
				return
			}
			if time.Since(opened) >= resubscribeSteady {
				wait = 0
			}
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.g.stop:
				t.Stop()
				s.stopKeeper(k)
				return
			}
		}
		wait = min(max(2*wait, resubscribeMin), resubscribeMax)
		uris, url, ok := s.wanted(k)
		if !ok {
			return
		}
		on = nil
		_ = s.g.shared.Do(context.Background(), k, url, s.g.opt.CallTimeout, func(ctx context.Context, cs *mcp.ClientSession) error {
			for _, uri := range uris {
				var refused *jsonrpc.Error
				if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil && !errors.As(err, &refused) {
					return err // not the server's answer: again on a new session
				}
			}
			on = cs
			return nil
		})
		for _, uri := range uris { // dropped meanwhile: its unsubscribe may have gone first
			if on != nil && !s.has(subKey{k, uri}) {
				_ = s.g.shared.Do(context.Background(), k, url, s.g.opt.CallTimeout, func(ctx context.Context, cs *mcp.ClientSession) error {
					return cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri})
				})
			}
		}
	}
}

// wanted lists the URIs of k that have subscribers and a URL to reach k; ok is false
// (and k's keeper is stopped) when there are none.
func (s *subscriptions) wanted(k upstream.Key) (uris []string, url string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, subs := range s.m {
		if key.k != k {
			continue
		}
		for _, sub := range subs {
			if u, ok := sub.a.route(k.Slug); ok {
				url = u
				uris = append(uris, key.uri)
				break
			}
		}
	}
	if len(uris) == 0 {
		delete(s.keepers, k)
		return nil, "", false
	}
	return uris, url, true
}

func (s *subscriptions) has(key subKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m[key]) > 0
}

func (s *subscriptions) stopKeeper(k upstream.Key) {
	s.mu.Lock()
	delete(s.keepers, k)
	s.mu.Unlock()
}

// ended is closed when cs ends; one waiter per session, whichever keepers watch it.
func (s *subscriptions) ended(cs *mcp.ClientSession) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.ends[cs]
	if ch == nil {
		ch = make(chan struct{})
		s.ends[cs] = ch
		go func() {
			_ = cs.Wait()
			s.mu.Lock()
			delete(s.ends, cs)
			s.mu.Unlock()
			close(ch)
		}()
	}
	return ch
}
