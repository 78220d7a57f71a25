package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/store"
)

// Error is an error with its place on the wire. Handlers and middleware return it; the
// one HTTPErrorHandler renders it. Err, the cause, is logged and never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []gen.ErrorDetail
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

func NewError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ValidationError lists every problem in details and in the message.
func ValidationError(details []gen.ErrorDetail) *Error {
	parts := make([]string, len(details))
	for i, d := range details {
		parts[i] = d.Field + ": " + d.Message
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeValidation,
		Message: "Validation failed: " + strings.Join(parts, "; "), Details: details}
}

// StoreError maps a storage error for the resource named by what (e.g. `MCP server "x"`).
func StoreError(err error, notFoundCode, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return NewError(http.StatusNotFound, notFoundCode, "%s does not exist.", what)
	case errors.Is(err, store.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "The store is unavailable; try again.", Err: err}
	case errors.Is(err, store.ErrPreconditionFailed):
		return NewError(http.StatusPreconditionFailed, CodePreconditionFailed, "The resource changed since the given ETag; nothing was written.")
	}
	return err
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
			return NewError(he.Code, CodeNotFound, "No route for this path.")
		case http.StatusMethodNotAllowed:
			return NewError(he.Code, CodeMethodNotAllowed, "Method not allowed for this path.")
		case http.StatusRequestEntityTooLarge:
			return NewError(he.Code, CodePayloadTooLarge, "The request body is larger than %d bytes.", MaxBody)
		case http.StatusUnsupportedMediaType:
			return NewError(he.Code, CodeUnsupportedMediaType, "Content-Type must be application/json.")
		case http.StatusBadRequest:
			// Only echo's binder gets here (the validator's errors are converted first).
			return &Error{Status: he.Code, Code: CodeInvalidJSON, Message: "Invalid request: body: not valid JSON", Err: err,
				Details: []gen.ErrorDetail{{Field: "body", Message: "not valid JSON"}}}
		}
		if he.Code >= 400 && he.Code < 500 {
			return &Error{Status: he.Code, Code: "ERR_" + strings.ToUpper(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")),
				Message: http.StatusText(he.Code) + ".", Err: err}
		}
	}
	if errors.Is(err, store.ErrUnavailable) {
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
		body := gen.ErrorResponse{StatusCode: e.Status, Code: e.Code, Error: http.StatusText(e.Status), Message: e.Message, Details: e.Details}
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

// patternMessages turns the schema patterns of openapi.yaml into words.
var patternMessages = map[string]string{
	`^[a-z0-9]([a-z0-9_-]{0,98}[a-z0-9])?$`: "must be 1 to 100 lower-case letters, digits, '-' or '_', starting and ending with a letter or digit",
	`\S`:                                    "must not be blank",
	`^https?://[^\s/?#@]+([/?#]\S*)?$`:      "must be an absolute http or https URL with a host and no user:password@ (store credentials with the auth field)",
	`^$|^https?://[^\s/?#]+([/?#]\S*)?$`:    "must be empty or an absolute http or https URL with a host",
	`^[!-~]+$`:                              "must be visible ASCII characters (no spaces)",
}

// validatorError converts what the kin-openapi request validator returned into one
// ERR_VALIDATION (or ERR_INVALID_JSON) error naming every offending field.
func validatorError(he *echo.HTTPError) *Error {
	if he.Internal == nil {
		return ToError(he) // route not found / method not allowed
	}
	var details []gen.ErrorDetail
	invalidJSON := false
	var walk func(err error, prefix string)
	walk = func(err error, prefix string) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(x, prefix)
			}
		case *openapi3filter.RequestError:
			switch {
			case e.Parameter != nil:
				prefix = e.Parameter.In + "." + e.Parameter.Name
			case e.RequestBody != nil:
				prefix = ""
			}
			var pe *openapi3filter.ParseError
			switch {
			case e.RequestBody != nil && errors.As(e.Err, &pe):
				invalidJSON = true
				details = append(details, gen.ErrorDetail{Field: "body", Message: "not valid JSON"})
			case e.Err == nil && e.RequestBody != nil:
				details = append(details, gen.ErrorDetail{Field: "body", Message: "a JSON body is required"})
			case e.Err == nil:
				details = append(details, gen.ErrorDetail{Field: prefix, Message: e.Reason})
			case errors.Is(e.Err, openapi3filter.ErrInvalidRequired) && e.RequestBody != nil:
				details = append(details, gen.ErrorDetail{Field: "body", Message: "a JSON body is required"})
			case errors.Is(e.Err, openapi3filter.ErrInvalidRequired):
				details = append(details, gen.ErrorDetail{Field: prefix, Message: "is required"})
			default:
				walk(e.Err, prefix)
			}
		case *openapi3.SchemaError:
			details = append(details, schemaDetail(e, prefix))
		case *openapi3filter.ParseError:
			details = append(details, gen.ErrorDetail{Field: orBody(prefix), Message: e.Error()})
		default:
			details = append(details, gen.ErrorDetail{Field: orBody(prefix), Message: err.Error()})
		}
	}
	walk(he.Internal, "")
	if invalidJSON {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "Invalid request: body: not valid JSON", Details: details}
	}
	if len(details) == 0 {
		details = []gen.ErrorDetail{{Field: "request", Message: he.Error()}}
	}
	return ValidationError(firstPerField(details))
}

// firstPerField keeps one problem per field (a bad URL breaks both its pattern and its
// format; one message says it).
func firstPerField(ds []gen.ErrorDetail) []gen.ErrorDetail {
	seen := make(map[string]bool, len(ds))
	out := ds[:0]
	for _, d := range ds {
		if !seen[d.Field] {
			seen[d.Field] = true
			out = append(out, d)
		}
	}
	return out
}

func orBody(field string) string {
	if field == "" {
		return "body"
	}
	return field
}

func schemaDetail(e *openapi3.SchemaError, prefix string) gen.ErrorDetail {
	ptr := e.JSONPointer()
	msg := e.Reason
	switch e.SchemaField {
	case "pattern":
		if m, ok := patternMessages[e.Schema.Pattern]; ok {
			msg = m
		}
	case "properties", "additionalProperties":
		if name, ok := quoted(e.Reason); ok {
			if len(ptr) == 0 || ptr[len(ptr)-1] != name {
				ptr = append(ptr, name)
			}
			msg = "is not a known property"
			if name == "slug" && len(ptr) == 1 {
				msg = "the slug cannot be changed; create a new MCP server instead"
			}
		}
	case "required":
		if name, ok := quoted(e.Reason); ok {
			if len(ptr) == 0 || ptr[len(ptr)-1] != name {
				ptr = append(ptr, name)
			}
			msg = "is required"
		}
	case "nullable":
		msg = "must not be null"
	}
	field := strings.Join(ptr, ".")
	if prefix != "" {
		if field == "" {
			field = prefix
		} else {
			field = prefix + "." + field
		}
	}
	return gen.ErrorDetail{Field: orBody(field), Message: msg}
}

// quoted returns the first "double-quoted" word of s.
func quoted(s string) (string, bool) {
	_, rest, ok := strings.Cut(s, `"`)
	if !ok {
		return "", false
	}
	name, _, ok := strings.Cut(rest, `"`)
	return name, ok
}
