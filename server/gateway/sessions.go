package gateway

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/server/gateway/admission"
)

// Sessions are kept per replica, but none is bound to one: a request naming a session this
// replica does not hold (it began on another replica behind a round-robin balancer, or
// before a restart) is served by a session rebuilt under the same id from what the
// request carries (MCP-Protocol-Version). Nothing of a session is a credential: every
// request is authenticated, and a session answers only the key and agent that made it.
type session struct {
	id        string
	a         *agentState
	keyID     string
	transport *mcp.StreamableServerTransport
	ss        *mcp.ServerSession
	lastUsed  time.Time
	streams   int    // open GET streams and POSTs in flight
	release   func() // gives the session's place back to admission, when it ends
}

type sessions struct {
	mu     sync.Mutex
	m      map[string]*session
	max    int
	closed func(*mcp.ServerSession) // told when a session ends: its upstream sessions close
	admit  func(app, uid, keyID string) (func(), error)
}

const sessionPrefix = "amg1_"

func newSessionID() string { return sessionPrefix + rand.Text() }

// validSessionID bounds what a client may name: our own ids only.
func validSessionID(id string) bool {
	if !strings.HasPrefix(id, sessionPrefix) || len(id) > 64 {
		return false
	}
	for _, c := range id[len(sessionPrefix):] {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return len(id) > len(sessionPrefix)+16
}

const sessionIDHeader = "Mcp-Session-Id"

// serveMCP serves one authenticated request for agent a.
func (g *Gateway) serveMCP(w http.ResponseWriter, r *http.Request, a *agentState, keyID string) {
	id := r.Header.Get(sessionIDHeader)
	switch r.Method {
	case http.MethodDelete:
		if id == "" {
			http.Error(w, "DELETE needs an Mcp-Session-Id header", http.StatusBadRequest)
			return
		}
		g.sessions.close(id, a, keyID)
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet:
		if id == "" {
			http.Error(w, "GET needs an Mcp-Session-Id header", http.StatusBadRequest)
			return
		}
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if id == "" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if isInitialize(body) {
			id = newSessionID()
		} else {
			g.serveEphemeral(w, r, a)
			return
		}
	} else if !validSessionID(id) {
		http.Error(w, "session not found", http.StatusNotFound)
		return
	}
	fresh := r.Header.Get(sessionIDHeader) == ""
	s, err := g.sessions.get(id, a, keyID, r, fresh)
	var refused *admission.Refused
	if errors.As(err, &refused) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(refused.RetryAfter.Round(time.Second)/time.Second))))
		http.Error(w, "Too Many Requests: "+refused.Error(), http.StatusTooManyRequests)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer g.sessions.done(s)
	if a.servePage(w, r, s.ss) {
		return
	}
	s.transport.ServeHTTP(w, r)
}

// isInitialize reports whether a JSON-RPC body (one message or a batch) holds initialize.
func isInitialize(body []byte) bool {
	var one struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(body, &one) == nil {
		return one.Method == "initialize"
	}
	var batch []struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(body, &batch) == nil {
		for _, m := range batch {
			if m.Method == "initialize" {
				return true
			}
		}
	}
	return false
}

// serveEphemeral answers a request outside any session (ping, or a sessionless client).
func (g *Gateway) serveEphemeral(w http.ResponseWriter, r *http.Request, a *agentState) {
	t := &mcp.StreamableServerTransport{}
	ss, err := a.srv.Connect(r.Context(), t, &mcp.ServerSessionOptions{State: resumedState(r)})
	if err != nil {
		http.Error(w, "failed connection", http.StatusInternalServerError)
		return
	}
	defer func() {
		ss.Close()
		g.sessions.closed(ss)
	}()
	t.ServeHTTP(w, r)
}

// resumedState is the state of a session rebuilt from a request: the protocol version
// it names (the spec's default when none), initialized.
func resumedState(r *http.Request) *mcp.ServerSessionState {
	v := r.Header.Get("Mcp-Protocol-Version")
	if v == "" || len(v) > 32 {
		v = "2025-03-26"
	}
	return &mcp.ServerSessionState{
		InitializeParams:          &mcp.InitializeParams{ProtocolVersion: v, Capabilities: &mcp.ClientCapabilities{}, ClientInfo: &mcp.Implementation{Name: "resumed"}},
		InitializedParams:         &mcp.InitializedParams{},
		NegotiatedProtocolVersion: v,
		LogLevel:                  "info",
	}
}

// get returns the session id of agent a and key keyID, rebuilding one this replica does not
// hold. A session of another key or agent is "not found", as an unknown one would be.
func (ss *sessions) get(id string, a *agentState, keyID string, r *http.Request, fresh bool) (*session, error) {
	ss.mu.Lock()
	s := ss.m[id]
	if s != nil {
		if s.a != a || s.keyID != keyID {
			ss.mu.Unlock()
			return nil, errNoSession
		}
		s.lastUsed, s.streams = time.Now(), s.streams+1
		ss.mu.Unlock()
		return s, nil
	}
	if len(ss.m) >= ss.max {
		ss.evictLocked()
	}
	ss.mu.Unlock()

	release := func() {}
	if ss.admit != nil { // bounded per key, agent and app, rebuilt sessions too
		done, err := ss.admit(a.app, a.uid, keyID)
		if err != nil {
			return nil, err
		}
		release = done
	}
	t := &mcp.StreamableServerTransport{SessionID: id}
	var opts *mcp.ServerSessionOptions
	if !fresh { // a session begun elsewhere: it was initialized there
		opts = &mcp.ServerSessionOptions{State: resumedState(r)}
	}
	// The session's root context, from which the SDK derives every handler's, is a fresh
	// one: the first request's (its values: auth, admission, the HTTP request and its
	// headers) would stay reachable for the session's life, ~1 KB per idle session.
	server, err := a.srv.Connect(context.Background(), t, opts)
	if err != nil {
		release()
		return nil, err
	}
	s = &session{id: id, a: a, keyID: keyID, transport: t, ss: server, lastUsed: time.Now(), streams: 1, release: release}
	ss.mu.Lock()
	if old := ss.m[id]; old != nil { // another request rebuilt it meanwhile
		ss.mu.Unlock()
		server.Close()
		release()
		return ss.get(id, a, keyID, r, false)
	}
	ss.m[id] = s
	ss.mu.Unlock()
	a.mu.Lock()
	a.sessions++
	a.mu.Unlock()
	// No goroutine waits on the session (10,000 idle sessions would hold 10,000 of them):
	// a session ends only where this file closes it (DELETE, eviction, the idle sweep,
	// Close), and each of those calls end.
	return s, nil
}

var errNoSession = &sessionError{"session not found"}

type sessionError struct{ s string }

func (e *sessionError) Error() string { return e.s }

func (ss *sessions) done(s *session) {
	ss.mu.Lock()
	s.streams--
	s.lastUsed = time.Now()
	ss.mu.Unlock()
}

// end closes s and what hangs off it (its upstream sessions, its subscriptions), once.
func (ss *sessions) end(s *session) {
	if !ss.remove(s) {
		return // ended already
	}
	s.ss.Close()
	s.release()
	ss.closed(s.ss)
}

// remove drops s from the table; false when it was not there any more.
func (ss *sessions) remove(s *session) bool {
	ss.mu.Lock()
	if ss.m[s.id] != s {
		ss.mu.Unlock()
		return false
	}
	delete(ss.m, s.id)
	ss.mu.Unlock()
	s.a.mu.Lock()
	s.a.sessions--
	s.a.idleAt = time.Now()
	s.a.mu.Unlock()
	return true
}

func (ss *sessions) close(id string, a *agentState, keyID string) {
	ss.mu.Lock()
	s := ss.m[id]
	ss.mu.Unlock()
	if s != nil && s.a == a && s.keyID == keyID {
		ss.end(s)
	}
}

// evictLocked closes the least recently used idle session, to stay within max.
func (ss *sessions) evictLocked() {
	var oldest *session
	for _, s := range ss.m {
		if s.streams == 0 && (oldest == nil || s.lastUsed.Before(oldest.lastUsed)) {
			oldest = s
		}
	}
	if oldest != nil {
		delete(ss.m, oldest.id)
		go func() {
			oldest.ss.Close()
			oldest.release()
			ss.closed(oldest.ss)
		}()
		oldest.a.mu.Lock()
		oldest.a.sessions--
		oldest.a.idleAt = time.Now()
		oldest.a.mu.Unlock()
	}
}

// sweep closes sessions idle for longer than idle; it runs every minute.
func (ss *sessions) sweep(idle time.Duration) {
	ss.mu.Lock()
	var stale []*session
	for _, s := range ss.m {
		if s.streams == 0 && time.Since(s.lastUsed) > idle {
			stale = append(stale, s)
		}
	}
	ss.mu.Unlock()
	for _, s := range stale {
		ss.end(s)
	}
}
