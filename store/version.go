package store

import (
	"errors"
	"strconv"
)

// ErrPreconditionFailed: the record is not at the version the caller's condition names.
var ErrPreconditionFailed = errors.New("precondition failed")

// ServerVersion changes whenever an MCP server's representation does: a real change bumps
// updatedAt, a probe changes its health.
func ServerVersion(m MCPServer) string {
	var buf [48]byte
	return string(AppendServerVersion(buf[:0], m))
}

// AppendServerVersion appends ServerVersion(m) to b.
func AppendServerVersion(b []byte, m MCPServer) []byte {
	var checked int64
	if m.Health != nil {
		checked = m.Health.CheckedAt
	}
	b = strconv.AppendInt(b, m.UpdatedAt, 10)
	b = append(b, '.')
	return strconv.AppendInt(b, checked, 10)
}

// AgentVersion changes whenever an agent changes (updatedAt is bumped by every change).
func AgentVersion(a Agent) string { return strconv.FormatInt(a.UpdatedAt, 10) }

// AnyVersion in IfMatch matches a record at any version (If-Match: *).
const AnyVersion = "*"

// Precondition makes an update or delete conditional on the record's current version; the
// store checks it inside the write's transaction and writes nothing (ErrPreconditionFailed)
// when it fails. The zero value is no condition.
type Precondition struct {
	versions []string
	set      bool
}

// IfMatch is the condition that the record is at one of versions (AnyVersion: any); with no
// versions it never holds.
func IfMatch(versions ...string) Precondition { return Precondition{versions: versions, set: true} }

// Check returns ErrPreconditionFailed unless a record at version satisfies p.
func (p Precondition) Check(version string) error {
	if !p.set {
		return nil
	}
	for _, v := range p.versions {
		if v == AnyVersion || v == version {
			return nil
		}
	}
	return ErrPreconditionFailed
}
