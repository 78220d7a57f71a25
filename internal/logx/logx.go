// Package logx is slog's JSON handler with a fast lane for the access log: one line per
// request, where slog's generic record (the attributes copied into it, the caller's program
// counter, each value's kind switch) was most of the line's cost, and the line a tenth of
// a cached GET's.
package logx

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/agentmcp/agentmcp/internal/jsonw"
)

// Handler is a *slog.JSONHandler (every record but the access log's goes through it) that
// also writes Request lines itself, in the same format, on the same writer.
type Handler struct {
	*slog.JSONHandler
	level slog.Leveler
	w     *lockedWriter
}

// NewJSONHandler returns slog.NewJSONHandler(w, opts) with the fast lane. The lane knows no
// option but the level: with ReplaceAttr or AddSource set, LogRequest always declines.
func NewJSONHandler(w io.Writer, opts *slog.HandlerOptions) *Handler {
	lw := &lockedWriter{w: w}
	var o slog.HandlerOptions
	if opts != nil {
		o = *opts
	}
	h := &Handler{JSONHandler: slog.NewJSONHandler(lw, &o), w: lw}
	if o.ReplaceAttr == nil && !o.AddSource {
		h.level = o.Level
		if h.level == nil {
			h.level = slog.LevelInfo
		}
	}
	return h
}

// Request is one access log line.
type Request struct {
	ID, Method, Route string
	Status            int
	Duration          time.Duration
	AppID             string
}

// Log writes r's line on l: through the lane when l's handler is logx's and takes it, else
// through slog, as Info("request", request_id, method, route, status, duration_us, app_id).
func Log(ctx context.Context, l *slog.Logger, r *Request) {
	if h, ok := l.Handler().(*Handler); ok && h.LogRequest(r) {
		return
	}
	l.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("request_id", r.ID), slog.String("method", r.Method), slog.String("route", r.Route),
		slog.Int("status", r.Status), slog.Int64("duration_us", r.Duration.Microseconds()), slog.String("app_id", r.AppID))
}

// LogRequest writes r as Log's slog branch would, and reports whether it did: false when
// the lane is off or Info is not enabled (Log then goes through slog, or logs nothing).
func (h *Handler) LogRequest(r *Request) bool {
	if h.level == nil || h.level.Level() > slog.LevelInfo {
		return false
	}
	bp := bufs.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	b = time.Now().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","request_id":`...)
	b = jsonw.String(b, r.ID)
	b = append(b, `,"method":`...)
	b = jsonw.String(b, r.Method)
	b = append(b, `,"route":`...)
	b = jsonw.String(b, r.Route)
	b = append(b, `,"status":`...)
	b = jsonw.Int(b, int64(r.Status))
	b = append(b, `,"duration_us":`...)
	b = jsonw.Int(b, r.Duration.Microseconds())
	b = append(b, `,"app_id":`...)
	b = jsonw.String(b, r.AppID)
	b = append(b, "}\n"...)
	h.w.queue(b)
	if cap(b) <= 4<<10 {
		*bp = b
		bufs.Put(bp)
	}
	return true
}

// Flush writes the access lines still gathered (see lockedWriter) before it returns.
func (h *Handler) Flush() { h.w.Flush() }

// Drain writes what l's handler has gathered, when it is logx's, and every later line at
// once: what a process does before it exits.
func Drain(l *slog.Logger) {
	if h, ok := l.Handler().(*Handler); ok {
		h.w.Drain()
	}
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
