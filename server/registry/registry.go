// Package registry serves each app's MCP servers and agents, read-only and without a key, as
// an MCP Registry (the official registry's v0.1 API), so that editors such as VS Code can
// browse and install them: {host}/registry/{appId} is the registry's base URL. An app's view
// is off until an admin turns it on; off, it answers exactly as an app that does not exist.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	v0 "github.com/modelcontextprotocol/registry/pkg/api/v0"

	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// Prefix is where the views are mounted: {Prefix}/{appId} is an app's registry base URL.
const Prefix = "/registry"

// Store is what the view reads.
type Store interface {
	ListRegistry(ctx context.Context, appID string, q store.RegistryQuery) (store.RegistryPage, error)
}

// Options configure Mount.
type Options struct {
	// PublicURL is agentmcp's base URL as editors reach it (e.g. https://mcp.example.com):
	// agents' gateway URLs and the namespace of names are made from it, never from a
	// request's Host or forwarding headers (a shared cache would keep what a forged one
	// made). Default: http://localhost (serve passes its --public-url, or its --addr).
	PublicURL string
	// Logger receives every 5xx. Default: discard.
	Logger *slog.Logger
}

// Bounds of the list parameters (the official registry's, where it has them).
const (
	defaultLimit = 30
	maxLimit     = 100
	maxSearch    = 200
	maxCursor    = maxName
)

var (
	appIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)
	slugPattern  = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,98}[a-z0-9])?$`)
	cursorPart   = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,200}$`)
)

type view struct {
	st     Store
	public *url.URL
	log    *slog.Logger
}

// Mount adds the views to e, behind mw (e.g. a rate limit), outside the API's
// authentication and validation. Every response of these routes, and only of these, allows
// any origin.
func Mount(e *echo.Echo, st Store, opt Options, mw ...echo.MiddlewareFunc) error {
	v := &view{st: st, log: opt.Logger}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	public := opt.PublicURL
	if public == "" {
		public = DefaultPublicURL
	}
	u, err := url.Parse(strings.TrimRight(public, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("registry: public URL %q: want an http(s) URL without user, query or fragment", opt.PublicURL)
	}
	v.public = u
	g := httpx.NewGroup(e, Prefix, append([]echo.MiddlewareFunc{cors, v.problems}, mw...)...)
	g.Any("/:app/v0.1/servers", readOnly(v.list))
	g.Any("/:app/v0.1/servers/*", readOnly(v.versions))
	g.Any("/*", readOnly(func(echo.Context) error { return problem(http.StatusNotFound, "Not found.") }))
	return nil
}

// DefaultPublicURL is Options.PublicURL when none is given.
const DefaultPublicURL = "http://localhost"

// namespace is the namespace of app's names and agentmcp's base URL, both from PublicURL.
func (v *view) namespace(app string) (ns, base string) {
	return Namespace(v.public.Host, app), v.public.Scheme + "://" + v.public.Host + v.public.Path
}

// errNoRegistry answers alike for an app that does not exist and one whose view is off.
var errNoRegistry = problem(http.StatusNotFound, "No MCP registry at this URL.")

func (v *view) read(c echo.Context, app string, q store.RegistryQuery) (store.RegistryPage, error) {
	if !appIDPattern.MatchString(app) {
		return store.RegistryPage{}, errNoRegistry
	}
	p, err := v.st.ListRegistry(c.Request().Context(), app, q)
	if errors.Is(err, store.ErrNotFound) {
		return p, errNoRegistry
	}
	return p, err
}

func (v *view) list(c echo.Context) error {
	app := c.Param("app")
	qs := c.QueryParams()
	var errs []errorDetail
	bad := func(loc, msg string, val any) {
		errs = append(errs, errorDetail{Location: "query." + loc, Message: msg, Value: val})
	}
	limit := defaultLimit
	if s := qs.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			bad("limit", "expected an integer", s)
		case n < 1 || n > maxLimit:
			bad("limit", fmt.Sprintf("expected a number from 1 to %d", maxLimit), n)
		default:
			limit = n
		}
	}
	search := strings.TrimSpace(qs.Get("search"))
	if len(search) > maxSearch {
		bad("search", fmt.Sprintf("expected at most %d bytes", maxSearch), nil)
	}
	var after string
	if cur := qs.Get("cursor"); cur != "" {
		_, after, _ = strings.Cut(cur, "/")
		if len(cur) > maxCursor || !cursorPart.MatchString(after) {
			bad("cursor", "not a cursor of this registry: pass metadata.nextCursor as it was", nil)
		}
	}
	var since int64
	if s := qs.Get("updated_since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil || len(s) > 64 {
			return problem(http.StatusBadRequest, "Invalid updated_since format: expected an RFC 3339 timestamp (e.g. 2025-08-07T13:15:04.280Z)",
				errorDetail{Location: "query.updated_since", Message: "expected an RFC 3339 timestamp"})
		}
		since = max(0, t.UnixMilli())
	}
	if s := qs.Get("include_deleted"); s != "" {
		if _, err := strconv.ParseBool(s); err != nil {
			bad("include_deleted", "expected a boolean", s)
		}
	}
	if len(errs) > 0 {
		return problem(http.StatusUnprocessableEntity, "validation failed", errs...)
	}

	q := store.RegistryQuery{Search: search, UpdatedSince: since, Limit: limit + 1, Servers: store.RegistryRange{After: after}}
	switch {
	case strings.HasPrefix(after, agentPrefix):
		q.Agents.After = strings.TrimPrefix(after, agentPrefix)
	case after > agentPrefix: // past every agent's name
		q.Agents.Skip = true
	}
	p, err := v.read(c, app, q)
	if err != nil {
		return err
	}
	ns, base := v.namespace(app)
	entries := merge(ns, base, p)
	out := listResponse{Servers: []serverResponse{}}
	if len(entries) > limit {
		entries = entries[:limit]
		out.Metadata.NextCursor = entries[limit-1].resp.Server.Name
	}
	// Every record has one version, its latest: ?version=latest keeps all, another only those at it.
	want := qs.Get("version")
	for _, e := range entries {
		if want == "" || want == "latest" || want == e.resp.Server.Version {
			out.Servers = append(out.Servers, e.resp)
		}
	}
	out.Metadata.Count = len(out.Servers)
	return c.JSON(http.StatusOK, out)
}

// merge orders a page's servers and agents by name.
func merge(ns, base string, p store.RegistryPage) []entry {
	out := make([]entry, 0, len(p.Servers)+len(p.Agents))
	for _, m := range p.Servers {
		out = append(out, serverEntry(ns, m))
	}
	for _, a := range p.Agents {
		out = append(out, agentEntry(ns, base, a))
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.part, b.part) })
	return out
}

// versions serves {name}/versions and {name}/versions/{version}; the name may come with its
// '/' escaped (as editors send it) or not.
func (v *view) versions(c echo.Context) error {
	app := c.Param("app")
	rest := strings.TrimPrefix(c.Request().URL.EscapedPath(), Prefix+"/"+url.PathEscape(app)+"/v0.1/servers/")
	segs := strings.Split(rest, "/")
	n := len(segs)
	var rawName, rawVersion string
	switch {
	case n >= 2 && segs[n-1] == "versions":
		rawName = strings.Join(segs[:n-1], "/")
	case n >= 3 && segs[n-2] == "versions":
		rawName, rawVersion = strings.Join(segs[:n-2], "/"), segs[n-1]
	default:
		if _, err := v.read(c, app, store.RegistryQuery{Servers: store.RegistryRange{Skip: true}, Agents: store.RegistryRange{Skip: true}}); err != nil {
			return err // no registry here, as on every route
		}
		return problem(http.StatusNotFound, "Not found.")
	}
	// EscapedPath is always validly escaped: these cannot fail.
	name, _ := url.PathUnescape(rawName)
	ver, _ := url.PathUnescape(rawVersion)

	q := store.RegistryQuery{Limit: 1, Servers: store.RegistryRange{Skip: true}, Agents: store.RegistryRange{Skip: true}}
	ns, base := v.namespace(app)
	gotNS, part, _ := strings.Cut(name, "/")
	switch {
	case gotNS != ns || len(name) > maxName:
	case strings.HasPrefix(part, agentPrefix) && slugPattern.MatchString(part[len(agentPrefix):]):
		q.Agents = store.RegistryRange{Key: part[len(agentPrefix):]}
	case slugPattern.MatchString(part):
		q.Servers = store.RegistryRange{Key: part}
	}
	p, err := v.read(c, app, q) // even for a name that cannot exist: same answer, same cost
	if err != nil {
		return err
	}
	entries := merge(ns, base, p)
	if len(entries) == 0 {
		return problem(http.StatusNotFound, "Server not found")
	}
	e := entries[0]
	switch ver {
	case "":
		return c.JSON(http.StatusOK, listResponse{Servers: []serverResponse{e.resp}, Metadata: v0.Metadata{Count: 1}})
	case "latest", e.resp.Server.Version:
		return c.JSON(http.StatusOK, e.resp)
	}
	return problem(http.StatusNotFound, "Server not found")
}
