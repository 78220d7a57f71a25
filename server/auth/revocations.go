package auth

import "sync"

// revocationsMax bounds the ids a Revocations keeps.
const revocationsMax = 100000

// Revocations are the ids of keys known revoked (API keys, and OAuth grants by the key id
// they stand for), kept apart from any cache of keys and never dropped with it, so that a
// key revoked before an outage of the store stays refused through it. Past
// revocationsMax an arbitrary id is forgotten (the store still knows it; only an outage
// could let that key through). The zero value is empty and ready.
type Revocations struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

// Add remembers id as revoked.
func (r *Revocations) Add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[string]struct{}{}
	}
	if len(r.ids) >= revocationsMax {
		for old := range r.ids {
			delete(r.ids, old)
			break
		}
	}
	r.ids[id] = struct{}{}
}

// Has reports whether id is known revoked.
func (r *Revocations) Has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}
