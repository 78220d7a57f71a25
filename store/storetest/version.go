package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

// testIfMatch: a conditional update or delete checks the version inside the write and
// writes nothing when it does not match.
func testIfMatch(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	m := mustCreate(t, st, "a", "v")
	a := mustAgent(t, st, "a", "bot")
	name := "new"

	stale := store.IfMatch("0.0")
	if _, _, err := st.UpdateMCPServer(ctx, "a", "v", store.MCPServerPatch{Name: &name}, stale); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale update: %v", err)
	}
	if err := st.DeleteMCPServer(ctx, "a", "v", stale); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := st.DeleteMCPServer(ctx, "a", "v", store.IfMatch()); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("a condition naming no version must fail: %v", err)
	}
	if got, _ := st.GetMCPServer(ctx, "a", "v"); got.Name != m.Name {
		t.Fatal("a refused conditional write changed the server")
	}
	before, up, err := st.UpdateMCPServer(ctx, "a", "v", store.MCPServerPatch{Name: &name}, store.IfMatch("x", store.ServerVersion(m)))
	if err != nil || up.Name != "new" || before != m || store.ServerVersion(up) == store.ServerVersion(m) {
		t.Fatalf("current update: %+v %v", up, err)
	}
	if _, _, err := st.UpdateMCPServer(ctx, "a", "v", store.MCPServerPatch{Name: &name}, store.IfMatch(store.AnyVersion)); err != nil {
		t.Fatalf("update if any version: %v", err)
	}
	if err := st.DeleteMCPServer(ctx, "a", "v", store.IfMatch(store.ServerVersion(up))); err != nil {
		t.Fatalf("current delete: %v", err)
	}
	if err := st.DeleteMCPServer(ctx, "a", "gone", store.IfMatch("x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("conditional delete of a missing server: %v", err)
	}
	if err := st.DeleteMCPServer(ctx, "a", "gone", store.IfMatch(store.AnyVersion)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete if any version of a missing server: %v", err)
	}

	staleA := store.IfMatch("1")
	if _, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{Name: &name}, staleA); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale agent update: %v", err)
	}
	// A write that fails without its condition fails that way on every backend: the
	// condition is not what it is refused for (RFC 9110 §13.2.1).
	var unknown *store.UnknownMCPServersError
	if _, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{MCPServers: &[]string{"ghost"}}, staleA); !errors.As(err, &unknown) {
		t.Fatalf("stale agent update attaching an unknown server: %v, want *UnknownMCPServersError", err)
	}
	if err := st.DeleteAgent(ctx, "a", "bot", staleA); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale agent delete: %v", err)
	}
	if got, _ := st.GetAgent(ctx, "a", "bot"); got.Name != a.Name {
		t.Fatal("a refused conditional write changed the agent")
	}
	if err := st.DeleteAgent(ctx, "a", "bot", store.IfMatch(store.AgentVersion(a))); err != nil {
		t.Fatalf("current agent delete: %v", err)
	}
}

// raceRounds × raceWriters conditional writes that all name the same version: in each round
// exactly one may win. Without the row lock that makes the check and the write one step, a
// PostgreSQL store lets several win in most rounds.
const raceRounds, raceWriters = 20, 4

// race runs write(i) for every writer at once and checks that exactly one succeeded and the
// others failed their precondition (or, when deletes race, found the record gone); it
// returns the winner.
func race(t *testing.T, round int, deletes bool, write func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, raceWriters)
	for i := range raceWriters {
		wg.Go(func() {
			<-start
			errs[i] = write(i)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("round %d: writers %d and %d both won with the same version", round, winner, i)
		case err == nil:
			winner = i
		case errors.Is(err, store.ErrPreconditionFailed), deletes && errors.Is(err, store.ErrNotFound):
		default:
			t.Fatalf("round %d: writer %d: %v", round, i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("round %d: no writer won", round)
	}
	return winner
}

func testIfMatchRace(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	for round := range raceRounds {
		slug := fmt.Sprintf("race-%d", round)
		m := mustCreate(t, st, "a", slug)
		pre := store.IfMatch(store.ServerVersion(m))
		// The last round races deletes against updates.
		deletes := round == raceRounds-1
		w := race(t, round, deletes, func(i int) error {
			if deletes && i%2 == 1 {
				return st.DeleteMCPServer(ctx, "a", slug, pre)
			}
			_, _, err := st.UpdateMCPServer(ctx, "a", slug, store.MCPServerPatch{Name: ptr(fmt.Sprintf("writer-%d", i))}, pre)
			return err
		})
		got, err := st.GetMCPServer(ctx, "a", slug)
		switch {
		case deletes && w%2 == 1:
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("round %d: the delete won but the server is %+v, %v", round, got, err)
			}
		case err != nil || got.Name != fmt.Sprintf("writer-%d", w):
			t.Fatalf("round %d: stored %+v (%v), winner writer-%d", round, got, err, w)
		}

		a := mustAgent(t, st, "a", slug)
		preA := store.IfMatch(store.AgentVersion(a))
		w = race(t, round, false, func(i int) error {
			_, err := st.UpdateAgent(ctx, "a", slug, store.AgentPatch{Name: ptr(fmt.Sprintf("writer-%d", i))}, preA)
			return err
		})
		if got, err := st.GetAgent(ctx, "a", slug); err != nil || got.Name != fmt.Sprintf("writer-%d", w) {
			t.Fatalf("round %d: stored agent %+v (%v), winner writer-%d", round, got, err, w)
		}
	}
}
