package typescript

import (
	"bytes"
	"testing"
)

// A page loads the bundle alone: it imports nothing and exports the client's entry points.
func TestBundle(t *testing.T) {
	if bytes.Contains(Bundle, []byte("\nimport ")) {
		t.Fatal("the bundle imports other modules; a page could not load it alone")
	}
	i := bytes.LastIndex(Bundle, []byte("\nexport {"))
	if i < 0 {
		t.Fatal("the bundle exports nothing")
	}
	exports := Bundle[i:]
	for _, name := range []string{"createClient", "AgentMcpError", "AgentMcpNetworkError", "etagOf", "unwrap"} {
		if !bytes.Contains(exports, []byte(name)) {
			t.Errorf("the bundle lacks %s", name)
		}
	}
}
