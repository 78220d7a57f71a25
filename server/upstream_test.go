package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// hostileMCP is a hand-written MCP server (Streamable HTTP, JSON responses) on loopback
// whose tools/list answers page i of pages with the tools page(i) writes, as a JSON array.
// It counts the tools/list pages it served and the bytes it wrote.
type hostileMCP struct {
	URL     string
	Pages   atomic.Int64
	Written atomic.Int64
}

func newHostileMCP(t *testing.T, pages int, page func(i int, w io.Writer)) *hostileMCP {
	t.Helper()
	h := &hostileMCP{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Cursor string `json:"cursor"`
			} `json:"params"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&msg) != nil {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if msg.ID == nil { // a notification
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		cw := &countingWriter{w: w, n: &h.Written}
		switch msg.Method {
		case "initialize":
			fmt.Fprintf(cw, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"hostile","version":"1"}}}`, msg.ID)
		case "tools/list":
			i, _ := strconv.Atoi(msg.Params.Cursor)
			h.Pages.Add(1)
			fmt.Fprintf(cw, `{"jsonrpc":"2.0","id":%s,"result":{"tools":`, msg.ID)
			page(i, cw)
			if i+1 < pages {
				fmt.Fprintf(cw, `,"nextCursor":"%d"`, i+1)
			}
			io.WriteString(cw, "}}")
		default:
			fmt.Fprintf(cw, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"no"}}`, msg.ID)
		}
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/mcp"
	return h
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}
