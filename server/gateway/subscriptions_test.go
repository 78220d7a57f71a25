package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway"
)

// watchedServer is a real go-sdk server with one resource that takes subscriptions,
// stateful (resources/subscribe) or stateless (protocol 2026-07-28: a
// subscriptions/listen stream per resource). restart replaces it by a new server
// that knows no session and ends every open stream, as a restarted process would.
type watchedServer struct {
	t            *testing.T
	stateless    bool
	hs           *httptest.Server
	cur          atomic.Pointer[mcp.Server]
	h            atomic.Pointer[mcp.StreamableHTTPHandler]
	subscribes   atomic.Int64
	unsubscribes atomic.Int64
}

const watchedURI = "file:///watched"

func newWatchedServer(t *testing.T, stateless bool) (*watchedServer, string) {
	w := &watchedServer{t: t, stateless: stateless}
	w.start()
	w.hs = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { w.h.Load().ServeHTTP(rw, r) }))
	t.Cleanup(func() {
		w.hs.CloseClientConnections()
		w.hs.Close()
	})
	return w, w.hs.URL + "/mcp"
}

func (w *watchedServer) start() {
	s := mcp.NewServer(&mcp.Implementation{Name: "watched", Version: "1"}, &mcp.ServerOptions{
		SubscribeHandler:   func(context.Context, *mcp.SubscribeRequest) error { w.subscribes.Add(1); return nil },
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { w.unsubscribes.Add(1); return nil },
	})
	s.AddResource(&mcp.Resource{URI: watchedURI, Name: "watched"}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "x"}}}, nil
	})
	w.cur.Store(s)
	w.h.Store(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: w.stateless}))
}

func (w *watchedServer) restart() {
	w.start()
	w.hs.CloseClientConnections()
}

func (w *watchedServer) update() {
	_ = w.cur.Load().ResourceUpdated(context.Background(), &mcp.ResourceUpdatedNotificationParams{URI: watchedURI})
}

// subscriber connects a client session to the agent's gateway that reports each
// notifications/resources/updated it hears.
func subscriber(t *testing.T, url, key string) (*mcp.ClientSession, chan string) {
	t.Helper()
	heard := make(chan string, 16)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			select {
			case heard <- req.Params.URI:
			default:
			}
		},
	}).Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: bearer{key}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, heard
}

// hears updates the resource until the client hears of it, within a deadline that is
// the promise (a session rebuilt after the upstream is back, on a loaded machine).
func hears(t *testing.T, w *watchedServer, heard chan string, what string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		w.update()
		select {
		case uri := <-heard:
			if uri != watchedURI {
				t.Fatalf("%s: heard of %q, want %q", what, uri, watchedURI)
			}
			return
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: no notifications/resources/updated within 60 s", what)
		}
	}
}

// TestSubscriptionsSurviveALostUpstreamSession: a client subscribed through the gateway
// keeps hearing a resource's updates after the upstream session that held the
// subscription is lost: the upstream restarted (every session and stream gone), or its
// streams ended past the probe's StreamLifetime (under protocol 2026-07-28 the
// resource's own subscriptions/listen stream, which the SDK never reopens).
func TestSubscriptionsSurviveALostUpstreamSession(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stateless bool
		lifetime  time.Duration
	}{{"stateful/restart", false, 0}, {"stateless/restart", true, 0}, {"stateful/lifetime", false, 2 * time.Second}, {"stateless/lifetime", true, 2 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			up, url := newWatchedServer(t, tc.stateless)
			env, c := gatewayEnv(t, func(o *gateway.Options) {
				if tc.lifetime > 0 {
					o.Connector = probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second, StreamLifetime: tc.lifetime})
				}
			})
			addServer(t, c, "up", url)
			uid := addAgent(t, c, "watcher", "up")
			cs, heard := subscriber(t, agentURL(env, uid), env.KeyA)
			if err := cs.Subscribe(context.Background(), &mcp.SubscribeParams{URI: watchedURI}); err != nil {
				t.Fatal(err)
			}
			hears(t, up, heard, "before")
			before := up.subscribes.Load()
			if tc.lifetime == 0 {
				up.restart()
			}
			eventually(t, "the gateway subscribed again upstream", func() bool { return up.subscribes.Load() > before })
			if tc.lifetime > 0 { // and again, on a session opened after the first one lost
				n := up.subscribes.Load()
				eventually(t, "the gateway subscribed a third time", func() bool { return up.subscribes.Load() > n })
			}
			hears(t, up, heard, "after the upstream session was lost")
		})
	}
}

// TestUnsubscribeUpstreamOnce: two client sessions subscribe to one resource; the gateway
// subscribes upstream once, keeps it while either is subscribed, and unsubscribes
// upstream once when both have unsubscribed, or when the last subscribed session ends.
func TestUnsubscribeUpstreamOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stateless bool
	}{{"stateful", false}, {"stateless", true}} {
		t.Run(tc.name, func(t *testing.T) {
			up, url := newWatchedServer(t, tc.stateless)
			env, c := gatewayEnv(t, nil)
			addServer(t, c, "up", url)
			uid := addAgent(t, c, "watcher", "up")
			ctx := context.Background()
			a, heardA := subscriber(t, agentURL(env, uid), env.KeyA)
			b, heardB := subscriber(t, agentURL(env, uid), env.KeyA)
			for _, cs := range []*mcp.ClientSession{a, b} {
				if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: watchedURI}); err != nil {
					t.Fatal(err)
				}
			}
			hears(t, up, heardA, "a")
			hears(t, up, heardB, "b")
			if n := up.subscribes.Load(); n != 1 {
				t.Fatalf("upstream subscriptions: %d, want 1", n)
			}
			if err := a.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: watchedURI}); err != nil {
				t.Fatal(err)
			}
			hears(t, up, heardB, "b, after a unsubscribed")
			if n := up.unsubscribes.Load(); n != 0 {
				t.Fatalf("upstream unsubscribed while b is subscribed (%d)", n)
			}
			if err := b.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: watchedURI}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the upstream subscription ended", func() bool { return up.unsubscribes.Load() >= 1 })
			// A later round trip on the same upstream session: still one.
			if _, err := b.ReadResource(ctx, &mcp.ReadResourceParams{URI: watchedURI}); err != nil {
				t.Fatal(err)
			}
			if n, s := up.unsubscribes.Load(), up.subscribes.Load(); n != 1 || s != 1 {
				t.Fatalf("upstream: %d subscribes, %d unsubscribes; want 1 and 1", s, n)
			}
			// A session that ends unsubscribes everywhere too.
			if err := a.Subscribe(ctx, &mcp.SubscribeParams{URI: watchedURI}); err != nil {
				t.Fatal(err)
			}
			hears(t, up, heardA, "a, subscribed again")
			a.Close()
			eventually(t, "the upstream subscription ended with the last subscribed session", func() bool { return up.unsubscribes.Load() >= 2 })
			if _, err := b.ReadResource(ctx, &mcp.ReadResourceParams{URI: watchedURI}); err != nil {
				t.Fatal(err)
			}
			if n, s := up.unsubscribes.Load(), up.subscribes.Load(); n != 2 || s != 2 {
				t.Fatalf("upstream: %d subscribes, %d unsubscribes; want 2 and 2", s, n)
			}
		})
	}
}
