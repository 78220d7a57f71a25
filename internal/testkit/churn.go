// Package testkit holds helpers shared by tests in more than one package that need no running
// stack of their own (internal/apitest builds one).
package testkit

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/agentmcp/agentmcp/client"
)

// AttachChurn has one goroutine per slug attach and detach it on agent uid, rounds times, worker
// w's round i through cs[(w+i)%len(cs)], attaching where attach(w, i). Then it reads the agent
// through the last client and fails the test unless it holds exactly the slugs whose last
// acknowledged operation was an attach: what a serial replay leaves (anything else is a lost update).
func AttachChurn(t testing.TB, cs []*client.Client, uid string, slugs []string, rounds int, attach func(w, i int) bool) {
	t.Helper()
	ctx := context.Background()
	last := make([]bool, len(slugs))
	var wg sync.WaitGroup
	for w, slug := range slugs {
		wg.Go(func() {
			for i := range rounds {
				on := attach(w, i)
				c := cs[(w+i)%len(cs)]
				var err error
				if on {
					_, err = c.AddMCPServers(ctx, uid, slug)
				} else {
					_, err = c.RemoveMCPServers(ctx, uid, slug)
				}
				if err != nil {
					t.Error(err)
					return
				}
				last[w] = on
			}
		})
	}
	wg.Wait()
	var want []string
	for w, on := range last {
		if on {
			want = append(want, slugs[w])
		}
	}
	slices.Sort(want)
	a, err := cs[len(cs)-1].GetAgent(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(a.McpServers))
	if !slices.Equal(got, want) {
		t.Fatalf("lost update on agent %s:\nhave %v\nwant %v", uid, got, want)
	}
}
