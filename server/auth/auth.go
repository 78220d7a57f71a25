// Package auth is agentmcp's one authenticator: it turns the credential a request presents
// (the apikey header, or Authorization: Bearer) into a Principal, for the REST API, the
// agents' gateway and any other room. Each kind of credential is a Verifier, tried in
// order: API keys (with agent keys) today; an OAuth access-token verifier plugs in beside.
package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/agentmcp/agentmcp/store"
)

// Principal is an authenticated caller: the app (tenant) and the key that was presented.
type Principal struct {
	AppID string
	KeyID string
	Scope store.Scope
	// AgentUID is the agent an agent key (Scope store.ScopeAgent) is for.
	AgentUID string
}

// MayUseGateway says whether p may call agent uid's gateway: a fullAccess key of its app,
// or an agent key of this agent.
func (p Principal) MayUseGateway(uid string) bool {
	return p.Scope == store.ScopeFullAccess || (p.Scope == store.ScopeAgent && p.AgentUID == uid)
}

// Failures of Authenticate. Other errors (the store is down) are the verifier's, wrapped.
var (
	ErrMissing = errors.New("auth: no credential")
	ErrInvalid = errors.New("auth: credential not valid")
)

// Verifier checks one kind of credential. It returns ErrInvalid for a credential it does
// not know or that is no longer valid (revoked, expired), so that the next one is tried.
type Verifier interface {
	Verify(ctx context.Context, credential string) (Principal, error)
}

// Authenticator tries its verifiers in order.
type Authenticator struct{ verifiers []Verifier }

// New returns an authenticator over vs, tried in order.
func New(vs ...Verifier) *Authenticator { return &Authenticator{verifiers: vs} }

// Authenticate returns the caller the credential proves: ErrMissing for none, ErrInvalid
// when no verifier accepts it.
func (a *Authenticator) Authenticate(ctx context.Context, credential string) (Principal, error) {
	if credential == "" {
		return Principal{}, ErrMissing
	}
	for _, v := range a.verifiers {
		p, err := v.Verify(ctx, credential)
		if !errors.Is(err, ErrInvalid) {
			return p, err
		}
	}
	return Principal{}, ErrInvalid
}

// APIKeyHeader is the credential in the apikey header (the REST API's only way).
func APIKeyHeader(h http.Header) string { return h.Get("apikey") }

// Credential is the apikey header, else the token of Authorization: Bearer (the gateway's
// ways: MCP clients send a bearer token).
func Credential(h http.Header) string {
	if s := h.Get("apikey"); s != "" {
		return s
	}
	if v := h.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

type principalKey struct{}

// NewContext puts the authenticated caller on ctx.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the authenticated caller of a request's context.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
