package oauth

import (
	"sync"

	"github.com/agentmcp/agentmcp/server/auth"
	"github.com/agentmcp/agentmcp/store"
)

// Outage says whether the store is unreachable and last-known state may answer
// (*cache.Outage): Verify tells it what the store answered and, while it is Serving,
// answers for access tokens it verified before.
type Outage interface {
	Observe(err error)
	Serving() bool
	Served() // counts an answer from memory
}

// KeyID is the API key id an access token of grant grantID stands for at the gateway; a
// revocation of the grant is published under it (store.ChangeKey), so that streams opened
// with its tokens end and every replica remembers it.
func KeyID(grantID string) string { return "oauth_" + grantID[:min(12, len(grantID))] }

// known remembers the access tokens Verify found valid, to answer for them through an
// outage of the store (as auth.APIKeys does for keys), and the grants known revoked
// (apart, never dropped with the tokens), so that a token revoked before an outage stays
// refused through it. A token never verified here gets the store's unavailable error.
type known struct {
	mu      sync.Mutex
	tokens  map[[32]byte]knownToken
	revoked auth.Revocations // KeyIDs of grants known revoked
}

type knownToken struct {
	key     store.APIKey
	expires int64 // the token's own expiry, unix ms: an outage does not extend it
}

const knownMax = 10000

func newKnown() *known {
	return &known{tokens: map[[32]byte]knownToken{}}
}

func (k *known) put(h [32]byte, key store.APIKey, expires int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.tokens) >= knownMax {
		clear(k.tokens) // a full memory starts again: only an outage needs it
	}
	k.tokens[h] = knownToken{key, expires}
}

// gone records that the store no longer has token h: its grant was revoked. The token is
// kept, so that through an outage it is refused (401), not unknown (503).
func (k *known) gone(h [32]byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.tokens[h]; ok {
		k.revoked.Add(t.key.ID)
	}
}

// answer is what was last known of token h at now: its key, revoked (known revoked or
// expired), or nothing known.
func (k *known) answer(h [32]byte, now int64) (key store.APIKey, revoked, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.tokens[h]
	if !ok {
		return store.APIKey{}, false, false
	}
	if k.revoked.Has(t.key.ID) || t.expires <= now {
		return store.APIKey{}, true, true
	}
	return t.key, false, true
}

// Changed applies a change of the feed (observe it: store.Feed.Observe): a revoked grant
// (ChangeKey under its KeyID) is remembered revoked; a changed (maybe deleted) agent's
// tokens are forgotten, and so, on a reset (changes may have been missed), are all the
// tokens not known revoked: each is verified again.
func (s *Server) Changed(ch store.Change) {
	k := s.known
	k.mu.Lock()
	defer k.mu.Unlock()
	switch ch.Kind {
	case store.ChangeKey:
		k.revoked.Add(ch.Key)
	case store.ChangeAgent:
		for h, t := range k.tokens { // deleted, its grants died with it: verified again
			if t.key.AppID == ch.AppID && t.key.AgentUID == ch.Key {
				delete(k.tokens, h)
			}
		}
	case store.ChangeReset:
		for h, t := range k.tokens {
			if !k.revoked.Has(t.key.ID) {
				delete(k.tokens, h)
			}
		}
	}
}
