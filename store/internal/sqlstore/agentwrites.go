package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/agentmcp/agentmcp/internal/toolnames"
	"github.com/agentmcp/agentmcp/store"
)

// Concurrent attaches and detaches of one app's agents through one store are applied
// together. The first becomes the leader and runs, in one transaction, its change and every
// change queued for the app while it ran (up to maxCombined, in arrival order); each change
// gets its agent as it left it and its own audit event, under its own actor. Each agent's
// row is locked once (the agents in uid order, so that two replicas' batches never
// deadlock) and written once, and the transaction commits once: on PostgreSQL the
// transaction's round trips, statements and WAL flush are what an agent change costs, and
// changes of one agent serialise on its row lock, so a batch per agent bounded a replica to
// a change or two per transaction (one per request in flight for that agent). A change
// whose slugs or agent are unknown fails alone; a failure of the transaction is every
// change's.
const maxCombined = 64

type agentChange struct {
	Ticket
	ctx    context.Context
	uid    string
	detach bool
	slugs  []string
	out    store.Agent
	err    error
	done   chan struct{}
}

// agentWrites holds the changes waiting for each app; an app is in m while a leader runs
// for it.
type agentWrites struct {
	mu sync.Mutex
	m  map[string][]*agentChange
}

func (s *Store) changeAgent(ctx context.Context, appID, uid string, detach bool, slugs []string) (store.Agent, error) {
	c := &agentChange{ctx: ctx, uid: uid, detach: detach, slugs: slugs, done: make(chan struct{})}
	k := appID
	w := &s.writes
	w.mu.Lock()
	if w.m == nil {
		w.m = make(map[string][]*agentChange)
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
func (s *Store) lead(k string, batch []*agentChange) {
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

func (s *Store) applyChanges(app string, batch []*agentChange) {
	ctx, cancel := batchContext(batch[0].ctx)
	defer cancel()
	uids := batchAgents(batch)
	finals := make([]store.Agent, 0, len(uids))
	err := s.tx(ctx, func(q Querier) error {
		finals = finals[:0]
		var want []string
		for _, c := range batch { // from the start: PostgreSQL may run this again
			c.out, c.err = store.Agent{}, nil
			if !c.detach {
				want = append(want, c.slugs...)
			}
		}
		// With row locks the servers' KEY SHARE locks come before the agents': the check
		// goes first, in the agents' read's round trip, and have is filled once that has run.
		have, err := s.serversInLater(ctx, q, app, store.Dedup(want))
		if err != nil {
			return err
		}
		curs, err := s.lockAgents(ctx, q, app, uids)
		if err != nil {
			return err
		}
		for _, uid := range uids {
			cur, found := curs[uid]
			if !found {
				for _, c := range batch {
					if c.uid == uid {
						c.err = notFound("agent", uid)
					}
				}
				continue
			}
			final, err := s.applyAgentChanges(ctx, q, cur, batch, have)
			if err != nil {
				return err
			}
			finals = append(finals, final)
		}
		return nil
	})
	if err != nil {
		for _, c := range batch {
			c.out, c.err = store.Agent{}, err
		}
		return
	}
	for _, a := range finals {
		s.agents.put(a)
	}
}

// batchAgents is the distinct agents of batch, in uid order: the order their rows are locked in.
func batchAgents(batch []*agentChange) []string {
	uids := make([]string, 0, len(batch))
	for _, c := range batch {
		uids = append(uids, c.uid)
	}
	slices.Sort(uids)
	return slices.Compact(uids)
}

// applyAgentChanges applies the changes of batch to cur's agent in arrival order (cur read
// under its lock in q's transaction) and returns the agent as they left it.
func (s *Store) applyAgentChanges(ctx context.Context, q Querier, cur store.Agent, batch []*agentChange, have map[string]bool) (store.Agent, error) {
	app, uid := cur.AppID, cur.UID
	changed := false
	for _, c := range batch {
		if c.uid != uid {
			continue
		}
		var list []string
		action := store.AuditAgentDetach
		if c.detach {
			rest, dropped := without(cur.MCPServers, c.slugs)
			if !dropped {
				c.out = cur
				continue
			}
			if err := s.detachServers(ctx, q, app, uid, c.slugs); err != nil {
				return store.Agent{}, err
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
			list = append(slices.Clip(cur.MCPServers), add...)
			if cur.Gateway.ToolNames == toolnames.Original {
				err := s.checkToolNames(ctx, q, app, list, add)
				var conflict *store.ToolNameConflictError
				if errors.As(err, &conflict) {
					c.err = err // this change's alone, as an unknown slug is
					continue
				}
				if err != nil {
					return store.Agent{}, err
				}
			}
			if err := s.appendServers(ctx, q, app, uid, add); err != nil {
				return store.Agent{}, err
			}
			action = store.AuditAgentAttach
		}
		next := cur
		next.MCPServers = list
		next.Normalize() // a detached server's gateway policy goes with it
		// cur was read under the agent's lock in this transaction: its next updatedAt is known.
		next.UpdatedAt = max(store.NowMillis(), cur.UpdatedAt+1)
		actx := store.WithActor(ctx, store.ActorFrom(c.ctx))
		if err := audit(actx, q, app, action, store.AgentTarget(uid), cur, next); err != nil {
			return store.Agent{}, err
		}
		c.out, cur, changed = next, next, true
	}
	if !changed {
		return cur, nil
	}
	return cur, later(ctx, q, s.q.setAgentServers, JSONText(cur.MCPServers), cur.UpdatedAt, app, uid)
}
