package oauthclient

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
)

var page = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>agentmcp: {{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style>
</head><body><h1 id="outcome" data-connected="{{.Connected}}">{{.Title}}</h1><p>{{.Text}}</p></body></html>
`))

// CallbackHandler serves /oauth/callback: it completes the authorization and shows a small
// page saying whether the server is connected, or why not (never a secret).
func (s *Service) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app, slug, err := s.Callback(r.Context(), r.URL.Query())
		data := struct {
			Title, Text string
			Connected   bool
		}{Title: "Connected", Text: "agentmcp holds the tokens of MCP server " + slug + " now. You can close this window.", Connected: true}
		status := http.StatusOK
		if err != nil {
			status = http.StatusBadRequest
			data.Title, data.Connected = "Not connected", false
			switch {
			case errors.Is(err, ErrState):
				data.Text = "This authorization is unknown, was already used or has expired (they last 10 minutes). Start again from agentmcp."
			case errors.Is(err, ErrIssuer):
				data.Text = "The answer did not come from the server's authorization server (its issuer differs). Start again from agentmcp."
			case errors.Is(err, ErrDenied), errors.Is(err, ErrToken):
				data.Text = "The authorization server refused: " + err.Error() + ". Start again from agentmcp."
			default:
				status = http.StatusBadGateway
				data.Text = "agentmcp could not complete the authorization of " + slug + ". Start again from agentmcp."
				s.opt.Logger.Warn("upstream OAuth callback", slog.String("app_id", app), slog.String("slug", slug), slog.String("error", err.Error()))
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		w.WriteHeader(status)
		page.Execute(w, data)
	})
}

// MetadataHandler serves agentmcp's Client ID Metadata Document.
func (s *Service) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(s.Metadata())
	})
}
