package sqlite

import (
	"context"
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/agentmcp/agentmcp/store"
)

// transient reports the SQLite result codes (primary code of an extended one) that say the
// database cannot serve now rather than that the request is wrong: locks held past
// busy_timeout, I/O failures, a full disk, a file that cannot be opened, no memory.
// Corruption and constraint errors are not among them: retrying does not help.
func transient(code int) bool {
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOMEM:
		return true
	}
	return false
}

// classify marks errors that mean the store cannot serve now with store.ErrUnavailable,
// keeping the cause: a transient SQLite error, or a deadline that ran out (a request out of
// time is a 503, never a 500). A cancelled context passes through: its caller has gone.
func classify(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.Canceled) {
		return err
	}
	var se *msqlite.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &se) && transient(se.Code()) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}
