package rest

import (
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/server/auth"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// Authenticate is the REST API's authentication, before request validation so that an
// anonymous caller learns nothing about the schema: the apikey header, a fullAccess key.
// The caller and the actor its writes are audited under go on the request's context.
func Authenticate(a *auth.Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			p, err := a.Authenticate(r.Context(), auth.APIKeyHeader(r.Header))
			switch {
			case errors.Is(err, auth.ErrMissing):
				return httpx.NewError(httpx.CodeEmptyAPIKey, "The apikey header is missing.")
			case errors.Is(err, auth.ErrInvalid):
				return httpx.NewError(httpx.CodeAPIKeyNotFound, "The API key is not valid.")
			case err != nil:
				return err // an outage: httpx.ToError makes it a 503
			case p.Scope != store.ScopeFullAccess:
				return httpx.NewError(httpx.CodeNoAccess, "The API key does not have access to this operation.")
			}
			actor := store.Actor{KeyID: p.KeyID, RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
			c.SetRequest(r.WithContext(store.WithActor(auth.NewContext(r.Context(), p), actor)))
			return next(c)
		}
	}
}
