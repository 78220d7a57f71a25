package rest

import (
	"errors"

	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// StoreError maps a storage error for the resource named by what (e.g. `MCP server "x"`);
// an outage (store.ErrUnavailable) is left to httpx.ToError, which makes it a 503.
func StoreError(err error, notFoundCode, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httpx.NewError(notFoundCode, "%s does not exist.", what)
	case errors.Is(err, store.ErrPreconditionFailed):
		return httpx.NewError(httpx.CodePreconditionFailed, "The resource changed since the given ETag; nothing was written.")
	}
	return err
}
