package oauthclient

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

// connected is a Service on a real SQLite store and keyring holding tokens, good for an
// hour, of server "s" of app "app" (its credentials are OAuth, authorization_code).
func connected(tb testing.TB) (*Service, *sqlite.Store, *keyring.Service) {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "agentmcp.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	var k [32]byte
	rand.Read(k[:])
	ring, err := keyring.Open(ctx, st, "base64key://"+base64.URLEncoding.EncodeToString(k[:]))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ring.Close() })
	creds := &keyring.Service{Ring: ring, Store: st}
	if _, err := st.CreateApp(ctx, "app"); err != nil {
		tb.Fatal(err)
	}
	a, err := creds.Seal(ctx, "app", "s", keyring.Credentials{Type: keyring.AuthOAuth, OAuth: &keyring.OAuth{Grant: keyring.GrantAuthorizationCode}})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := st.CreateMCPServer(ctx, "app", store.NewMCPServer{Slug: "s", Name: "S", URL: "https://s.example.com/mcp", Auth: &a}); err != nil {
		tb.Fatal(err)
	}
	s := New(Options{Store: st, Keyring: creds, Prober: probe.New(probe.Options{})})
	h := held{Access: "AT-1", Refresh: "RT-1", Expiry: time.Now().Add(time.Hour).UnixMilli(), Client: client{ID: "c", TokenURL: "https://as.example.com/token"}}
	if err := s.replace(ctx, "app", "s", h, []string{"tools"}); err != nil {
		tb.Fatal(err)
	}
	return s, st, creds
}

// BenchmarkTokenHeader is what each request to a server that takes OAuth costs to learn
// its Authorization header (probes and gateway calls ask once per request).
func BenchmarkTokenHeader(b *testing.B) {
	s, _, _ := connected(b)
	ctx := context.Background()
	a, err := s.Auth(ctx, "app", "s")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h, err := a.Header(ctx)
		if err != nil || h.Get("Authorization") != "Bearer AT-1" {
			b.Fatalf("%v, %v", h, err)
		}
	}
}
