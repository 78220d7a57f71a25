package probe

import "sync"

// Slots bounds the probes that run at once, in all and per app, whoever asked for them:
// the background workers and POST …/probe share one Slots, so that neither a tenant nor
// the schedule can hold more upstream responses in memory than total probes' worth.
type Slots struct {
	total, perApp int

	mu      sync.Mutex
	running int
	apps    map[string]int
	freed   chan struct{} // closed (and replaced) whenever a slot is released
}

// NewSlots allows total probes at once (default 4), at most perApp of them asked for by one
// app (default total/2, at least 1).
func NewSlots(total, perApp int) *Slots {
	if total <= 0 {
		total = 4
	}
	if perApp <= 0 {
		perApp = max(1, total/2)
	}
	return &Slots{total: total, perApp: min(perApp, total), apps: map[string]int{}, freed: make(chan struct{})}
}

// TryAcquire takes a slot for a probe of app's server, unless all are taken or the app
// holds its share; release gives it back. Background probes (Runner) take theirs the same
// way, so an app's share bounds its manual and background probes together.
func (s *Slots) TryAcquire(app string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running >= s.total || s.apps[app] >= s.perApp {
		return nil, false
	}
	return s.take(app), true
}

// changed is closed when a slot is next released.
func (s *Slots) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.freed
}

// Running is how many probes hold a slot.
func (s *Slots) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// take must be called with s.mu held.
func (s *Slots) take(app string) func() {
	s.running++
	s.apps[app]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.running--
			if s.apps[app]--; s.apps[app] <= 0 {
				delete(s.apps, app)
			}
			close(s.freed)
			s.freed = make(chan struct{})
		})
	}
}
