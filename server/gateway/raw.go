package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A tools/call is the gateway's hot path, and through the SDK's client it cost as much as a
// whole MCP client: a JSON-RPC connection, a goroutine per message, three decodings of the
// reply. On a Streamable HTTP session of a protocol version it knows, the gateway posts the
// call itself on the session the SDK opened (same Mcp-Session-Id, same HTTP client policy,
// the server's credentials) and reads the one reply: a JSON body or the event stream up to
// the reply, notifications skipped. Everything else (legacy SSE, sessionless servers, other
// protocol versions, an expired session) goes through the SDK as before.

// RawClienter is what a Connector offers for raw calls (*probe.Prober does).
type RawClienter interface {
	SessionHTTPClient(header http.Header) *http.Client
}

// rawVersions are the protocol versions whose tools/call request the gateway writes itself.
var rawVersions = map[string]bool{"2025-03-26": true, "2025-06-18": true, "2025-11-25": true}

var rawIDs atomic.Int64

// errRawUnusable: the raw path cannot make this call; the SDK's client will.
var errRawUnusable = errors.New("raw call not possible")

// errSessionGone: the server no longer knows the session (404).
var errSessionGone = errors.New("session gone")

// maxRawEvent bounds one server-sent event of a reply (the HTTP client bounds the body too).
const maxRawEvent = 8 << 20

func (g *Gateway) rawCall(ctx context.Context, hc *http.Client, url, session, version, tool string, args json.RawMessage) (*mcp.CallToolResult, error) {
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	id := "agw-" + strconv.FormatInt(rawIDs.Add(1), 10)
	body, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		ID      string `json:"id"`
		Method  string `json:"method"`
		Params  any    `json:"params"`
	}{"2.0", id, "tools/call", struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}{tool, args}})
	if err != nil {
		return nil, errRawUnusable // arguments that are not JSON: let the SDK say so
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("Mcp-Protocol-Version", version)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errSessionGone
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var msg []byte
	switch ct {
	case "application/json":
		if msg, err = io.ReadAll(resp.Body); err != nil {
			return nil, err
		}
	case "text/event-stream":
		if msg, err = replyEvent(resp.Body, id); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unexpected content type %q", ct)
	}
	var r struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg, &r); err != nil {
		return nil, fmt.Errorf("reply: %w", err)
	}
	if r.Error != nil {
		return nil, fmt.Errorf("%s (code %d)", r.Error.Message, r.Error.Code)
	}
	res := new(mcp.CallToolResult)
	if err := json.Unmarshal(r.Result, res); err != nil {
		return nil, fmt.Errorf("reply: %w", err)
	}
	return res, nil
}

// replyEvent reads server-sent events until the one that is the reply to id.
func replyEvent(body io.Reader, id string) ([]byte, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 4096), maxRawEvent)
	want, _ := json.Marshal(id)
	var data []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0: // the end of an event
			if isReply(data, want) {
				return data, nil
			}
			data = data[:0]
		case bytes.HasPrefix(line, []byte("data:")):
			if len(data) > 0 {
				data = append(data, '\n')
			}
			if len(data)+len(line) > maxRawEvent {
				return nil, errors.New("reply event too large")
			}
			data = append(data, bytes.TrimPrefix(line[5:], []byte(" "))...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if isReply(data, want) {
		return data, nil
	}
	return nil, errors.New("the event stream ended without a reply")
}

// isReply reports whether a JSON-RPC message is a response (no method) with id want.
func isReply(msg, want []byte) bool {
	if len(msg) == 0 {
		return false
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	return json.Unmarshal(msg, &m) == nil && m.Method == "" && bytes.Equal(m.ID, want)
}
