// Package service is where each write of the API has its side effects, called explicitly
// in one place: credentials sealed (keyring), limits checked, the write (the store records
// the row and its audit event in one transaction; store.Publishing hands the change to the
// feed after the commit), a probe enqueued. The REST handlers map requests and errors;
// they read from the store but write only through a Service.
package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/store"
)

// Store is what the service writes, and the reads its checks need.
type Store interface {
	CreateMCPServer(ctx context.Context, appID string, in store.NewMCPServer) (store.MCPServer, error)
	UpdateMCPServer(ctx context.Context, appID, slug string, p store.MCPServerPatch, pre store.Precondition) (before, after store.MCPServer, err error)
	DeleteMCPServer(ctx context.Context, appID, slug string, pre store.Precondition) error

	CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error)
	UpdateAgent(ctx context.Context, appID, uid string, p store.AgentPatch, pre store.Precondition) (store.Agent, error)
	DeleteAgent(ctx context.Context, appID, uid string, pre store.Precondition) error
	AttachMCPServers(ctx context.Context, appID, uid string, slugs []string) (store.Agent, error)
	DetachMCPServers(ctx context.Context, appID, uid string, slugs []string) (store.Agent, error)

	GetAgent(ctx context.Context, appID, uid string) (store.Agent, error)
	ListAPIKeys(ctx context.Context, appID string) ([]store.APIKey, error)
	CreateAPIKey(ctx context.Context, k store.APIKey) error
	RevokeAPIKey(ctx context.Context, id string) error

	SetRegistry(ctx context.Context, appID string, on bool) error
	SaveProbe(ctx context.Context, appID, slug string, r store.ProbeRecord) error

	DecideToolChange(ctx context.Context, appID, uid, hash string, approve bool) (store.ToolPin, error)
}

// Enqueuer is told of every server whose probe result a write may have changed (created,
// new URL, new credentials), to probe it in the background; *probe.Runner is the real one.
type Enqueuer interface {
	Enqueue(store.ServerRef) bool
}

// Options configure New.
type Options struct {
	Credentials  *keyring.Service // seals MCP servers' credentials (nil: none can be stored)
	Probes       Enqueuer         // nil: no background probing
	MaxServers   int              // per app; 0: no limit
	MaxAgentKeys int              // live keys per agent; 0: DefaultMaxAgentKeys
	// OAuth forgets a server's OAuth tokens when its credentials change (they were issued
	// to the old client); nil: no OAuth connections.
	OAuth TokenForgetter
}

// TokenForgetter drops a server's OAuth tokens (*oauthclient.Service).
type TokenForgetter interface {
	Forget(ctx context.Context, app, slug string) error
}

// DefaultMaxAgentKeys bounds the live keys of one agent.
const DefaultMaxAgentKeys = 100

// Service makes the API's writes.
type Service struct {
	st Store
	o  Options
}

// New returns the service writing to st (the store behind the feed and the cache, so that
// each write is published and invalidates).
func New(st Store, o Options) *Service {
	if o.MaxAgentKeys <= 0 {
		o.MaxAgentKeys = DefaultMaxAgentKeys
	}
	return &Service{st: st, o: o}
}

// LimitError is a write refused because the app (servers) or agent (keys) already has
// Limit; it is store.ErrLimitReached.
type LimitError struct{ Limit int }

func (e *LimitError) Error() string        { return fmt.Sprintf("limit of %d reached", e.Limit) }
func (e *LimitError) Is(target error) bool { return target == store.ErrLimitReached }

// InvalidCredentialsError lists what is wrong with the credentials of a write, each
// problem named by its field in the request body.
type InvalidCredentialsError struct{ Problems []keyring.Problem }

func (e *InvalidCredentialsError) Error() string {
	return fmt.Sprintf("invalid credentials: %s %s", e.Problems[0].Field, e.Problems[0].Message)
}

// ErrNoSuchKey: the agent has no key of that id.
var ErrNoSuchKey = errors.New("no such agent key")

// seal validates c (at field "auth") and seals it; nil in, nil out. Without a keeper it
// fails with keyring.ErrNoKeeper.
func (s *Service) seal(ctx context.Context, app, slug string, c *keyring.Credentials) (*store.Auth, error) {
	if c == nil {
		return nil, nil
	}
	if ps := c.Validate("auth"); len(ps) > 0 {
		return nil, &InvalidCredentialsError{Problems: ps}
	}
	a, err := s.o.Credentials.Seal(ctx, app, slug, *c)
	if errors.Is(err, keyring.ErrNoKeeper) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("seal credentials of %s: %w", slug, err)
	}
	return &a, nil
}

func (s *Service) enqueue(m store.MCPServer) {
	if s.o.Probes != nil {
		s.o.Probes.Enqueue(store.ServerRef{AppID: m.AppID, Slug: m.Slug, URL: m.URL})
	}
}

// NewServer is a server to create; Auth nil (or type none) stores no credentials.
type NewServer struct {
	Slug, Name, Description, URL, Icon string
	Auth                               *keyring.Credentials
}

// CreateServer seals the credentials, creates the server within the app's limit and
// enqueues its first probe.
func (s *Service) CreateServer(ctx context.Context, app string, in NewServer) (store.MCPServer, error) {
	auth, err := s.seal(ctx, app, in.Slug, in.Auth)
	if err != nil {
		return store.MCPServer{}, err
	}
	if auth != nil && !auth.Info.Configured() {
		auth = nil // "none" on a create is no credentials
	}
	m, err := s.st.CreateMCPServer(ctx, app, store.NewMCPServer{
		Slug: in.Slug, Name: in.Name, URL: in.URL, Description: in.Description, Icon: in.Icon, Limit: s.o.MaxServers, Auth: auth,
	})
	if errors.Is(err, store.ErrLimitReached) {
		return store.MCPServer{}, fmt.Errorf("%w: %w", &LimitError{Limit: s.o.MaxServers}, err)
	}
	if err != nil {
		return store.MCPServer{}, err
	}
	s.enqueue(m)
	return m, nil
}

// ServerPatch is a partial update of a server: nil fields are left as they are; Auth of
// type none removes the stored credentials.
type ServerPatch struct {
	Name, Description, URL, Icon *string
	Auth                         *keyring.Credentials
}

// UpdateServer seals new credentials, updates the server if pre holds and, when its URL or
// credentials changed, enqueues a probe (new credentials may turn auth_required into ok).
func (s *Service) UpdateServer(ctx context.Context, app, slug string, p ServerPatch, pre store.Precondition) (store.MCPServer, error) {
	auth, err := s.seal(ctx, app, slug, p.Auth)
	if err != nil {
		return store.MCPServer{}, err
	}
	old, m, err := s.st.UpdateMCPServer(ctx, app, slug, store.MCPServerPatch{
		Name: p.Name, Description: p.Description, URL: p.URL, Icon: p.Icon, Auth: auth,
	}, pre)
	if err != nil {
		return store.MCPServer{}, err
	}
	if auth != nil && s.o.OAuth != nil {
		if err := s.o.OAuth.Forget(ctx, app, slug); err != nil {
			return store.MCPServer{}, fmt.Errorf("forget the OAuth tokens of %s: %w", slug, err)
		}
	}
	if m.URL != old.URL || m.Auth != old.Auth || auth != nil {
		s.enqueue(m)
	}
	return m, nil
}

// DeleteServer deletes the server if pre holds; the store detaches it from the app's
// agents in the same transaction.
func (s *Service) DeleteServer(ctx context.Context, app, slug string, pre store.Precondition) error {
	return s.st.DeleteMCPServer(ctx, app, slug, pre)
}

// CreateAgent creates a (a.UID set).
func (s *Service) CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	return s.st.CreateAgent(ctx, a)
}

// UpdateAgent updates the agent if pre holds.
func (s *Service) UpdateAgent(ctx context.Context, app, uid string, p store.AgentPatch, pre store.Precondition) (store.Agent, error) {
	return s.st.UpdateAgent(ctx, app, uid, p, pre)
}

// DeleteAgent deletes the agent if pre holds.
func (s *Service) DeleteAgent(ctx context.Context, app, uid string, pre store.Precondition) error {
	return s.st.DeleteAgent(ctx, app, uid, pre)
}

// AttachServers attaches the servers to the agent, all or none.
func (s *Service) AttachServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	return s.st.AttachMCPServers(ctx, app, uid, slugs)
}

// DetachServers detaches the servers that are attached.
func (s *Service) DetachServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	return s.st.DetachMCPServers(ctx, app, uid, slugs)
}

// DecideToolChange approves (or rejects) the agent's tool change pending under hash
// (store.ErrStaleChange when none is); the store audits it, the feed tells every gateway.
func (s *Service) DecideToolChange(ctx context.Context, app, uid, hash string, approve bool) (store.ToolPin, error) {
	return s.st.DecideToolChange(ctx, app, uid, hash, approve)
}

// AgentKeys returns the keys of agent uid, revoked or not; the agent must exist.
func (s *Service) AgentKeys(ctx context.Context, app, uid string) ([]store.APIKey, error) {
	if _, err := s.st.GetAgent(ctx, app, uid); err != nil {
		return nil, err
	}
	all, err := s.st.ListAPIKeys(ctx, app)
	if err != nil {
		return nil, err
	}
	var out []store.APIKey
	for _, k := range all {
		if k.Scope == store.ScopeAgent && k.AgentUID == uid {
			out = append(out, k)
		}
	}
	return out, nil
}

// CreateAgentKey makes a key for agent uid within its limit of live keys; the secret is
// returned once and only its hash stored.
func (s *Service) CreateAgentKey(ctx context.Context, app, uid, name string) (k store.APIKey, secret string, err error) {
	keys, err := s.AgentKeys(ctx, app, uid)
	if err != nil {
		return store.APIKey{}, "", err
	}
	live := 0
	for _, k := range keys {
		if k.RevokedAt == 0 {
			live++
		}
	}
	if live >= s.o.MaxAgentKeys {
		return store.APIKey{}, "", &LimitError{Limit: s.o.MaxAgentKeys}
	}
	k, secret = store.NewAPIKey(app, store.ScopeAgent)
	k.AgentUID, k.Name = uid, name
	if err := s.st.CreateAPIKey(ctx, k); err != nil {
		return store.APIKey{}, "", err
	}
	return k, secret, nil
}

// RevokeAgentKey revokes key id of agent uid (again: no error); ErrNoSuchKey when the
// agent has no such key.
func (s *Service) RevokeAgentKey(ctx context.Context, app, uid, id string) error {
	keys, err := s.AgentKeys(ctx, app, uid)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID != id {
			continue
		}
		if err := s.st.RevokeAPIKey(ctx, k.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	return ErrNoSuchKey
}

// SetRegistry switches the app's read-only MCP Registry view.
func (s *Service) SetRegistry(ctx context.Context, app string, on bool) error {
	return s.st.SetRegistry(ctx, app, on)
}

// SaveProbe records the result of a probe a client asked for (POST …/probe), as the
// background runner records its own.
func (s *Service) SaveProbe(ctx context.Context, app, slug string, r store.ProbeRecord) error {
	return s.st.SaveProbe(ctx, app, slug, r)
}
