package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// callDirect answers a plain tools/call of an open session itself, in JSON (which the
// Streamable HTTP transport allows for any request), without the SDK's server: that
// server's JSON-RPC machinery cost about as much per call as the whole direct call the
// gateway is measured against (docs/performance.md). A plain call is one request, no
// batch, no _meta (so no progress token), a client that accepts JSON; anything else —
// and a tool this agent does not serve — goes to the SDK as before, body intact. It
// reports whether it answered.
func (g *Gateway) callDirect(w http.ResponseWriter, r *http.Request, a *agentState) bool {
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		return false
	}
	body, err := io.ReadAll(r.Body) // bounded by the server's body limit
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	var m struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
			Meta      json.RawMessage `json:"_meta"`
		} `json:"params"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if d.Decode(&m) != nil || d.More() || m.JSONRPC != "2.0" || m.Method != "tools/call" || len(m.ID) == 0 ||
		m.ID[0] == 'n' || m.Params.Meta != nil || m.Params.Name == "" {
		return false
	}
	a.readyToCall(r.Context()) // as the SDK path does (newAgent)
	a.mu.Lock()
	rt, ok := a.routes[m.Params.Name]
	a.mu.Unlock()
	if !ok {
		return false // the SDK says what is wrong with it
	}
	type rpcError struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	reply := func(result any, e *rpcError) ([]byte, error) {
		return json.Marshal(struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Result  any             `json:"result,omitempty"`
			Error   *rpcError       `json:"error,omitempty"`
		}{"2.0", m.ID, result, e})
	}
	var out []byte
	res, err := a.call(r.Context(), &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: m.Params.Name, Arguments: m.Params.Arguments}}, rt)
	if err == nil {
		out, err = reply(res, nil)
		if err != nil {
			out, _ = reply(nil, &rpcError{-32603, "the result could not be encoded"})
		}
	} else { // not attached any more: refused, as the SDK refuses a tool it does not have
		out, _ = reply(nil, &rpcError{-32602, err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	return true
}
