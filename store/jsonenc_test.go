package store

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/agentmcp/agentmcp/internal/jsonw"
)

// The hand encoders write exactly what encoding/json writes, for every kind of string
// (escapes, HTML characters, non-ASCII, invalid UTF-8) and nil against empty lists.
func TestHandEncodersMatchEncodingJSON(t *testing.T) {
	pieces := []string{"", "s000123", "filesystem", `quo"te`, `back\slash`, "<b>&amp;", "tab\there", "nl\n", "é", "\u2028", "\xff\xfe", "\x7f", "emoji 🙂", " "}
	r := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		s := ""
		for range r.IntN(3) {
			s += pieces[r.IntN(len(pieces))]
		}
		return s
	}
	list := func() []string {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		l := make([]string, r.IntN(6))
		for i := range l {
			l[i] = str()
		}
		return l
	}
	for i := range 2000 {
		l := list()
		want, _ := json.Marshal(l)
		if got := jsonw.Strings(nil, l); string(got) != string(want) {
			t.Fatalf("jsonw.Strings(%q) = %s, want %s", l, got, want)
		}
		var last *int64
		if i%2 == 0 {
			n := r.Int64()
			last = &n
		}
		var meta map[string]any
		if i%3 != 0 {
			meta = map[string]any{str(): str(), "n": 1.5, "nested": map[string]any{"<k>": []any{true, nil}}}
		}
		a := auditAgent{UID: str(), AppID: str(), Name: str(), Icon: str(), IsActive: i%2 == 1, Description: str(),
			Tools: list(), Files: list(), Websites: list(), OtherKbIntegrations: list(), APITools: list(),
			MCPServers: list(), FrontendActions: list(), RagVersion: str(), LastMessageAt: last,
			Instruction: str(), MetaData: meta, Model: str(), ModelMetaData: map[string]any{},
			Gateway:   AgentGateway{ToolNames: str()},
			CreatedAt: r.Int64N(1 << 50), UpdatedAt: -r.Int64N(5)}
		want, _ = json.Marshal(a)
		if got := appendAuditAgent(nil, &a); string(got) != string(want) {
			t.Fatalf("appendAuditAgent:\n got %s\nwant %s", got, want)
		}
	}
}
