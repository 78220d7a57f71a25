package main

import (
	"io"
	"sync"
	"time"
)

// logWriter buffers log lines and writes them out every interval (and on Close), so that
// logging a request costs no write system call and never waits for one: the flusher swaps
// the buffer under the lock and writes outside it. A crash loses at most the last interval
// of log lines, never data. Past maxBuffered bytes, lines are written through at once.
type logWriter struct {
	out   io.Writer
	mu    sync.Mutex
	buf   []byte
	spare []byte
	wmu   sync.Mutex // serialises writes to out
	stop  chan struct{}
	done  chan struct{}
}

const maxBuffered = 8 << 20

func newLogWriter(out io.Writer, interval time.Duration) *logWriter {
	l := &logWriter{out: out, buf: make([]byte, 0, 64<<10), spare: make([]byte, 0, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.flush()
			case <-l.stop:
				l.flush()
				return
			}
		}
	}()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	if len(l.buf)+len(p) <= maxBuffered {
		l.buf = append(l.buf, p...)
		l.mu.Unlock()
		return len(p), nil
	}
	l.mu.Unlock()
	l.flush()
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.out.Write(p)
}

func (l *logWriter) flush() {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	full := l.buf
	l.buf, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	if len(full) > 0 {
		l.out.Write(full)
	}
	l.mu.Lock()
	l.spare = full[:0]
	l.mu.Unlock()
}

// Close flushes what is buffered and stops the flusher.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	return nil
}
