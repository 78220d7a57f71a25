package client

import (
	"context"
	"net/http"

	"github.com/agentmcp/agentmcp/gen"
)

// Audit trail types.
type (
	AuditEvent     = gen.AuditEvent
	AuditEventList = gen.AuditEventList
)

// AuditOptions select a page of audit events, newest first.
type AuditOptions struct {
	Limit  int
	Before int64 // only events older than this id
	Target string
	Action string
}

// AuditEvents returns one page of the app's audit trail.
func (c *Client) AuditEvents(ctx context.Context, o AuditOptions) (*AuditEventList, error) {
	var p gen.AuditControllerGetAuditEventsParams
	if o.Limit > 0 {
		p.Limit = &o.Limit
	}
	if o.Before > 0 {
		p.Before = &o.Before
	}
	if o.Target != "" {
		p.Target = &o.Target
	}
	if o.Action != "" {
		a := gen.AuditAction(o.Action)
		p.Action = &a
	}
	r, err := c.c.AuditControllerGetAuditEventsWithResponse(ctx, &p)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}
