package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// pages keeps an agent's list pages (tools/list, prompts/list, resources/list,
// resources/templates/list) as the JSON they encode to, until its items change: the SDK
// encodes a page's every item by reflection on every list, 1,000 tools in ~10 ms of CPU.
// A page is the same for every session of the agent. Only first pages and the pages their
// next cursors lead to are kept, so a client cannot fill it with cursors of its own making.
type pages struct {
	mu   sync.Mutex
	m    map[string]*encodedPage // method and cursor → page
	next map[string]bool         // method and cursor of a kept page's next page
}

// encodedPage is a list result whose JSON is raw: the SDK's response writer marshals it
// as those bytes. It is the SDK's own result otherwise (Result embeds it), for the
// methods the SDK's Result interface asks of it.
type encodedPage struct {
	mcp.Result
	raw json.RawMessage
}

func (p *encodedPage) MarshalJSON() ([]byte, error) { return p.raw, nil }

// clear drops every page; the caller holds the agent's items write lock.
func (ps *pages) clear() {
	ps.mu.Lock()
	ps.m, ps.next = nil, nil
	ps.mu.Unlock()
}

// serve answers a list request from a kept page, or with next's answer, kept when it may
// be. The caller holds the agent's items read lock, so no refresh runs meanwhile.
func (ps *pages) serve(ctx context.Context, next mcp.MethodHandler, method string, req mcp.Request) (mcp.Result, error) {
	cursor, ok := listCursor(req)
	if !ok {
		return next(ctx, method, req)
	}
	key := method + "\x00" + cursor
	ps.mu.Lock()
	p := ps.m[key]
	may := cursor == "" || ps.next[key]
	ps.mu.Unlock()
	if p != nil {
		return p, nil
	}
	res, err := next(ctx, method, req)
	if err != nil || !may {
		return res, err
	}
	raw, nextCursor, ok := encodePage(res)
	if !ok {
		return res, nil
	}
	p = &encodedPage{Result: res, raw: raw}
	ps.mu.Lock()
	if ps.m == nil {
		ps.m, ps.next = map[string]*encodedPage{}, map[string]bool{}
	}
	ps.m[key] = p
	if nextCursor != "" {
		ps.next[method+"\x00"+nextCursor] = true
	}
	ps.mu.Unlock()
	return p, nil
}

// listCursor is a list request's cursor; ok is false for a request whose answer may
// differ from one request to the next: one with _meta (the protocol of 2026-07-28 puts
// its version there, and the SDK then annotates each result).
func listCursor(req mcp.Request) (cursor string, ok bool) {
	var meta mcp.Meta
	switch p := req.GetParams().(type) {
	case *mcp.ListToolsParams:
		if p != nil {
			cursor, meta = p.Cursor, p.Meta
		}
	case *mcp.ListPromptsParams:
		if p != nil {
			cursor, meta = p.Cursor, p.Meta
		}
	case *mcp.ListResourcesParams:
		if p != nil {
			cursor, meta = p.Cursor, p.Meta
		}
	case *mcp.ListResourceTemplatesParams:
		if p != nil {
			cursor, meta = p.Cursor, p.Meta
		}
	default:
		return "", false
	}
	return cursor, len(meta) == 0
}

// encodePage encodes a list result as the SDK's response writer would (no HTML escaping)
// and returns its next cursor.
func encodePage(res mcp.Result) (raw json.RawMessage, nextCursor string, ok bool) {
	switch r := res.(type) {
	case *mcp.ListToolsResult:
		nextCursor = r.NextCursor
	case *mcp.ListPromptsResult:
		nextCursor = r.NextCursor
	case *mcp.ListResourcesResult:
		nextCursor = r.NextCursor
	case *mcp.ListResourceTemplatesResult:
		nextCursor = r.NextCursor
	default:
		return nil, "", false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, "", false
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nextCursor, true
}

// kept returns the kept page for method and cursor, nil when there is none.
func (ps *pages) kept(method, cursor string) *encodedPage {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.m[method+"\x00"+cursor]
}

// listMethods are the requests a kept page answers.
var listMethods = map[string]bool{"tools/list": true, "prompts/list": true, "resources/list": true, "resources/templates/list": true}

// maxListBody bounds the body servePage reads: a list request is a line of JSON.
const maxListBody = 4 << 10

// servePage answers a POST of session ss that is one list request from a kept page,
// writing what the SDK's transport writes for it (an event stream of one message event,
// byte for byte), and reports whether it did. The SDK answers everything else: another
// method, a batch, _meta (per-request protocol), a session not initialized, the protocol of
// 2026-07-28 (its headers are checked), an id or cursor it would encode differently, a page
// not kept (the SDK's answer is kept for the next one). r's body is left as it came.
func (a *agentState) servePage(w http.ResponseWriter, r *http.Request, ss *mcp.ServerSession) bool {
	if r.Method != http.MethodPost || r.ContentLength <= 0 || r.ContentLength > maxListBody ||
		r.Header.Get("Mcp-Protocol-Version") >= "2026-07-28" || len(r.Header.Values("Last-Event-Id")) > 0 || ss.InitializeParams() == nil {
		return false
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil || !bytes.Contains(body, []byte(`/list"`)) {
		return false
	}
	var m struct {
		Version string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
		Result  json.RawMessage `json:"result"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &m) != nil || m.Version != "2.0" || !listMethods[m.Method] || m.Result != nil || m.Error != nil || !plainID(m.ID) {
		return false
	}
	var cursor string
	if len(m.Params) > 0 && string(m.Params) != "null" {
		var p map[string]json.RawMessage
		if json.Unmarshal(m.Params, &p) != nil {
			return false
		}
		for k, v := range p {
			if k != "cursor" || json.Unmarshal(v, &cursor) != nil {
				return false
			}
		}
	}
	// What the agent's receiving middleware does for a list: the page read under the
	// items lock of a catalogue ready to list.
	a.readyToList(r.Context())
	a.itemsMu.RLock()
	p := a.pages.kept(m.Method, cursor)
	a.itemsMu.RUnlock()
	if p == nil {
		return false
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("Content-Type", "text/event-stream")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	var head bytes.Buffer
	head.WriteString(`event: message` + "\n" + `data: {"jsonrpc":"2.0","id":`)
	head.Write(m.ID)
	head.WriteString(`,"result":`)
	_, _ = w.Write(head.Bytes())
	_, _ = w.Write(p.raw)
	_, _ = w.Write([]byte("}\n\n"))
	_ = http.NewResponseController(w).Flush()
	return true
}

// plainID reports whether a JSON-RPC id is one the SDK writes back as it came: a string
// of plain characters or an integer.
func plainID(id json.RawMessage) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	if id[0] == '"' {
		if len(id) < 2 || id[len(id)-1] != '"' {
			return false
		}
		for _, c := range id[1 : len(id)-1] {
			if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
				return false
			}
		}
		return true
	}
	digits := id
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 || (digits[0] == '0' && len(digits) > 1) {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
