package rest

import (
	"context"
	"fmt"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

func (h *Handler) AuditControllerGetAuditEvents(ctx context.Context, req gen.AuditControllerGetAuditEventsRequestObject) (gen.AuditControllerGetAuditEventsResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	q := store.AuditQuery{Limit: defaultLimit, Target: deref(req.Params.Target)}
	if req.Params.Limit != nil {
		q.Limit = *req.Params.Limit
	}
	if req.Params.Before != nil {
		q.Before = *req.Params.Before
	}
	if req.Params.Action != nil {
		q.Action = string(*req.Params.Action)
	}
	events, err := h.st.ListAuditEvents(ctx, app, q)
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	out := gen.AuditControllerGetAuditEvents200JSONResponse{Data: make([]gen.AuditEvent, len(events))}
	for i, e := range events {
		w := gen.AuditEvent{Id: e.ID, AppId: e.AppID, KeyId: e.KeyID, Action: gen.AuditAction(e.Action), Target: e.Target, At: e.At, RequestId: e.RequestID}
		for _, f := range []struct {
			src []byte
			dst **gen.AuditRecord
		}{{e.Before, &w.Before}, {e.After, &w.After}} {
			if f.src != nil {
				r := new(gen.AuditRecord)
				if err := r.UnmarshalJSON(store.UpgradeAuditJSON(f.src)); err != nil {
					return nil, fmt.Errorf("audit event %d: %w", e.ID, err)
				}
				*f.dst = r
			}
		}
		out.Data[i] = w
	}
	out.Meta.Current.Limit, out.Meta.Current.Count = q.Limit, len(events)
	if len(events) > 0 {
		out.Meta.Next = &struct {
			Before int64 `json:"before"`
		}{Before: events[len(events)-1].ID}
	}
	return out, nil
}
