package sqlstore

import "sync/atomic"

// Ticket is the state of work a caller has queued and may still leave: whoever comes
// first, the runner taking it or the caller leaving it, wins; after that it is settled.
// (SQLite's writer queue and an agent's combined changes both use it.)
type Ticket struct{ s atomic.Int32 }

const (
	ticketWaiting int32 = iota
	ticketTaken
	ticketLeft
)

// Take claims the work for running; false if its caller has left.
func (t *Ticket) Take() bool { return t.s.CompareAndSwap(ticketWaiting, ticketTaken) }

// Leave gives the work up for its caller; false if it has been taken (the caller must wait).
func (t *Ticket) Leave() bool { return t.s.CompareAndSwap(ticketWaiting, ticketLeft) }

// Waiting reports that neither has happened yet.
func (t *Ticket) Waiting() bool { return t.s.Load() == ticketWaiting }
