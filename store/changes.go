package store

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
)

// Change says that something changed: a server (ChangeServer: its URL, credentials, tools
// or existence, what an agent's tools depend on; ChangeRecord: only what its record shows,
// such as its name or health, or that it was created) or an agent (its attachments or
// existence), ChangeKey that an API key was revoked (Key is its id; AppID is empty). ChangeReset says that anything may have changed (the feed lost changes: its
// connection dropped, or a subscriber fell behind).
type Change struct {
	Kind  string
	AppID string
	Key   string // the server's slug or the agent's uid
}

// Kinds of Change.
const (
	ChangeServer = "mcp_server"
	ChangeRecord = "mcp_server_record"
	ChangeAgent  = "agent"
	ChangeKey    = "api_key"
	ChangeReset  = "reset"
)

// Publisher takes the changes a write made, after it committed.
type Publisher interface{ Publish(Change) }

// Tee publishes every change on each of ps in turn.
func Tee(ps ...Publisher) Publisher { return tee(ps) }

type tee []Publisher

func (t tee) Publish(c Change) {
	for _, p := range t {
		p.Publish(c)
	}
}

// Feed hands every change to its subscribers and observers: one process's writes on
// SQLite, every replica's on PostgreSQL. It never blocks a writer: a subscriber that falls
// behind gets a ChangeReset instead of what it missed.
type Feed struct {
	mu        sync.Mutex
	subs      map[*Subscription]struct{}
	observers []func(Change)
	healthy   atomic.Bool
}

// NewFeed returns a healthy feed with no subscribers.
func NewFeed() *Feed {
	f := &Feed{subs: map[*Subscription]struct{}{}}
	f.healthy.Store(true)
	return f
}

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

// Observe calls fn with every change, synchronously, before Publish returns (and with the
// reset of a reconnection before the feed is healthy again), so that a cache never serves
// what a change it was told of made stale. fn must be quick and must not publish.
func (f *Feed) Observe(fn func(Change)) {
	f.mu.Lock()
	f.observers = append(f.observers, fn)
	f.mu.Unlock()
}

// Publish hands c to every observer and subscriber.
func (f *Feed) Publish(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fn := range f.observers {
		fn(c)
	}
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
// changes may have been missed: observers see it before Healthy reports true.
func (f *Feed) SetHealthy(ok bool) {
	if !ok {
		f.healthy.Store(false)
		return
	}
	f.mu.Lock()
	was := f.healthy.Load()
	f.mu.Unlock()
	if !was {
		f.Publish(Change{Kind: ChangeReset})
		f.healthy.Store(true)
	}
}

// Healthy reports whether every change reaches the subscribers.
func (f *Feed) Healthy() bool { return f.healthy.Load() }

// Publishing returns st that publishes on p every write that changes a server or an agent,
// after it committed: on SQLite to the process's feed; on PostgreSQL also to the other
// replicas (postgres.Notifier), outside the write's transaction (decided in
// docs/decisions.md: a NOTIFY inside it holds a database-wide lock through the commit's
// WAL flush, which serialises every writer).
func Publishing(st Store, p Publisher) Store { return publishing{st: st, f: p} }

// publishing forwards every method explicitly (it embeds nothing): a method added to Store
// does not compile until it is decided here whether it publishes, and
// TestEveryStoreMethodClassified holds the decision.
type publishing struct {
	st Store
	f  Publisher
}

var _ Store = publishing{}

func (p publishing) CreateMCPServer(ctx context.Context, appID string, in NewMCPServer) (MCPServer, error) {
	m, err := p.st.CreateMCPServer(ctx, appID, in)
	if err == nil {
		p.f.Publish(Change{Kind: ChangeRecord, AppID: appID, Key: in.Slug})
	}
	return m, err
}

func (p publishing) UpdateMCPServer(ctx context.Context, appID, slug string, patch MCPServerPatch, pre Precondition) (MCPServer, MCPServer, error) {
	before, after, err := p.st.UpdateMCPServer(ctx, appID, slug, patch, pre)
	if err == nil {
		kind := ChangeRecord
		if before.URL != after.URL || patch.Auth != nil {
			kind = ChangeServer
		}
		p.f.Publish(Change{Kind: kind, AppID: appID, Key: slug})
	}
	return before, after, err
}

func (p publishing) DeleteMCPServer(ctx context.Context, appID, slug string, pre Precondition) error {
	err := p.st.DeleteMCPServer(ctx, appID, slug, pre)
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
	a, err := p.st.UpdateAgent(ctx, appID, uid, patch, pre)
	p.agent(appID, uid, err)
	return a, err
}

func (p publishing) DeleteAgent(ctx context.Context, appID, uid string, pre Precondition) error {
	err := p.st.DeleteAgent(ctx, appID, uid, pre)
	p.agent(appID, uid, err)
	return err
}

func (p publishing) AttachMCPServers(ctx context.Context, appID, uid string, slugs []string) (Agent, error) {
	a, err := p.st.AttachMCPServers(ctx, appID, uid, slugs)
	p.agent(appID, uid, err)
	return a, err
}

func (p publishing) DetachMCPServers(ctx context.Context, appID, uid string, slugs []string) (Agent, error) {
	a, err := p.st.DetachMCPServers(ctx, appID, uid, slugs)
	p.agent(appID, uid, err)
	return a, err
}

// ObserveToolPins tells the agent's gateways when a definition now awaits a decision;
// DecideToolChange when one was decided: what they withhold changes.
func (p publishing) ObserveToolPins(ctx context.Context, appID, uid string, seen []PinObservation) ([]ToolPin, error) {
	out, err := p.st.ObserveToolPins(ctx, appID, uid, seen)
	if len(out) > 0 {
		p.agent(appID, uid, err)
	}
	return out, err
}

func (p publishing) DecideToolChange(ctx context.Context, appID, uid, hash string, approve bool) (ToolPin, error) {
	out, err := p.st.DecideToolChange(ctx, appID, uid, hash, approve)
	p.agent(appID, uid, err)
	return out, err
}

func (p publishing) ListToolPins(ctx context.Context, app, uid string) ([]ToolPin, error) {
	return p.st.ListToolPins(ctx, app, uid)
}

// SaveProbe changes the server's health (ChangeRecord), and what its agents serve when the
// probe found other tools than the last one (ChangeServer).
func (p publishing) SaveProbe(ctx context.Context, appID, slug string, r ProbeRecord) error {
	old, oldErr := p.st.GetProbe(ctx, appID, slug)
	err := p.st.SaveProbe(ctx, appID, slug, r)
	if err == nil {
		kind := ChangeRecord
		if r.Tools != nil && (oldErr != nil || !bytes.Equal(old.Tools, r.Tools)) {
			kind = ChangeServer
		}
		p.f.Publish(Change{Kind: kind, AppID: appID, Key: slug})
	}
	return err
}

// Unwrap returns the store under the feed (for optional interfaces).
func (p publishing) Unwrap() Store { return p.st }

// The methods that change nothing an agent's gateway or a cache holds pass through.

func (p publishing) Ping(ctx context.Context) error { return p.st.Ping(ctx) }
func (p publishing) Close() error                   { return p.st.Close() }
func (p publishing) CreateApp(ctx context.Context, id string) (App, error) {
	return p.st.CreateApp(ctx, id)
}
func (p publishing) ListApps(ctx context.Context) ([]App, error) { return p.st.ListApps(ctx) }
func (p publishing) CreateAPIKey(ctx context.Context, k APIKey) error {
	return p.st.CreateAPIKey(ctx, k)
}
func (p publishing) LookupAPIKey(ctx context.Context, h [32]byte) (APIKey, error) {
	return p.st.LookupAPIKey(ctx, h)
}
func (p publishing) ListAPIKeys(ctx context.Context, app string) ([]APIKey, error) {
	return p.st.ListAPIKeys(ctx, app)
}

// RevokeAPIKey tells every replica's key cache, which remembers revocations through an
// outage of the store (server/auth).
func (p publishing) RevokeAPIKey(ctx context.Context, id string) error {
	err := p.st.RevokeAPIKey(ctx, id)
	if err == nil {
		p.f.Publish(Change{Kind: ChangeKey, Key: id})
	}
	return err
}
func (p publishing) GetMCPServer(ctx context.Context, app, slug string) (MCPServer, error) {
	return p.st.GetMCPServer(ctx, app, slug)
}
func (p publishing) ListMCPServers(ctx context.Context, app string, page Page) ([]MCPServer, error) {
	return p.st.ListMCPServers(ctx, app, page)
}
func (p publishing) CreateAgent(ctx context.Context, a Agent) (Agent, error) {
	return p.st.CreateAgent(ctx, a)
}
func (p publishing) GetAgent(ctx context.Context, app, uid string) (Agent, error) {
	return p.st.GetAgent(ctx, app, uid)
}
func (p publishing) ListAgents(ctx context.Context, app string, page Page) ([]Agent, error) {
	return p.st.ListAgents(ctx, app, page)
}
func (p publishing) AgentMCPServers(ctx context.Context, app, uid string) ([]MCPServer, error) {
	return p.st.AgentMCPServers(ctx, app, uid)
}
func (p publishing) GetProbe(ctx context.Context, app, slug string) (ProbeRecord, error) {
	return p.st.GetProbe(ctx, app, slug)
}
func (p publishing) ClaimProbes(ctx context.Context, staleBefore, now, leaseUntil int64, limit int) ([]ServerRef, error) {
	return p.st.ClaimProbes(ctx, staleBefore, now, leaseUntil, limit)
}
func (p publishing) BeginIdempotent(ctx context.Context, app, key, hash string, now, staleBefore, expireBefore int64) (Idempotent, bool, error) {
	return p.st.BeginIdempotent(ctx, app, key, hash, now, staleBefore, expireBefore)
}
func (p publishing) GetIdempotent(ctx context.Context, app, key string) (Idempotent, error) {
	return p.st.GetIdempotent(ctx, app, key)
}
func (p publishing) FinishIdempotent(ctx context.Context, app, key string, status int, body, etag string) error {
	return p.st.FinishIdempotent(ctx, app, key, status, body, etag)
}
func (p publishing) AbandonIdempotent(ctx context.Context, app, key string) error {
	return p.st.AbandonIdempotent(ctx, app, key)
}
func (p publishing) PurgeIdempotency(ctx context.Context, before int64) (int64, error) {
	return p.st.PurgeIdempotency(ctx, before)
}
func (p publishing) ListAuditEvents(ctx context.Context, app string, q AuditQuery) ([]AuditEvent, error) {
	return p.st.ListAuditEvents(ctx, app, q)
}
func (p publishing) ListDataKeys(ctx context.Context) ([]DataKey, error) {
	return p.st.ListDataKeys(ctx)
}
func (p publishing) AddDataKey(ctx context.Context, k DataKey) error { return p.st.AddDataKey(ctx, k) }
func (p publishing) AddDataKeyWrap(ctx context.Context, keyID, keeper string, wrapped []byte) error {
	return p.st.AddDataKeyWrap(ctx, keyID, keeper, wrapped)
}
func (p publishing) DeleteDataKeyWraps(ctx context.Context, keyID, keep string) error {
	return p.st.DeleteDataKeyWraps(ctx, keyID, keep)
}
func (p publishing) DeleteDataKey(ctx context.Context, keyID string) error {
	return p.st.DeleteDataKey(ctx, keyID)
}
func (p publishing) CountSealed(ctx context.Context) (map[string]int, error) {
	return p.st.CountSealed(ctx)
}
func (p publishing) ListSealed(ctx context.Context, keyID string, limit int) ([]SealedRef, error) {
	return p.st.ListSealed(ctx, keyID, limit)
}
func (p publishing) Reseal(ctx context.Context, ref SealedRef, s Sealed) (bool, error) {
	return p.st.Reseal(ctx, ref, s)
}
func (p publishing) GetCredentials(ctx context.Context, app, slug string) (AuthInfo, Sealed, error) {
	return p.st.GetCredentials(ctx, app, slug)
}
func (p publishing) SetRegistry(ctx context.Context, app string, on bool) error {
	return p.st.SetRegistry(ctx, app, on)
}
func (p publishing) RegistryEnabled(ctx context.Context, app string) (bool, error) {
	return p.st.RegistryEnabled(ctx, app)
}
func (p publishing) ListRegistry(ctx context.Context, app string, q RegistryQuery) (RegistryPage, error) {
	return p.st.ListRegistry(ctx, app, q)
}
func (p publishing) CountIdempotent(ctx context.Context, app string, limit int) (int, error) {
	return p.st.CountIdempotent(ctx, app, limit)
}
func (p publishing) PurgeAuditEvents(ctx context.Context, before int64) (int64, error) {
	return p.st.PurgeAuditEvents(ctx, before)
}
