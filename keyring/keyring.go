// Package keyring seals the credentials of MCP servers at rest: each secret is encrypted
// with AES-256-GCM under a data key, and data keys are stored only wrapped by a keeper
// (gocloud.dev/secrets: base64key:// locally, a cloud KMS or Vault in production). A data
// key may carry several wraps, one per keeper, so replicas configured with the old and the
// new keeper both open secrets while a rotation runs.
package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"gocloud.dev/secrets"

	"github.com/agentmcp/agentmcp/store"
)

// Store is where data keys and sealed credentials live (both backends implement it).
type Store interface {
	ListDataKeys(ctx context.Context) ([]store.DataKey, error)
	AddDataKey(ctx context.Context, k store.DataKey) error
	AddDataKeyWrap(ctx context.Context, keyID, keeper string, wrapped []byte) error
	DeleteDataKeyWraps(ctx context.Context, keyID string, keep string) error
	DeleteDataKey(ctx context.Context, keyID string) error
	// CountSealed says how many values (credentials, OAuth tokens and states) each data key seals.
	CountSealed(ctx context.Context) (map[string]int, error)
	ListSealed(ctx context.Context, keyID string, limit int) ([]store.SealedRef, error)
	// Reseal replaces a value's sealed form if it is still the one listed.
	Reseal(ctx context.Context, ref store.SealedRef, s store.Sealed) (bool, error)
}

// ErrNoKeeper: secrets cannot be sealed because no keeper is configured.
var ErrNoKeeper = errors.New("no secrets keeper is configured (start agentmcp with --secrets-keeper)")

// Ring seals and opens secrets. It is safe for concurrent use.
type Ring struct {
	st       Store
	keeper   *secrets.Keeper // nil: none configured (only opening nothing works)
	keeperID string          // fingerprint of the keeper URL, stored beside its wraps
	hint     string          // what may be shown of the keeper URL

	mu       sync.RWMutex
	keys     map[string]cipher.AEAD
	current  string // data key new seals use
	reloaded time.Time
}

// Fingerprint identifies a keeper URL in the store without revealing it: base64key URLs
// hold the key itself, so only a hash of the URL is kept.
func Fingerprint(keeperURL string) string {
	h := sha256.Sum256([]byte("agentmcp keeper\x00" + keeperURL))
	return "kp_" + hex.EncodeToString(h[:8])
}

// Hint is what may be printed of a keeper URL: the scheme, and the host and path unless
// the URL holds key material.
func Hint(keeperURL string) string {
	u, err := url.Parse(keeperURL)
	if err != nil || u.Scheme == "" {
		return "(unparsable keeper URL)"
	}
	if u.Scheme == "base64key" {
		return "base64key://…"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// OpenKeeper opens a keeper URL with the drivers linked into this binary.
func OpenKeeper(ctx context.Context, keeperURL string) (*secrets.Keeper, error) {
	u, err := url.Parse(keeperURL)
	if err != nil || u.Scheme == "" {
		return nil, errors.New("the secrets keeper is not a URL (e.g. base64key://…, awskms://…)")
	}
	if u.Scheme == "base64key" && u.Host == "" {
		// gocloud would make up a random key that dies with the process.
		return nil, errors.New("base64key:// needs a key (32 bytes, base64url) as its host")
	}
	k, err := secrets.OpenKeeper(ctx, keeperURL)
	if err != nil {
		// The error of a base64key URL may not quote the key, but err's own text never
		// contains the URL (gocloud's drivers take care); name the scheme only.
		return nil, fmt.Errorf("open secrets keeper %s: %w", Hint(keeperURL), scrub(err, keeperURL))
	}
	return k, nil
}

// scrub removes the keeper URL from an error's text, in case a driver quoted it.
func scrub(err error, keeperURL string) error {
	if keeperURL != "" && strings.Contains(err.Error(), keeperURL) {
		return errors.New(strings.ReplaceAll(err.Error(), keeperURL, Hint(keeperURL)))
	}
	return err
}

// Open loads the data keys the keeper can unwrap. keeperURL "" is a ring without a keeper:
// it refuses to seal. Open fails when sealed credentials exist that no loaded key opens,
// so a misconfigured start-up is an error at once, not a 500 at the first gateway call.
func Open(ctx context.Context, st Store, keeperURL string) (*Ring, error) {
	r := &Ring{st: st, keys: map[string]cipher.AEAD{}}
	if keeperURL != "" {
		k, err := OpenKeeper(ctx, keeperURL)
		if err != nil {
			return nil, err
		}
		r.keeper, r.keeperID, r.hint = k, Fingerprint(keeperURL), Hint(keeperURL)
	}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	counts, err := st.CountSealed(ctx)
	if err != nil {
		return nil, fmt.Errorf("count sealed credentials: %w", err)
	}
	for id, n := range counts {
		if _, ok := r.keys[id]; !ok && n > 0 {
			if r.keeper == nil {
				return nil, fmt.Errorf("%d MCP server credentials are sealed (data key %s), but no secrets keeper is configured: start agentmcp with --secrets-keeper set to the keeper they were sealed with", n, id)
			}
			return nil, fmt.Errorf("%d MCP server credentials are sealed under data key %s, which the keeper %s cannot open: start agentmcp with --secrets-keeper set to the keeper they were sealed with", n, id, r.hint)
		}
	}
	if r.keeper != nil && r.current == "" {
		if _, err := r.NewDataKey(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Close releases the keeper.
func (r *Ring) Close() error {
	if r.keeper != nil {
		return r.keeper.Close()
	}
	return nil
}

// CanSeal reports whether a keeper is configured.
func (r *Ring) CanSeal() bool { return r.keeper != nil }

// reload reads the data keys and unwraps those our keeper has a wrap of.
func (r *Ring) reload(ctx context.Context) error {
	dks, err := r.st.ListDataKeys(ctx)
	if err != nil {
		return fmt.Errorf("list data keys: %w", err)
	}
	keys := map[string]cipher.AEAD{}
	current, newest := "", int64(-1)
	for _, dk := range dks {
		r.mu.RLock()
		a, ok := r.keys[dk.ID]
		r.mu.RUnlock()
		if !ok {
			w, found := dk.Wraps[r.keeperID]
			if !found || r.keeper == nil {
				continue
			}
			raw, err := r.keeper.Decrypt(ctx, w)
			if err != nil {
				return fmt.Errorf("the keeper %s cannot unwrap data key %s: %w", r.hint, dk.ID, err)
			}
			if a, err = newAEAD(raw); err != nil {
				return fmt.Errorf("data key %s: %w", dk.ID, err)
			}
		}
		keys[dk.ID] = a
		if dk.CreatedAt > newest {
			current, newest = dk.ID, dk.CreatedAt
		}
	}
	r.mu.Lock()
	r.keys, r.current, r.reloaded = keys, current, time.Now()
	r.mu.Unlock()
	return nil
}

func newAEAD(raw []byte) (cipher.AEAD, error) {
	if len(raw) != 32 {
		return nil, fmt.Errorf("data key is %d bytes, want 32", len(raw))
	}
	b, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// NewDataKey makes a random data key, wraps it with the ring's keeper (and with each of
// also, for rotations) and makes it the one new seals use.
func (r *Ring) NewDataKey(ctx context.Context, also ...*Ring) (string, error) {
	if r.keeper == nil {
		return "", ErrNoKeeper
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	var id [8]byte
	rand.Read(id[:])
	dk := store.DataKey{ID: "dk_" + hex.EncodeToString(id[:]), CreatedAt: time.Now().UnixNano(), Wraps: map[string][]byte{}}
	for _, k := range append([]*Ring{r}, also...) {
		w, err := k.keeper.Encrypt(ctx, raw)
		if err != nil {
			return "", fmt.Errorf("wrap data key with %s: %w", k.hint, err)
		}
		dk.Wraps[k.keeperID] = w
	}
	if err := r.st.AddDataKey(ctx, dk); err != nil {
		return "", fmt.Errorf("store data key: %w", err)
	}
	a, err := newAEAD(raw)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.keys[dk.ID], r.current = a, dk.ID
	r.mu.Unlock()
	return dk.ID, nil
}

// aad binds a sealed value to the server it belongs to: a value copied to another row
// does not open.
func aad(appID, slug string) []byte {
	return []byte("agentmcp/credentials/v1\x00" + appID + "\x00" + slug)
}

// Seal encrypts plaintext for the server appID/slug under the current data key.
func (r *Ring) Seal(ctx context.Context, appID, slug string, plaintext []byte) (store.Sealed, error) {
	if r.keeper == nil {
		return store.Sealed{}, ErrNoKeeper
	}
	r.refresh(ctx)
	r.mu.RLock()
	id, a := r.current, r.keys[r.current]
	r.mu.RUnlock()
	if a == nil {
		return store.Sealed{}, errors.New("no data key to seal with")
	}
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	rand.Read(nonce)
	return store.Sealed{KeyID: id, Value: a.Seal(nonce, nonce, plaintext, aad(appID, slug))}, nil
}

// Open decrypts a sealed value of the server appID/slug.
func (r *Ring) Open(ctx context.Context, appID, slug string, s store.Sealed) ([]byte, error) {
	r.mu.RLock()
	a := r.keys[s.KeyID]
	r.mu.RUnlock()
	if a == nil {
		// Sealed by a replica after a rotation this one has not seen yet.
		if err := r.reload(ctx); err != nil {
			return nil, err
		}
		r.mu.RLock()
		a = r.keys[s.KeyID]
		r.mu.RUnlock()
		if a == nil {
			return nil, fmt.Errorf("credentials of %s are sealed under data key %s, which the keeper cannot open", slug, s.KeyID)
		}
	}
	if len(s.Value) < a.NonceSize() {
		return nil, fmt.Errorf("credentials of %s: sealed value too short", slug)
	}
	out, err := a.Open(nil, s.Value[:a.NonceSize()], s.Value[a.NonceSize():], aad(appID, slug))
	if err != nil {
		return nil, fmt.Errorf("credentials of %s do not open (tampered, or sealed for another server)", slug)
	}
	return out, nil
}

// refresh re-reads the data keys once a minute, so a replica moves to a rotated key.
func (r *Ring) refresh(ctx context.Context) {
	r.mu.RLock()
	stale := time.Since(r.reloaded) > time.Minute
	r.mu.RUnlock()
	if stale {
		r.reload(ctx) // on failure the keys loaded before stay in use
	}
}

// OpenTarget opens the keeper a rotation moves to: it only seals (under a data key the
// rotation makes), so credentials it cannot open yet are no error.
func OpenTarget(ctx context.Context, st Store, keeperURL string) (*Ring, error) {
	k, err := OpenKeeper(ctx, keeperURL)
	if err != nil {
		return nil, err
	}
	r := &Ring{st: st, keys: map[string]cipher.AEAD{}, keeper: k, keeperID: Fingerprint(keeperURL), hint: Hint(keeperURL)}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}
