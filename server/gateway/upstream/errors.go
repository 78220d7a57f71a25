// Package upstream is how the gateway reaches the MCP servers attached to agents: live
// client sessions of the official go-sdk (connected once, outside any lock, and reused),
// a circuit breaker per server that counts outages only, and typed errors that say which
// kind of failure a call met.
package upstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The kinds of outage. A server that answers — even with a JSON-RPC error such as "bad
// arguments" — is not out: only these move its breaker.
var (
	ErrOpen        = errors.New("left out for a while after repeated failures") // the circuit is open
	ErrTimeout     = errors.New("did not answer in time")
	ErrUnreachable = errors.New("unreachable") // transport failure, 5xx, a refused handshake
	ErrCredentials = errors.New("stored credentials unusable")
)

// Codes the SDK's client gives a request that got no answer from the server: the
// transport refused it (a 5xx or 429 without a JSON-RPC body), or the client is closing.
const (
	codeRejected      = -32005
	codeClientClosing = -32003
)

// Error is an outage of one server: Kind is one of the Err values above, Err the cause.
type Error struct {
	Server string
	Kind   error
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil || errors.Is(e.Kind, ErrOpen) {
		return fmt.Sprintf("MCP server %q: %v", e.Server, e.Kind)
	}
	return fmt.Sprintf("MCP server %q: %v: %v", e.Server, e.Kind, e.Err)
}

func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// Classify tells what err from a use of a session means: nil when the server answered
// (with a result, or with a JSON-RPC error of its own), else an *Error of the right kind.
// ctx is the context the use ran under, to tell a timeout from a failure.
func Classify(ctx context.Context, server string, err error) error {
	if err == nil {
		return nil
	}
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	var we *jsonrpc.Error
	if errors.As(err, &we) && we.Code != codeRejected && we.Code != codeClientClosing {
		return nil // the server answered: a tool's or a request's own failure
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Server: server, Kind: ErrTimeout, Err: err}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // the caller gave up: not the server's fault
	}
	return &Error{Server: server, Kind: ErrUnreachable, Err: err}
}

// sessionGone reports whether err says the server no longer knows the session (it
// restarted, or ended it): a fresh session is opened and the use retried once.
func sessionGone(err error) bool {
	return errors.Is(err, mcp.ErrSessionMissing) || errors.Is(err, mcp.ErrConnectionClosed)
}
