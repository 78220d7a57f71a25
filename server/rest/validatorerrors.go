package rest

import (
	"errors"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/server/httpx"
)

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
func validatorError(he *echo.HTTPError) *httpx.Error {
	if he.Internal == nil {
		return httpx.ToError(he) // route not found / method not allowed
	}
	var details []httpx.Detail
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
				details = append(details, httpx.Detail{Field: "body", Message: "not valid JSON"})
			case e.Err == nil && e.RequestBody != nil:
				details = append(details, httpx.Detail{Field: "body", Message: "a JSON body is required"})
			case e.Err == nil:
				details = append(details, httpx.Detail{Field: prefix, Message: e.Reason})
			case errors.Is(e.Err, openapi3filter.ErrInvalidRequired) && e.RequestBody != nil:
				details = append(details, httpx.Detail{Field: "body", Message: "a JSON body is required"})
			case errors.Is(e.Err, openapi3filter.ErrInvalidRequired):
				details = append(details, httpx.Detail{Field: prefix, Message: "is required"})
			default:
				walk(e.Err, prefix)
			}
		case *openapi3.SchemaError:
			details = append(details, schemaDetail(e, prefix))
		case *openapi3filter.ParseError:
			details = append(details, httpx.Detail{Field: orBody(prefix), Message: e.Error()})
		default:
			details = append(details, httpx.Detail{Field: orBody(prefix), Message: err.Error()})
		}
	}
	walk(he.Internal, "")
	if invalidJSON {
		return &httpx.Error{Status: http.StatusBadRequest, Code: httpx.CodeInvalidJSON, Message: "Invalid request: body: not valid JSON", Details: details}
	}
	if len(details) == 0 {
		details = []httpx.Detail{{Field: "request", Message: he.Error()}}
	}
	return httpx.ValidationError(firstPerField(details))
}

// firstPerField keeps one problem per field (a bad URL breaks both its pattern and its
// format; one message says it).
func firstPerField(ds []httpx.Detail) []httpx.Detail {
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

func schemaDetail(e *openapi3.SchemaError, prefix string) httpx.Detail {
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
	return httpx.Detail{Field: orBody(field), Message: msg}
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
