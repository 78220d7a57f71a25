package rest

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/store"
)

func encodingJSON(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkSame(t testing.TB, m store.MCPServer) {
	t.Helper()
	want := encodingJSON(t, wireServer(m))
	got := append(appendServer(nil, m), '\n')
	if !bytes.Equal(got, want) {
		t.Fatalf("appendServer differs from encoding/json:\n got %s\nwant %s", got, want)
	}
}

var tricky = []string{
	"", "plain", "form\ffeed\bback", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
	"é ✓ 日本語 😀", "\u2028\u2029", "bad \xff utf8 \xc3", "\xed\xa0\x80 surrogate", "/slash/", "a\u00a0b",
}

func TestFastJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range tricky {
		checkSame(t, store.MCPServer{AppID: s, Slug: s, Name: s, Description: s, URL: s, Icon: s, CreatedAt: 1700000000000, UpdatedAt: -5})
		checkSame(t, store.MCPServer{AppID: s, Slug: s, Health: &store.Health{Status: s, CheckedAt: 17, ToolCount: 3}})
		checkSame(t, store.MCPServer{AppID: s, Slug: s, Auth: store.AuthInfo{Type: "headers", Headers: "X-A," + s}})
		checkSame(t, store.MCPServer{AppID: s, Slug: s, Auth: store.AuthInfo{Type: "bearer", Headers: "Authorization"}})
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune{'a', 'Z', '"', '\\', '<', '>', '&', '\n', 0, 0x1f, 0x7f, 'é', '✓', 0x2028, 0x2029, 0xfffd, 0x1F600}
	for range 2000 {
		s := func() string {
			var b []byte
			for range r.IntN(12) {
				if r.IntN(10) == 0 {
					b = append(b, byte(0x80+r.IntN(0x80))) // a stray byte: invalid UTF-8
				} else {
					b = append(b, string(alphabet[r.IntN(len(alphabet))])...)
				}
			}
			return string(b)
		}
		checkSame(t, store.MCPServer{AppID: s(), Slug: s(), Name: s(), Description: s(), URL: s(), Icon: s(), CreatedAt: r.Int64(), UpdatedAt: r.Int64()})
	}
	items := []store.MCPServer{{AppID: "a", Slug: "x", Name: "<X>"}, {AppID: "a", Slug: "y", CreatedAt: 3}}
	for _, page := range [][]store.MCPServer{items, nil} {
		meta := pageMeta(10, page, func(m store.MCPServer) int64 { return m.CreatedAt })
		wire := gen.McpServerList{Data: make([]gen.McpServer, len(page)), Meta: meta}
		for i, m := range page {
			wire.Data[i] = wireServer(m)
		}
		want := encodingJSON(t, wire)
		got := append(appendServerList(nil, page, meta), '\n')
		if !bytes.Equal(got, want) {
			t.Fatalf("appendServerList differs:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzFastJSON(f *testing.F) {
	for _, s := range tricky {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		checkSame(t, store.MCPServer{AppID: a, Slug: b, Name: a + b, Description: b, URL: a, Icon: b})
	})
}

// The hand-written mcp/add and mcp/remove reply is the generated one's bytes, for nil and
// empty lists, a set and unset lastMessageAt, maps and every tricky string.
func TestAgentReplyMatchesGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pick := func() string { return tricky[r.IntN(len(tricky))] }
	list := func() []string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		l := make([]string, 1+r.IntN(5))
		for i := range l {
			l[i] = pick()
		}
		return l
	}
	for i := range 1000 {
		a := store.Agent{UID: pick(), AppID: pick(), Name: pick(), Icon: pick(), IsActive: i%2 == 0, Description: pick(),
			Tools: list(), Files: list(), Websites: list(), OtherKbIntegrations: list(), APITools: list(), MCPServers: list(),
			FrontendActions: list(), RagVersion: pick(), Instruction: pick(), Model: pick(), CreatedAt: r.Int64(), UpdatedAt: -r.Int64N(9),
			Gateway: store.AgentGateway{ToolNames: pick()}}
		if i%3 == 0 {
			n := r.Int64()
			a.LastMessageAt = &n
		}
		if i%4 != 0 {
			a.MetaData = map[string]any{pick(): pick(), "n": 2.5, "l": []any{nil, true, pick()}}
			a.ModelMetaData = map[string]any{}
		}
		want := encodingJSON(t, gen.AgentResponse{Success: true, Data: wireAgent(a)})
		got := agentReply(a)
		if !bytes.Equal(got.body, want) {
			t.Fatalf("agentReply differs from encoding/json:\n got %s\nwant %s", got.body, want)
		}
		if wantTag := *etag(store.AgentVersion(a)); got.etag != wantTag {
			t.Fatalf("etag %s, want %s", got.etag, wantTag)
		}
	}
}
