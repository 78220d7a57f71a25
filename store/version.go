package store

import (
	"context"
	"errors"
	"strconv"
)

// ErrPreconditionFailed: the record is not at the version the caller's condition names.
var ErrPreconditionFailed = errors.New("precondition failed")

// ServerVersion changes whenever an MCP server's representation does: a real change bumps
// updatedAt, a probe changes its health.
func ServerVersion(m MCPServer) string {
	var checked int64
	if m.Health != nil {
		checked = m.Health.CheckedAt
	}
	b := strconv.AppendInt(make([]byte, 0, 32), m.UpdatedAt, 10)
	b = append(b, '.')
	return string(strconv.AppendInt(b, checked, 10))
}

// AgentVersion changes whenever an agent changes (updatedAt is bumped by every change).
func AgentVersion(a Agent) string { return strconv.FormatInt(a.UpdatedAt, 10) }

type ifMatchKey struct{}

// WithIfMatch makes the updates and deletes run with ctx conditional: the store checks the
// record's current version with match inside the write's transaction, and writes nothing
// (ErrPreconditionFailed) when it says no.
func WithIfMatch(ctx context.Context, match func(version string) bool) context.Context {
	return context.WithValue(ctx, ifMatchKey{}, match)
}

// CheckIfMatch returns ErrPreconditionFailed if ctx's condition rejects version.
func CheckIfMatch(ctx context.Context, version string) error {
	if match, ok := ctx.Value(ifMatchKey{}).(func(string) bool); ok && !match(version) {
		return ErrPreconditionFailed
	}
	return nil
}
