package store

import (
	"bytes"
	"context"
	"sync"
)

// Change says that something an app's agents use changed: a server (its URL, credentials,
// tools or existence) or an agent (its attachments or existence). ChangeReset says that
// anything may have changed (the feed lost changes: its connection dropped, or a
// subscriber fell behind).
type Change struct {
	Kind  string
	AppID string
	Key   string // the server's slug or the agent's uid
}

// Kinds of Change.
const (
	ChangeServer = "mcp_server"
	ChangeAgent  = "agent"
	ChangeReset  = "reset"
)

// Feed hands every change to its subscribers: one process's writes on SQLite, every
// replica's (LISTEN/NOTIFY) on PostgreSQL. It never blocks a writer: a subscriber that
// falls behind gets a ChangeReset instead of what it missed.
type Feed struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	healthy bool
}

// NewFeed returns a healthy feed with no subscribers.
func NewFeed() *Feed { return &Feed{subs: map[*Subscription]struct{}{}, healthy: true} }

// Subscription receives changes on C until Close.
type Subscription struct {
	C     chan Change
	f     *Feed
	reset bool // a reset is owed (C was full)
}

// Subscribe starts a subscription with room for buf changes.
func (f *Feed) Subscribe(buf int) *Subscription {
	s := &Subscription{C: make(chan Change, max(buf, 1)), f: f}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.f.mu.Lock()
	delete(s.f.subs, s)
	s.f.mu.Unlock()
}

// Publish hands c to every subscriber.
func (f *Feed) Publish(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		if s.reset {
			c2 := Change{Kind: ChangeReset}
			select {
			case s.C <- c2:
				s.reset = false
			default:
				continue
			}
		}
		select {
		case s.C <- c:
		default:
			s.reset = true
		}
	}
}

// SetHealthy records whether the feed delivers every change (false while a PostgreSQL
// listener is disconnected); on becoming healthy again it publishes a ChangeReset, since
// changes may have been missed.
func (f *Feed) SetHealthy(ok bool) {
	f.mu.Lock()
	was := f.healthy
	f.healthy = ok
	f.mu.Unlock()
	if ok && !was {
		f.Publish(Change{Kind: ChangeReset})
	}
}

// Healthy reports whether every change reaches the subscribers.
func (f *Feed) Healthy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.healthy
}

// Publishing returns st that publishes on f every write an agent's tools depend on, after
// it committed: the change feed of a single process (SQLite). PostgreSQL's comes from its
// triggers, to every replica.
func Publishing(st Store, f *Feed) Store { return publishing{Store: st, f: f} }

type publishing struct {
	Store
	f *Feed
}

func (p publishing) UpdateMCPServer(ctx context.Context, appID, slug string, patch MCPServerPatch, pre Precondition) (MCPServer, MCPServer, error) {
	before, after, err := p.Store.UpdateMCPServer(ctx, appID, slug, patch, pre)
	if err == nil && (before.URL != after.URL || patch.Auth != nil) {
		p.f.Publish(Change{Kind: ChangeServer, AppID: appID, Key: slug})
	}
	return before, after, err
}

func (p publishing) DeleteMCPServer(ctx context.Context, appID, slug string, pre Precondition) error {
	err := p.Store.DeleteMCPServer(ctx, appID, slug, pre)
	if err == nil {
		p.f.Publish(Change{Kind: ChangeServer, AppID: appID, Key: slug})
	}
	return err
}

func (p publishing) agent(appID, uid string, err error) {
	if err == nil {
		p.f.Publish(Change{Kind: ChangeAgent, AppID: appID, Key: uid})
	}
}

func (p publishing) UpdateAgent(ctx context.Context, appID, uid string, patch AgentPatch, pre Precondition) (Agent, error) {
	a, err := p.Store.UpdateAgent(ctx, appID, uid, patch, pre)
	p.agent(appID, uid, err)
	return a, err
}

func (p publishing) DeleteAgent(ctx context.Context, appID, uid string, pre Precondition) error {
	err := p.Store.DeleteAgent(ctx, appID, uid, pre)
	p.agent(appID, uid, err)
	return err
}

func (p publishing) AttachMCPServers(ctx context.Context, appID, uid string, slugs []string) (Agent, error) {
	a, err := p.Store.AttachMCPServers(ctx, appID, uid, slugs)
	p.agent(appID, uid, err)
	return a, err
}

func (p publishing) DetachMCPServers(ctx context.Context, appID, uid string, slugs []string) (Agent, error) {
	a, err := p.Store.DetachMCPServers(ctx, appID, uid, slugs)
	p.agent(appID, uid, err)
	return a, err
}

// SaveProbe publishes when the probe found other tools than the last one.
func (p publishing) SaveProbe(ctx context.Context, appID, slug string, r ProbeRecord) error {
	old, oldErr := p.Store.GetProbe(ctx, appID, slug)
	err := p.Store.SaveProbe(ctx, appID, slug, r)
	if err == nil && r.Tools != nil && (oldErr != nil || !bytes.Equal(old.Tools, r.Tools)) {
		p.f.Publish(Change{Kind: ChangeServer, AppID: appID, Key: slug})
	}
	return err
}

// Unwrap returns the store under the feed (for optional interfaces).
func (p publishing) Unwrap() Store { return p.Store }
