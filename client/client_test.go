package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

func ptr[T any](v T) *T { return &v }

func TestClient(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()

	m, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "One", Slug: "one", Url: "https://one.example.com", Description: ptr("first")})
	if err != nil || m.Slug != "one" || m.Description != "first" {
		t.Fatal(m, err)
	}
	_, err = c.CreateServer(ctx, client.CreateMCPServer{Name: "One", Slug: "one", Url: "https://one.example.com"})
	var ce *client.Error
	if !errors.Is(err, client.ErrConflict) || !errors.As(err, &ce) || ce.Code != httpx.CodeSlugAlreadyExists || ce.Status != 409 {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := c.GetServer(ctx, "missing"); !errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrConflict) {
		t.Fatalf("missing: %v", err)
	}
	_, err = c.CreateServer(ctx, client.CreateMCPServer{Name: "", Slug: "x", Url: "nope"})
	if !errors.Is(err, client.ErrValidation) || !errors.As(err, &ce) || len(ce.Details) != 2 {
		t.Fatalf("validation: %v %+v", err, ce)
	}
	if _, err := env.Client(t, "").GetServer(ctx, "one"); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("no key: %v", err)
	}
	if _, err := env.Client(t, env.AuthOnlyKey).GetServer(ctx, "one"); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("authOnly: %v", err)
	}
	up, err := c.UpdateServer(ctx, "one", client.UpdateMCPServer{Description: ptr("")})
	if err != nil || up.Description != "" || up.Name != "One" {
		t.Fatal(up, err)
	}
	if err := c.DeleteServer(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteServer(ctx, "one"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := client.New("://bad", "k"); err == nil {
		t.Fatal("a bad base URL must be an error")
	}
}

func TestAll(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	var want []string
	for i := range 23 {
		slug := fmt.Sprintf("s-%02d", i)
		if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: "https://s.example.com"}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{slug}, want...)
	}
	for _, size := range []int{0, 1, 5, 23, 100} {
		var got []string
		for s, err := range c.All(ctx, size) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, s.Slug)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("page size %d: %v", size, got)
		}
	}
	for i := range 12 {
		uid := fmt.Sprintf("a-%02d", i)
		if _, err := c.CreateAgent(ctx, client.CreateAgent{Uid: &uid, Name: uid}); err != nil {
			t.Fatal(err)
		}
	}
	var agents []string
	for a, err := range c.AllAgents(ctx, 5) {
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a.Uid)
	}
	if len(agents) != 12 || agents[0] != "a-11" || agents[11] != "a-00" {
		t.Fatalf("AllAgents: %v", agents)
	}
	if _, err := c.GetAgent(ctx, "nobody"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("missing agent: %v", err)
	}

	// Breaking out early stops the walk.
	n := 0
	for range c.All(ctx, 5) {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatal(n)
	}
	// An error is yielded, not swallowed.
	for _, err := range env.Client(t, "").All(ctx, 5) {
		if !errors.Is(err, client.ErrUnauthorized) {
			t.Fatalf("All without a key: %v", err)
		}
	}
}

// TestAllServersKeepsTheFilter: every page of AllServers has the health filter of the
// first, and starts from its cursor.
func TestAllServersKeepsTheFilter(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	var ok []string
	for i := range 12 {
		slug := fmt.Sprintf("s-%02d", i)
		if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: "https://s.example.com"}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // every third is healthy, the others never probed
			if err := env.Store.SaveProbe(ctx, env.AppA, slug, store.ProbeRecord{Status: "ok", CheckedAt: 1}); err != nil {
				t.Fatal(err)
			}
			ok = append([]string{slug}, ok...)
		}
	}
	walk := func(o client.ListOptions) []string {
		var got []string
		for s, err := range c.AllServers(ctx, o) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, s.Slug)
		}
		return got
	}
	if got := walk(client.ListOptions{Limit: 2, Health: "ok"}); !slices.Equal(got, ok) {
		t.Fatalf("health ok, 2 a page: %v, want %v", got, ok)
	}
	if got := walk(client.ListOptions{Limit: 3, Health: "unknown"}); len(got) != 8 || slices.Contains(got, "s-00") {
		t.Fatalf("health unknown, 3 a page: %v", got)
	}
	page, err := c.ListServers(ctx, client.ListOptions{Limit: 1, Health: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	from := client.ListOptions{Limit: 2, Health: "ok", Affix: string(page.Meta.Next.Affix), CreatedAt: page.Meta.Next.CreatedAt}
	if got := walk(from); !slices.Equal(got, ok[1:]) {
		t.Fatalf("from the cursor: %v, want %v", got, ok[1:])
	}
}
