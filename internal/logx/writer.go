package logx

import (
	"io"
	"sync"
	"time"
)

const (
	// flushEvery is how long an access line may wait in memory before it is written.
	flushEvery = 5 * time.Millisecond
	// maxPending bounds the lines waiting: the line that would go past it is written at
	// once, with those before it, by its own request (a stuck log slows requests down
	// instead of growing the process).
	maxPending = 64 << 10
)

// lockedWriter keeps the lane's lines and slog's whole, apart and in order. Access lines
// are gathered and written together at most flushEvery after the first of them: a line
// costs a copy instead of a write(2). slog's records (startup, errors, the last words
// before an exit) are written, after every line gathered before them, before Write returns.
type lockedWriter struct {
	w   io.Writer
	wmu sync.Mutex // held while writing to w
	buf []byte     // the next batch's buffer, under wmu

	mu      sync.Mutex // guards pending, armed and direct
	pending []byte
	armed   bool // a flush is due
	direct  bool // Drain was called: every line is written at once
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.flushLocked()
	return l.w.Write(p)
}

// queue adds a copy of p to the lines to write (a failed write is dropped, as slog does).
func (l *lockedWriter) queue(p []byte) {
	l.mu.Lock()
	if l.direct || len(l.pending)+len(p) > maxPending {
		l.mu.Unlock()
		l.Write(p)
		return
	}
	l.pending = append(l.pending, p...)
	arm := !l.armed
	l.armed = true
	l.mu.Unlock()
	if arm {
		time.AfterFunc(flushEvery, l.Flush)
	}
}

// Flush writes every line gathered so far before it returns.
func (l *lockedWriter) Flush() {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.flushLocked()
}

// Drain flushes, and has every later line written at once: a process about to exit has
// no timer to wait for (a request still running past the shutdown's deadline).
func (l *lockedWriter) Drain() {
	l.mu.Lock()
	l.direct = true
	l.mu.Unlock()
	l.Flush()
}

// flushLocked writes what is gathered; a failed write drops it, as slog drops a line.
func (l *lockedWriter) flushLocked() {
	l.mu.Lock()
	b := l.pending
	l.pending, l.armed = l.buf[:0], false
	l.mu.Unlock()
	if len(b) > 0 {
		l.w.Write(b)
	}
	l.buf = b
}
