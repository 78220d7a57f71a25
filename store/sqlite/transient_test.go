package sqlite

import (
	"testing"

	sqlite3 "modernc.org/sqlite/lib"
)

// TestTransientCodes: extended result codes count by their primary code.
func TestTransientCodes(t *testing.T) {
	for code, want := range map[int]bool{
		sqlite3.SQLITE_BUSY: true, sqlite3.SQLITE_BUSY | 2<<8: true, // BUSY_SNAPSHOT
		sqlite3.SQLITE_LOCKED: true, sqlite3.SQLITE_IOERR | 10<<8: true, // IOERR_DELETE
		sqlite3.SQLITE_FULL: true, sqlite3.SQLITE_CANTOPEN: true,
		sqlite3.SQLITE_CONSTRAINT: false, sqlite3.SQLITE_CORRUPT: false, sqlite3.SQLITE_ERROR: false,
		sqlite3.SQLITE_READONLY: false, // the read pool refusing a write is a bug, not an outage
	} {
		if got := transient(code); got != want {
			t.Errorf("transient(%d) = %v, want %v", code, got, want)
		}
	}
}
