package httpx

import "net/http"

// Every code of the ErrorResponse body, in one table beside its status. Handlers and
// middleware of every protocol pick from here; a test checks that each code is documented.
const (
	CodeValidation            = "ERR_VALIDATION"
	CodeInvalidJSON           = "ERR_INVALID_JSON"
	CodeUnsupportedMediaType  = "ERR_UNSUPPORTED_MEDIA_TYPE"
	CodePayloadTooLarge       = "ERR_PAYLOAD_TOO_LARGE"
	CodeNotFound              = "ERR_NOT_FOUND"
	CodeMethodNotAllowed      = "ERR_METHOD_NOT_ALLOWED"
	CodeMCPServerNotFound     = "ERR_MCP_SERVER_NOT_FOUND"
	CodeSlugAlreadyExists     = "ERR_SLUG_ALREADY_EXISTS"
	CodeAgentNotFound         = "ERR_AGENT_NOT_FOUND"
	CodeAgentAlreadyExists    = "ERR_AGENT_ALREADY_EXISTS"
	CodeKeyNotFound           = "ERR_KEY_NOT_FOUND"
	CodeGrantNotFound         = "ERR_GRANT_NOT_FOUND"
	CodeToolNameConflict      = "ERR_TOOL_NAME_CONFLICT"
	CodeToolChangeStale       = "ERR_TOOL_CHANGE_STALE"
	CodeNotProbed             = "ERR_NOT_PROBED"
	CodePreconditionFailed    = "ERR_PRECONDITION_FAILED"
	CodeIdempotencyKeyReused  = "ERR_IDEMPOTENCY_KEY_REUSED"
	CodeIdempotencyInProgress = "ERR_IDEMPOTENCY_IN_PROGRESS"
	CodeRateLimited           = "ERR_RATE_LIMITED"
	CodeHeadersTooLarge       = "ERR_HEADERS_TOO_LARGE"
	CodeLimitReached          = "ERR_LIMIT_REACHED"
	CodeEmptyAPIKey           = "AUTH_ERR_EMPTY_APIKEY"
	CodeAPIKeyNotFound        = "AUTH_ERR_APIKEY_NOT_FOUND"
	CodeNoAccess              = "AUTH_ERR_NO_ACCESS"
	CodeUnavailable           = "ERR_UNAVAILABLE"
	CodeInternal              = "ERR_INTERNAL"
	CodeNotOAuth              = "ERR_NOT_OAUTH"
	CodeOAuthUpstream         = "ERR_OAUTH_UPSTREAM"
)

// Codes maps every code to the status it is sent with.
var Codes = map[string]int{
	CodeValidation:            http.StatusBadRequest,
	CodeInvalidJSON:           http.StatusBadRequest,
	CodeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
	CodePayloadTooLarge:       http.StatusRequestEntityTooLarge,
	CodeNotFound:              http.StatusNotFound,
	CodeMethodNotAllowed:      http.StatusMethodNotAllowed,
	CodeMCPServerNotFound:     http.StatusNotFound, // also 400 when an agent names unknown servers
	CodeSlugAlreadyExists:     http.StatusConflict,
	CodeAgentNotFound:         http.StatusNotFound,
	CodeAgentAlreadyExists:    http.StatusConflict,
	CodeKeyNotFound:           http.StatusNotFound,
	CodeGrantNotFound:         http.StatusNotFound,
	CodeToolNameConflict:      http.StatusConflict,
	CodeToolChangeStale:       http.StatusConflict,
	CodeNotProbed:             http.StatusNotFound,
	CodePreconditionFailed:    http.StatusPreconditionFailed,
	CodeIdempotencyKeyReused:  http.StatusUnprocessableEntity,
	CodeIdempotencyInProgress: http.StatusConflict,
	CodeRateLimited:           http.StatusTooManyRequests,
	CodeHeadersTooLarge:       http.StatusRequestHeaderFieldsTooLarge,
	CodeLimitReached:          http.StatusBadRequest,
	CodeEmptyAPIKey:           http.StatusUnauthorized,
	CodeAPIKeyNotFound:        http.StatusUnauthorized,
	CodeNoAccess:              http.StatusForbidden,
	CodeUnavailable:           http.StatusServiceUnavailable,
	CodeNotOAuth:              http.StatusConflict,
	CodeOAuthUpstream:         http.StatusBadGateway,
	CodeInternal:              http.StatusInternalServerError,
}
