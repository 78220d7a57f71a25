package probe_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/probe"
)

const watchedURI = "file:///watched"

// subscribed connects through p to a real stateless go-sdk server (protocol 2026-07-28,
// where a resource subscription is a subscriptions/listen stream of its own) with a client
// that listens to nothing else, so that stream is the session's only one.
func subscribed(t *testing.T, p *probe.Prober) (*mcp.Server, *mcp.ClientSession, chan struct{}, *atomic.Int64) {
	t.Helper()
	var unsubscribes atomic.Int64
	s := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, &mcp.ServerOptions{
		SubscribeHandler:   func(context.Context, *mcp.SubscribeRequest) error { return nil },
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { unsubscribes.Add(1); return nil },
	})
	s.AddResource(&mcp.Resource{URI: watchedURI, Name: "watched"}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "x"}}}, nil
	})
	heard := make(chan struct{}, 1)
	cs := connectTo(t, p, s, true, &mcp.ClientOptions{ResourceUpdatedHandler: func(context.Context, *mcp.ResourceUpdatedNotificationRequest) { signal(heard) }})
	if err := cs.Subscribe(context.Background(), &mcp.SubscribeParams{URI: watchedURI}); err != nil {
		t.Fatal(err)
	}
	return s, cs, heard, &unsubscribes
}

// hearsUpdate updates the resource until the client hears it (the listen stream is
// opened after Subscribe returns), within a loaded machine's deadline.
func hearsUpdate(t *testing.T, s *mcp.Server, heard chan struct{}, what string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		_ = s.ResourceUpdated(context.Background(), &mcp.ResourceUpdatedNotificationParams{URI: watchedURI})
		select {
		case <-heard:
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: no notifications/resources/updated within 60 s", what)
		}
	}
}

// TestConnectResourceSubscription: under protocol 2026-07-28 a resource's own
// subscriptions/listen stream is standing: ended by the server (here its lifetime) it
// ends the session, whose owner reopens it and subscribes again, since the SDK never
// reopens it; ended by the client (Unsubscribe) it does not.
func TestConnectResourceSubscription(t *testing.T) {
	t.Run("unsubscribed", func(t *testing.T) {
		s, cs, heard, unsubscribes := subscribed(t, probe.New(probe.Options{AllowPrivate: true, Timeout: 30 * time.Second}))
		hearsUpdate(t, s, heard, "subscribed")
		if err := cs.Unsubscribe(context.Background(), &mcp.UnsubscribeParams{URI: watchedURI}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(60 * time.Second); unsubscribes.Load() == 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the server saw no unsubscribe within 60 s")
			}
		}
		if err := cs.Subscribe(context.Background(), &mcp.SubscribeParams{URI: watchedURI}); err != nil {
			t.Fatalf("subscribing again on the session after an unsubscribe: %v", err)
		}
		hearsUpdate(t, s, heard, "subscribed again on the same session")
		if _, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: watchedURI}); err != nil {
			t.Fatalf("the session after an unsubscribe: %v", err)
		}
	})
	t.Run("ended by the server", func(t *testing.T) {
		_, cs, _, _ := subscribed(t, probe.New(probe.Options{AllowPrivate: true, Timeout: 30 * time.Second, StreamLifetime: 300 * time.Millisecond}))
		ended := make(chan struct{})
		go func() { cs.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(60 * time.Second):
			t.Fatal("the session outlived its resource's subscriptions/listen stream by 60 s")
		}
	})
}
