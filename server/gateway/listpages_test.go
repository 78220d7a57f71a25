package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/server/gateway"
)

// newToolbox serves n tools t0…t(n-1).
func newToolbox(t *testing.T, n int) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "toolbox", Version: "1"}, nil)
	for i := range n {
		s.AddTool(&mcp.Tool{Name: "t" + strconv.Itoa(i), Description: "<tool> & " + strconv.Itoa(i), InputSchema: map[string]any{"type": "object"}},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
	}
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	return hs.URL + "/mcp"
}

// allTools lists every page, returning the names in order and the pages' sizes.
func allTools(t *testing.T, cs *mcp.ClientSession) (names []string, pages []int) {
	t.Helper()
	var cursor string
	for {
		lt, err := cs.ListTools(context.Background(), &mcp.ListToolsParams{Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(lt.Tools))
		for _, tl := range lt.Tools {
			names = append(names, tl.Name)
			if n, ok := strings.CutPrefix(tl.Name, "box__t"); ok && tl.Description != "<tool> & "+n {
				t.Fatalf("%s: description %q", tl.Name, tl.Description)
			}
		}
		if lt.NextCursor == "" {
			return names, pages
		}
		cursor = lt.NextCursor
	}
}

// TestListPagesFollowTheCatalogue: list pages are kept as JSON between lists; every
// session of the agent, again and again, gets every page and item (descriptions with
// characters JSON may escape intact), and once a server is attached the pages are the new
// catalogue's, not the kept ones.
func TestListPagesFollowTheCatalogue(t *testing.T) {
	env, c := gatewayEnv(t, func(o *gateway.Options) { o.PageSize = 3 })
	addServer(t, c, "box", newToolbox(t, 7))
	addServer(t, c, "b", newUpstreamServer(t, "b").URL)
	uid := addAgent(t, c, "pager", "box")

	var want []string
	for i := range 7 {
		want = append(want, "box__t"+strconv.Itoa(i))
	}
	slices.Sort(want)
	one, changed := connectWatching(t, agentURL(env, uid), env.KeyA)
	two, _ := connectWatching(t, agentURL(env, uid), env.KeyA)
	for i, cs := range []*mcp.ClientSession{one, two, one, two} {
		names, pages := allTools(t, cs)
		if !slices.Equal(names, want) || !slices.Equal(pages, []int{3, 3, 1}) {
			t.Fatalf("list %d: %v in pages %v, want %v in 3, 3, 1", i, names, pages, want)
		}
	}
	if _, err := one.ListTools(context.Background(), &mcp.ListToolsParams{Cursor: "not-a-cursor"}); err == nil {
		t.Fatal("a cursor the gateway never gave was answered")
	}

	if _, err := c.AddMCPServers(context.Background(), uid, "b"); err != nil {
		t.Fatal(err)
	}
	changed.wait(t, "an attach")
	want = append(want, "b__echo", "b__strict")
	slices.Sort(want)
	for i, cs := range []*mcp.ClientSession{one, two} {
		names, pages := allTools(t, cs)
		if !slices.Equal(names, want) || !slices.Equal(pages, []int{3, 3, 3}) {
			t.Fatalf("list %d after the attach: %v in pages %v, want %v", i, names, pages, want)
		}
	}
}

// rawPost sends one JSON-RPC body to the agent's endpoint in session sid and returns the
// response's status, content type, session id and body.
func rawPost(t *testing.T, url, key, sid, body string) (status int, ctype, session, out string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Mcp-Session-Id"), string(b)
}

// TestKeptPagesAnswerAsTheSDK: a list answered from a kept page (without the SDK's
// server) is byte for byte what the SDK answered when the page was made, for numeric and
// string ids and a next page; what the kept pages do not answer (_meta, a call) is the SDK's.
func TestKeptPagesAnswerAsTheSDK(t *testing.T) {
	env, c := gatewayEnv(t, func(o *gateway.Options) { o.PageSize = 4 })
	addServer(t, c, "box", newToolbox(t, 6))
	url := agentURL(env, addAgent(t, c, "raw", "box"))
	st, _, sid, out := rawPost(t, url, env.KeyA, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	if st != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %q %s", st, sid, out)
	}
	if st, _, _, out := rawPost(t, url, env.KeyA, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); st != http.StatusAccepted {
		t.Fatalf("initialized: %d %s", st, out)
	}
	var cursor string
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":"a-b","method":"tools/list","params":{}}`,
		`{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"cursor":"CURSOR"}}`,
	} {
		if strings.Contains(body, "CURSOR") {
			body = strings.Replace(body, "CURSOR", cursor, 1)
		}
		st1, ct1, _, first := rawPost(t, url, env.KeyA, sid, body) // the SDK's, the page kept
		st2, ct2, _, kept := rawPost(t, url, env.KeyA, sid, body)  // from the kept page
		if st1 != http.StatusOK || st2 != st1 || ct2 != ct1 || kept != first {
			t.Fatalf("%s:\nthe SDK: %d %s %q\nkept:    %d %s %q", body, st1, ct1, first, st2, ct2, kept)
		}
		if i := strings.Index(first, `"nextCursor":"`); i >= 0 {
			cursor, _, _ = strings.Cut(first[i+len(`"nextCursor":"`):], `"`)
		}
	}
	if cursor == "" {
		t.Fatal("no next cursor in 6 tools at 4 a page")
	}
	_, _, _, withMeta := rawPost(t, url, env.KeyA, sid, `{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"progressToken":"p"}}}`)
	_, _, _, plain := rawPost(t, url, env.KeyA, sid, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
	if withMeta != plain {
		t.Fatalf("with _meta (the SDK) %q, without (kept) %q", withMeta, plain)
	}
}
