package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// MaxHeaderBytes bounds a request's line and headers together. It is below net/http's own
// limit (http.Server.MaxHeaderBytes, 1 MiB by default), which answers 431 in text/plain:
// between the two, this answers 431 in the ErrorResponse.
const MaxHeaderBytes = 32 << 10

// LimitHeaders answers 431 ERR_HEADERS_TOO_LARGE for a request whose line and headers are
// over MaxHeaderBytes, before anything reads them.
func LimitHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
		for k, vs := range r.Header {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		if n > MaxHeaderBytes {
			return NewError(CodeHeadersTooLarge, "The request line and headers are larger than %d bytes.", MaxHeaderBytes)
		}
		return next(c)
	}
}

// HeadAsGet answers HEAD on every GET route: the request is routed, validated and handled as
// a GET, and the body is dropped. It wraps echo (routing reads the method of net/http's
// own request); that request is HEAD again before net/http writes the response (no body
// reaches it before the handler returns), so it sends a HEAD answer. Requests skip says
// so (a streaming endpoint, whose GET never ends) are left as they are.
func HeadAsGet(skip func(*http.Request) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead || skip(r) {
			next.ServeHTTP(w, r)
			return
		}
		r.Method = http.MethodGet
		defer func() { r.Method = http.MethodHead }()
		next.ServeHTTP(headWriter{w}, r)
	})
}

// headWriter drops the body; Flush is a no-op, so nothing reaches net/http early.
type headWriter struct{ http.ResponseWriter }

func (headWriter) Write(b []byte) (int, error) { return len(b), nil }
func (headWriter) Flush()                      {}

// ReadBody reads a request's body before validation, so that its faults get their own
// answers: over MaxBody, however it was sent (chunked too), 413 ERR_PAYLOAD_TOO_LARGE; not
// UTF-8 (which JSON must be), 400 ERR_INVALID_JSON rather than silently replaced characters.
func ReadBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody {
			return next(c)
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		r.Body.Close()
		var he *echo.HTTPError
		switch {
		case len(b) > MaxBody, errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
			return NewError(CodePayloadTooLarge, "The request body is larger than %d bytes.", MaxBody)
		case err != nil:
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "Invalid request: body: could not be read", Err: err,
				Details: []Detail{{Field: "body", Message: "could not be read"}}}
		case !utf8.Valid(b):
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "Invalid request: body: not valid UTF-8",
				Details: []Detail{{Field: "body", Message: "not valid UTF-8"}}}
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		return next(c)
	}
}
