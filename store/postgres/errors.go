package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/agentmcp/agentmcp/store"
)

// transientCode reports the SQLSTATEs that say the database cannot serve now rather than
// that the request is wrong.
func transientCode(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), // connection exception
		strings.HasPrefix(code, "53"), // insufficient resources: disk full, out of memory, too many connections
		strings.HasPrefix(code, "58"): // system error (I/O)
		return true
	}
	switch code {
	case "57014", // query_canceled: statement_timeout
		"57P01", "57P02", "57P03", // admin or crash shutdown, cannot connect now
		"55P03",          // lock_not_available: lock_timeout
		"25006",          // read_only_sql_transaction: connected to a standby, as during a failover
		"40001", "40P01": // serialization failure, deadlock: still failing after inTx's retries
		return true
	}
	return false
}

// unavailable reports errors that mean the database cannot be reached or cannot serve now.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return transientCode(pe.Code)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, puddle.ErrClosedPool) ||
		pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

// classify marks unavailability, and a deadline that ran out (a request out of time is a
// 503, never a 500), with store.ErrUnavailable, keeping the cause; everything else passes
// through. A cancelled context passes through: its caller has gone.
func classify(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || unavailable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
