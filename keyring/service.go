package keyring

import (
	"context"
	"net/http"
	"strings"

	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// CredentialStore reads a server's sealed credentials.
type CredentialStore interface {
	GetCredentials(ctx context.Context, appID, slug string) (store.AuthInfo, store.Sealed, error)
}

// Service seals the credentials of writes and opens them for probes and gateway calls.
type Service struct {
	Ring  *Ring // nil: no keeper; servers with credentials cannot be written
	Store CredentialStore
}

// Seal turns credentials from a request into what the store keeps. Type "none" is the
// removal of stored credentials and needs no keeper.
func (s *Service) Seal(ctx context.Context, appID, slug string, c Credentials) (store.Auth, error) {
	if c.Type == AuthNone {
		return store.Auth{Info: store.AuthInfo{Type: AuthNone}}, nil
	}
	if s == nil || s.Ring == nil || !s.Ring.CanSeal() {
		return store.Auth{}, ErrNoKeeper
	}
	sealed, err := s.Ring.Seal(ctx, appID, slug, c.Marshal())
	if err != nil {
		return store.Auth{}, err
	}
	return store.Auth{Info: store.AuthInfo{Type: c.Type, Headers: strings.Join(c.Names(), ",")}, Sealed: sealed}, nil
}

// Credentials returns a server's credentials (Type none when it has none).
func (s *Service) Credentials(ctx context.Context, appID, slug string) (Credentials, error) {
	if s == nil || s.Store == nil {
		return Credentials{Type: AuthNone}, nil
	}
	info, sealed, err := s.Store.GetCredentials(ctx, appID, slug)
	if err != nil {
		return Credentials{}, err
	}
	if sealed.KeyID == "" || info.Type == "" || info.Type == AuthNone {
		return Credentials{Type: AuthNone}, nil
	}
	if s.Ring == nil {
		return Credentials{}, ErrNoKeeper
	}
	plain, err := s.Ring.Open(ctx, appID, slug, sealed)
	if err != nil {
		return Credentials{}, err
	}
	return Unmarshal(plain)
}

// Header is the headers a server's credentials set (nil: none).
func (s *Service) Header(ctx context.Context, appID, slug string) (http.Header, error) {
	c, err := s.Credentials(ctx, appID, slug)
	if err != nil || c.Type == AuthNone || c.Type == AuthOAuth {
		return nil, err
	}
	h := http.Header{}
	c.Apply(h)
	return h, nil
}

// Auth is what a server's static credentials send (probe.Header; nil: none). A server
// whose credentials are OAuth sends nothing from here: its tokens come from its OAuth
// connection (package oauthclient).
func (s *Service) Auth(ctx context.Context, appID, slug string) (probe.Auth, error) {
	h, err := s.Header(ctx, appID, slug)
	if err != nil || h == nil {
		return nil, err
	}
	return probe.Header(h), nil
}
