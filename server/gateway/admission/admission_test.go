package admission_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway/admission"
	"github.com/agentmcp/agentmcp/store"
)

// TestBytesInFlight: concurrent calls of two apps draw on their app's and the total
// budget; a take past either is refused; done gives back all a call took, once.
func TestBytesInFlight(t *testing.T) {
	c := admission.New(admission.Options{BytesPerApp: 1000, BytesTotal: 1500, FDLimit: 1 << 20})
	ka, kb := store.APIKey{ID: "ka", AppID: "a"}, store.APIKey{ID: "kb", AppID: "b"}
	var wg sync.WaitGroup
	var refused sync.Map
	dones := make(chan func(), 20)
	for i := range 20 {
		wg.Go(func() {
			k := ka
			if i%2 == 1 {
				k = kb
			}
			ctx, done, err := c.Call(context.Background(), k, "u")
			if err != nil {
				t.Error(err)
				return
			}
			dones <- done
			b := probe.BudgetFrom(ctx)
			for range 10 {
				if err := b.Take(10); err != nil {
					var r *admission.Refused
					if !errors.As(err, &r) {
						t.Errorf("not a Refused: %v", err)
					}
					refused.Store(k.AppID, true)
				}
			}
		})
	}
	wg.Wait()
	close(dones)
	a, total := c.InFlight("a")
	bb, _ := c.InFlight("b")
	if a > 1000 || bb > 1000 || total > 1500 || total != a+bb {
		t.Fatalf("in flight: a %d, b %d, total %d", a, bb, total)
	}
	if _, ok := refused.Load("a"); !ok {
		t.Fatal("2,000 bytes of app a's calls were all taken within a budget of 1,000")
	}
	for done := range dones {
		done()
		done()
	}
	if a, total := c.InFlight("a"); a != 0 || total != 0 {
		t.Fatalf("after every call completed: a %d, total %d", a, total)
	}
}

// TestSlotsComeBack: a refused call or stream is admitted again once another
// has ended.
func TestSlotsComeBack(t *testing.T) {
	c := admission.New(admission.Options{CallsPerAgent: 1, StreamsPerKey: 1, FDLimit: 1 << 20, OpenFDs: func() int { return 0 }})
	k := store.APIKey{ID: "k", AppID: "a"}
	_, done, err := c.Call(context.Background(), k, "u")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Call(context.Background(), k, "u"); err == nil {
		t.Fatal("a second call at once was admitted")
	}
	done()
	if _, done, err := c.Call(context.Background(), k, "u"); err != nil {
		t.Fatal(err)
	} else {
		done()
	}
	ctx, end, err := c.Stream(context.Background(), k, "u", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Stream(context.Background(), k, "u", nil); err == nil {
		t.Fatal("a second stream of one key was admitted")
	}
	end()
	if ctx.Err() == nil {
		t.Fatal("the stream's context outlived it")
	}
	if _, end, err := c.Stream(context.Background(), k, "u", nil); err != nil {
		t.Fatal(err)
	} else {
		end()
	}
}

// TestCallWaitsForASlot: a request past the calls bound waits for a running one to end
// (it is woken by that end) and is refused only when none ends within CallWait.
func TestCallWaitsForASlot(t *testing.T) {
	k := store.APIKey{ID: "k", AppID: "a"}
	c := admission.New(admission.Options{CallsPerAgent: 1, CallWait: time.Hour})
	_, done, err := c.Call(context.Background(), k, "u")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, done2, err := c.Call(context.Background(), k, "u")
		if err == nil {
			done2()
		}
		got <- err
	}()
	done()
	if err := <-got; err != nil {
		t.Fatalf("a call waiting for a slot that came back: %v", err)
	}
	c = admission.New(admission.Options{CallsPerAgent: 1, CallWait: time.Millisecond})
	if _, _, err := c.Call(context.Background(), k, "u"); err != nil {
		t.Fatal(err)
	}
	var refused *admission.Refused
	if _, _, err := c.Call(context.Background(), k, "u"); !errors.As(err, &refused) {
		t.Fatalf("a call past the bound when none ended: %v, want *Refused", err)
	}
}

// TestCallWaitersBounded: no more requests wait under a calls bound than it admits; the
// next one is refused at once, and a slot that comes back goes to the waiter.
func TestCallWaitersBounded(t *testing.T) {
	k := store.APIKey{ID: "k", AppID: "a"}
	c := admission.New(admission.Options{CallsPerAgent: 1, CallWait: time.Hour})
	_, done, err := c.Call(context.Background(), k, "u")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { // the waiter; refused at once only while the test's probe holds the place
		var refused *admission.Refused
		for {
			_, done2, err := c.Call(context.Background(), k, "u")
			if errors.As(err, &refused) {
				continue
			}
			if err == nil {
				done2()
			}
			got <- err
			return
		}
	}()
	// A probe that is refused before its own short context ends met a full waiting place:
	// the waiter is in it. A probe that waited out its context was the waiter itself.
	for deadline := time.Now().Add(time.Minute); ; {
		if time.Now().After(deadline) {
			t.Fatal("no call past the bound was refused at once while one waited: waiters are unbounded")
		}
		ctx, stop := context.WithTimeout(context.Background(), 10*time.Millisecond)
		_, _, err := c.Call(ctx, k, "u")
		expired := ctx.Err() != nil
		stop()
		var refused *admission.Refused
		if !errors.As(err, &refused) {
			t.Fatalf("a call past the bound while it was held: %v, want *Refused", err)
		}
		if !expired {
			break
		}
	}
	done()
	if err := <-got; err != nil {
		t.Fatalf("the waiter, once the slot came back: %v", err)
	}
}
