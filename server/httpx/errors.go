package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// Detail is one problem of a request: the field, and what is wrong with it.
type Detail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorBody is the spec's ErrorResponse, field for field (TestErrorBodyIsErrorResponse).
type errorBody struct {
	Code       string   `json:"code"`
	Details    []Detail `json:"details,omitempty"`
	Error      string   `json:"error"`
	Message    string   `json:"message"`
	StatusCode int      `json:"statusCode"`
}

// Error is an error with its place on the wire. Handlers and middleware return it; the
// one HTTPErrorHandler renders it. Err, the cause, is logged and never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []Detail
	Err     error
	// RetryAfter, in seconds, is sent as Retry-After (every 503 gets one).
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// NewError is an error of code, sent with the status the code table (Codes) gives it.
func NewError(code, format string, args ...any) *Error {
	status, ok := Codes[code]
	if !ok {
		status = http.StatusInternalServerError // a code missing from the table: every code belongs there
	}
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ValidationError lists every problem in details and in the message.
func ValidationError(details []Detail) *Error {
	parts := make([]string, len(details))
	for i, d := range details {
		parts[i] = d.Field + ": " + d.Message
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeValidation,
		Message: "Validation failed: " + strings.Join(parts, "; "), Details: details}
}

// unavailable is an error of a dependency that is down for now (store.ErrUnavailable):
// 503 with Retry-After, so the client retries.
type unavailable interface{ Unavailable() bool }

func isUnavailable(err error) bool {
	var u unavailable
	return errors.As(err, &u) && u.Unavailable()
}

// ToError turns anything a handler or middleware returned into an *Error.
func ToError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if he.Internal != nil {
			var inner *Error
			if errors.As(he.Internal, &inner) {
				return inner
			}
		}
		switch he.Code {
		case http.StatusNotFound:
			return NewError(CodeNotFound, "No route for this path.")
		case http.StatusMethodNotAllowed:
			return NewError(CodeMethodNotAllowed, "Method not allowed for this path.")
		case http.StatusRequestEntityTooLarge:
			return NewError(CodePayloadTooLarge, "The request body is larger than %d bytes.", MaxBody)
		case http.StatusUnsupportedMediaType:
			return NewError(CodeUnsupportedMediaType, "Content-Type must be application/json.")
		case http.StatusBadRequest:
			// Only echo's binder gets here (the validator's errors are converted first).
			return &Error{Status: he.Code, Code: CodeInvalidJSON, Message: "Invalid request: body: not valid JSON", Err: err,
				Details: []Detail{{Field: "body", Message: "not valid JSON"}}}
		}
		if he.Code >= 400 && he.Code < 500 {
			return &Error{Status: he.Code, Code: "ERR_" + strings.ToUpper(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")),
				Message: http.StatusText(he.Code) + ".", Err: err}
		}
	}
	if isUnavailable(err) {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "The store is unavailable; try again.", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return outOfTime(err)
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "Internal server error.", Err: err}
}

func outOfTime(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "The request ran out of time; try again.", Err: err}
}

// MaxBody is the largest request body accepted (1 MiB).
const MaxBody = 1 << 20

// ErrorHandler is echo's HTTPErrorHandler: every error leaves through it, as ErrorResponse.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		e := ToError(err)
		if e.Status == http.StatusInternalServerError && c.Request().Context().Err() != nil {
			// The request's deadline passed: whatever the store said (SQLite says
			// "interrupted", not context.DeadlineExceeded), that is why it failed.
			e = outOfTime(err)
		}
		if e.Status == http.StatusServiceUnavailable && e.RetryAfter <= 0 {
			e.RetryAfter = 1
		}
		if e.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
		if e.Status >= 500 {
			log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("route", c.Path()), slog.Int("status", e.Status), slog.String("error", err.Error()))
		}
		body := errorBody{StatusCode: e.Status, Code: e.Code, Error: http.StatusText(e.Status), Message: e.Message, Details: e.Details}
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(e.Status)
		} else {
			werr = c.JSON(e.Status, body)
		}
		if werr != nil {
			log.Warn("writing error response", slog.String("error", werr.Error()))
		}
	}
}
