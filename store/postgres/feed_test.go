package postgres_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
)

// TestFeedBetweenReplicas: what one store's Notifier publishes reaches another store's
// Listen (and not its own), and a killed connection on either side ends in a reset.
func TestFeedBetweenReplicas(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a, b := open(t, url, postgres.Options{}), open(t, url, postgres.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listen := func(st *postgres.Store) (*store.Feed, *store.Subscription) {
		f := store.NewFeed()
		f.SetHealthy(false)
		sub := f.Subscribe(100)
		go st.Listen(ctx, f, nil)
		waitFor(t, "the listener", f.Healthy)
		<-sub.C // the reset of becoming healthy
		return f, sub
	}
	fa, subA := listen(a)
	fb, subB := listen(b)
	n := a.Notifier(nil)
	go n.Run(ctx)

	next := func(sub *store.Subscription) store.Change {
		t.Helper()
		select {
		case c := <-sub.C:
			return c
		case <-time.After(changeWithin):
			t.Fatalf("no change within %s", changeWithin)
			return store.Change{}
		}
	}
	// A burst with one change more times than the queue holds (10,000): while it waits it is
	// queued once, so B hears no reset, only the burst's changes (the repeated one again only
	// if a batch went out during the burst). A last, other change fences the burst: the
	// notifier sends in order, so once B hears it, B has heard all the burst.
	want := store.Change{Kind: store.ChangeServer, AppID: "app", Key: "one"}
	other := store.Change{Kind: store.ChangeAgent, AppID: "app", Key: "one"}
	fence := store.Change{Kind: store.ChangeRecord, AppID: "app", Key: "fence"}
	for range 20000 {
		n.Publish(want)
	}
	n.Publish(other)
	n.Publish(want)
	n.Publish(fence)
	for heard := false; ; {
		var got store.Change
		select {
		case got = <-subB.C:
		case c := <-subA.C:
			t.Fatalf("A heard its own change: %+v", c)
		case <-time.After(changeWithin):
			t.Fatalf("B did not hear the burst's last changes within %s (the other one: %v)", changeWithin, heard)
		}
		if got == fence {
			if !heard {
				t.Fatalf("B heard the fence before %+v", other)
			}
			break
		}
		if got != want && got != other {
			t.Fatalf("B got %+v, want only %+v and %+v", got, want, other)
		}
		heard = heard || got == other
	}

	// kill ends this process's connections of that name to this test's database, not other
	// packages' on the shared cluster (killing those made their requests 503).
	kill := func(name string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var k int
		if err := conn.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
			name+"/"+strconv.Itoa(os.Getpid())).Scan(&k); err != nil || k == 0 {
			t.Fatalf("killing %s: %d, %v", name, k, err)
		}
	}
	// The connections the notifier sends on die: the change it could not send becomes a reset.
	kill(postgres.PoolApplicationName)
	n.Publish(store.Change{Kind: store.ChangeRecord, AppID: "app", Key: "two"})
	if got := next(subB); got.Kind != store.ChangeReset && got.Key != "two" {
		t.Fatalf("after the notifier's connection died, B got %+v", got)
	}

	// The listeners' connections die: unhealthy, then healthy again with a reset.
	kill(postgres.FeedApplicationName)
	for _, sub := range []*store.Subscription{subA, subB} {
		if got := next(sub); got.Kind != store.ChangeReset {
			t.Fatalf("after the feed's connection died: %+v", got)
		}
	}
	waitFor(t, "the feeds healthy again", func() bool { return fa.Healthy() && fb.Healthy() })
	n.Publish(want)
	if got := next(subB); got != want {
		t.Fatalf("after reconnecting B got %+v", got)
	}
}

// changeWithin bounds how long a change or a reconnection takes on a loaded machine; the
// feed itself sends within milliseconds.
const changeWithin = 30 * time.Second

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(changeWithin); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in time", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
