package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/agentmcp/agentmcp/store"
)

// Concurrent attaches and detaches of one agent through one store are applied together.
// The first becomes the leader and runs, in one transaction, its change and every change
// queued for the agent while it ran (up to maxCombined, in arrival order); each change
// gets the agent as it left it and its own audit event, under its own actor. The agent's
// row is locked and written once and the transaction commits once: on PostgreSQL, changes
// of one agent serialise on its row lock through each commit's WAL flush, which bounded
// them to a few hundred a second per agent. A change whose slugs are unknown fails alone;
// a failure of the transaction is every change's.
const maxCombined = 64

type agentChange struct {
	Ticket
	ctx    context.Context
	detach bool
	slugs  []string
	out    store.Agent
	err    error
	done   chan struct{}
}

// agentWrites holds the changes waiting for each agent; an agent is in m while a leader
// runs for it.
type agentWrites struct {
	mu sync.Mutex
	m  map[agentKey][]*agentChange
}

func (s *Store) changeAgent(ctx context.Context, appID, uid string, detach bool, slugs []string) (store.Agent, error) {
	c := &agentChange{ctx: ctx, detach: detach, slugs: slugs, done: make(chan struct{})}
	k := agentKey{appID, uid}
	w := &s.writes
	w.mu.Lock()
	if w.m == nil {
		w.m = make(map[agentKey][]*agentChange)
	}
	if queue, leading := w.m[k]; leading {
		w.m[k] = append(queue, c)
		w.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			if c.Leave() {
				return store.Agent{}, leftQueue(ctx.Err())
			}
			<-c.done
		}
		return c.out, c.err
	}
	w.m[k] = nil
	w.mu.Unlock()
	c.Take()
	s.lead(k, []*agentChange{c})
	return c.out, c.err
}

// leftQueue is the error of a change whose caller left before it ran: out of time is the
// store being too slow (ErrUnavailable, a 503, as the backends classify deadlines); a
// cancelled caller has gone.
func leftQueue(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// lead applies batch, then hands what queued meanwhile to a new leader: a request's own
// latency is its batch's, not every later one's.
func (s *Store) lead(k agentKey, batch []*agentChange) {
	s.applyChanges(k, batch)
	for _, c := range batch {
		close(c.done)
	}
	w := &s.writes
	w.mu.Lock()
	var next []*agentChange
	queue := w.m[k]
	for len(queue) > 0 && len(next) < maxCombined {
		if c := queue[0]; c.Take() {
			next = append(next, c)
		}
		queue = queue[1:]
	}
	if len(next) == 0 {
		delete(w.m, k)
	} else {
		w.m[k] = queue
	}
	w.mu.Unlock()
	if len(next) > 0 {
		go s.lead(k, next)
	}
}

// batchContext is the transaction's: the first change's deadline without its cancellation
// (one caller leaving must not fail the others' writes).
func batchContext(first context.Context) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(first)
	if d, ok := first.Deadline(); ok {
		return context.WithDeadline(ctx, d)
	}
	return context.WithCancel(ctx)
}

func (s *Store) applyChanges(k agentKey, batch []*agentChange) {
	ctx, cancel := batchContext(batch[0].ctx)
	defer cancel()
	var final store.Agent
	err := s.tx(ctx, func(q Querier) error {
		var want []string
		for _, c := range batch { // from the start: PostgreSQL may run this again
			c.out, c.err = store.Agent{}, nil
			if !c.detach {
				want = append(want, c.slugs...)
			}
		}
		// With row locks the servers' KEY SHARE locks come before the agent's: the check
		// goes first, in the agent read's round trip, and have is filled once that has run.
		have, err := s.serversInLater(ctx, q, k.app, store.Dedup(want))
		if err != nil {
			return err
		}
		cur, err := s.lockAgent(ctx, q, k.app, k.uid)
		if err != nil {
			return err
		}
		changed := false
		for _, c := range batch {
			var list []string
			action := store.AuditAgentDetach
			if c.detach {
				rest, dropped := without(cur.MCPServers, c.slugs)
				if !dropped {
					c.out = cur
					continue
				}
				if err := s.detachServers(ctx, q, k.app, k.uid, c.slugs); err != nil {
					return err
				}
				list = rest
			} else {
				if err := store.Unknown(c.slugs, have); err != nil {
					c.err = err
					continue
				}
				add := notAttached(cur.MCPServers, c.slugs)
				if len(add) == 0 {
					c.out = cur
					continue
				}
				if err := s.appendServers(ctx, q, k.app, k.uid, add); err != nil {
					return err
				}
				list, action = append(slices.Clip(cur.MCPServers), add...), store.AuditAgentAttach
			}
			next := cur
			next.MCPServers = list
			// cur was read under the agent's lock in this transaction: its next updatedAt is known.
			next.UpdatedAt = max(store.NowMillis(), cur.UpdatedAt+1)
			actx := store.WithActor(ctx, store.ActorFrom(c.ctx))
			if err := audit(actx, q, k.app, action, store.AgentTarget(k.uid), cur, next); err != nil {
				return err
			}
			c.out, cur, changed = next, next, true
		}
		final = cur
		if !changed {
			return nil
		}
		return later(ctx, q, s.q.setAgentServers, JSONText(cur.MCPServers), cur.UpdatedAt, k.app, k.uid)
	})
	if err != nil {
		for _, c := range batch {
			c.out, c.err = store.Agent{}, err
		}
		return
	}
	s.agents.put(final)
}
