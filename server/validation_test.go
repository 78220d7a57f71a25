package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// snapshot is everything app holds, to prove a rejected request changed nothing.
func snapshot(t *testing.T, st store.Store, app string) string {
	t.Helper()
	all, err := st.ListMCPServers(context.Background(), app, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%+v", all)
}

func TestValidation(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env := apitest.Start(t, st, app.Config{})
	const base = "/ai-agents/agent-builder/mcp-servers"
	if status, body := env.Raw(t, http.MethodPost, base, env.KeyA, "application/json",
		strings.NewReader(`{"name":"Existing","slug":"existing","url":"https://e.example.com","description":"keep","icon":"https://e.example.com/i.png"}`)); status != http.StatusCreated {
		t.Fatalf("seed: %d %s", status, body)
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	longURL := "https://example.com/" + long(2048-len("https://example.com/")+1)

	cases := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		status      int
		code        string
		fields      string // sorted, comma-separated
		message     string // a substring of the message
	}{
		{"missing required", "POST", base, "", `{}`, 400, httpx.CodeValidation, "name,slug,url", "is required"},
		{"blank name", "POST", base, "", `{"name":"   ","slug":"ok","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "name", "must not be blank"},
		{"empty name", "POST", base, "", `{"name":"","slug":"ok","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "name", "name:"},
		{"name too long", "POST", base, "", `{"name":"` + long(101) + `","slug":"ok","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "name", "name:"},
		{"name of 100 multi-byte runes is fine", "POST", base, "", `{"name":"` + strings.Repeat("日", 100) + `","slug":"runes","url":"https://x.example.com"}`, 201, "", "", ""},
		{"description too long", "POST", base, "", `{"name":"n","slug":"ok","url":"https://x.example.com","description":"` + long(1001) + `"}`, 400, httpx.CodeValidation, "description", "description:"},
		{"slug upper case", "POST", base, "", `{"name":"n","slug":"Bad","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "slug", "lower-case"},
		{"slug leading dash", "POST", base, "", `{"name":"n","slug":"-bad","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "slug", "slug:"},
		{"slug trailing underscore", "POST", base, "", `{"name":"n","slug":"bad_","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "slug", "slug:"},
		{"slug too long", "POST", base, "", `{"name":"n","slug":"` + long(101) + `","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "slug", "slug:"},
		{"slug with a slash", "POST", base, "", `{"name":"n","slug":"a/b","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "slug", "slug:"},
		{"slug empty", "POST", base, "", `{"name":"n","slug":"","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "slug", "slug:"},
		{"url relative", "POST", base, "", `{"name":"n","slug":"ok","url":"/mcp"}`, 400, httpx.CodeValidation, "url", "absolute http or https"},
		{"url ftp", "POST", base, "", `{"name":"n","slug":"ok","url":"ftp://x.example.com"}`, 400, httpx.CodeValidation, "url", "url:"},
		{"url without host", "POST", base, "", `{"name":"n","slug":"ok","url":"http:///mcp"}`, 400, httpx.CodeValidation, "url", "url:"},
		{"url with a space", "POST", base, "", `{"name":"n","slug":"ok","url":"https://x.example.com/a b"}`, 400, httpx.CodeValidation, "url", "url:"},
		{"url bad IPv6", "POST", base, "", `{"name":"n","slug":"ok","url":"http://[::1/mcp"}`, 400, httpx.CodeValidation, "url", "url:"},
		{"url too long", "POST", base, "", `{"name":"n","slug":"ok","url":"` + longURL + `"}`, 400, httpx.CodeValidation, "url", "url:"},
		{"url empty", "POST", base, "", `{"name":"n","slug":"ok","url":""}`, 400, httpx.CodeValidation, "url", "url:"},
		{"icon not a URL", "POST", base, "", `{"name":"n","slug":"ok","url":"https://x.example.com","icon":"icon.png"}`, 400, httpx.CodeValidation, "icon", "icon:"},
		{"icon empty is fine", "POST", base, "", `{"name":"n","slug":"icon-empty","url":"https://x.example.com","icon":""}`, 201, "", "", ""},
		{"unknown property", "POST", base, "", `{"name":"n","slug":"ok","url":"https://x.example.com","transport":"sse"}`, 400, httpx.CodeValidation, "transport", "not a known property"},
		{"case-variant property", "POST", base, "", `{"NAME":"n","name":"n","slug":"ok","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "NAME", "not a known property"},
		{"null field", "POST", base, "", `{"name":"n","slug":"ok","url":"https://x.example.com","description":null}`, 400, httpx.CodeValidation, "description", "must not be null"},
		{"wrong type", "POST", base, "", `{"name":5,"slug":"ok","url":"https://x.example.com"}`, 400, httpx.CodeValidation, "name", "name:"},
		{"every problem at once", "POST", base, "", `{"name":"","slug":"BAD","url":"nope","icon":"x","description":"` + long(1001) + `","extra":1}`, 400, httpx.CodeValidation, "description,extra,icon,name,slug,url", "Validation failed"},
		{"body is an array", "POST", base, "", `[]`, 400, httpx.CodeValidation, "body", "body:"},
		{"bad JSON", "POST", base, "", `{"name":`, 400, httpx.CodeInvalidJSON, "body", "not valid JSON"},
		{"trailing garbage", "POST", base, "", `{"name":"n","slug":"ok","url":"https://x.example.com"} x`, 400, httpx.CodeInvalidJSON, "body", "not valid JSON"},
		{"empty body", "POST", base, "-", ``, 400, httpx.CodeValidation, "body", "a JSON body is required"},
		{"wrong content type", "POST", base, "text/plain", `{"name":"n","slug":"ok","url":"https://x.example.com"}`, 415, httpx.CodeUnsupportedMediaType, "", "application/json"},
		{"form content type", "POST", base, "application/x-www-form-urlencoded", `name=n`, 415, httpx.CodeUnsupportedMediaType, "", "application/json"},
		{"json with charset is fine", "POST", base, "application/json; charset=utf-8", `{"name":"n","slug":"charset","url":"https://x.example.com"}`, 201, "", "", ""},
		{"duplicate slug", "POST", base, "", `{"name":"n","slug":"existing","url":"https://x.example.com"}`, 409, httpx.CodeSlugAlreadyExists, "", "existing"},

		{"patch slug", "PATCH", base + "/existing", "", `{"slug":"renamed"}`, 400, httpx.CodeValidation, "slug", "cannot be changed"},
		{"patch null", "PATCH", base + "/existing", "", `{"name":null}`, 400, httpx.CodeValidation, "name", "must not be null"},
		{"patch blank name", "PATCH", base + "/existing", "", `{"name":" "}`, 400, httpx.CodeValidation, "name", "blank"},
		{"patch empty url", "PATCH", base + "/existing", "", `{"url":""}`, 400, httpx.CodeValidation, "url", "url:"},
		{"patch bad icon and url", "PATCH", base + "/existing", "", `{"icon":"x","url":"x"}`, 400, httpx.CodeValidation, "icon,url", "Validation failed"},
		{"patch unknown property", "PATCH", base + "/existing", "", `{"extra":true}`, 400, httpx.CodeValidation, "extra", "not a known property"},
		{"patch bad JSON", "PATCH", base + "/existing", "", `{`, 400, httpx.CodeInvalidJSON, "body", "not valid JSON"},
		{"patch bad slug in path", "PATCH", base + "/NOPE", "", `{"name":"n"}`, 400, httpx.CodeValidation, "path.slug", "lower-case"},

		{"limit zero", "GET", base + "?limit=0", "", ``, 400, httpx.CodeValidation, "query.limit", "query.limit"},
		{"limit over 100", "GET", base + "?limit=101", "", ``, 400, httpx.CodeValidation, "query.limit", "query.limit"},
		{"limit not a number", "GET", base + "?limit=ten", "", ``, 400, httpx.CodeValidation, "query.limit", "query.limit"},
		{"affix unknown", "GET", base + "?affix=before&createdAt=1", "", ``, 400, httpx.CodeValidation, "query.affix", "query.affix"},
		{"affix without createdAt", "GET", base + "?affix=append", "", ``, 400, httpx.CodeValidation, "query.createdAt", "required with affix"},
		{"createdAt without affix", "GET", base + "?createdAt=1700000000000", "", ``, 400, httpx.CodeValidation, "query.affix", "required with createdAt"},
		{"createdAt negative", "GET", base + "?affix=append&createdAt=-1", "", ``, 400, httpx.CodeValidation, "query.createdAt", "query.createdAt"},
		{"several bad params", "GET", base + "?limit=0&affix=x&createdAt=y", "", ``, 400, httpx.CodeValidation, "query.affix,query.createdAt,query.limit", "Validation failed"},
		{"limit 100 is fine", "GET", base + "?limit=100", "", ``, 200, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, st, env.AppA)
			ct := tc.contentType
			switch ct {
			case "":
				if tc.method != http.MethodGet {
					ct = "application/json"
				}
			case "-":
				ct = ""
			}
			status, body := env.Raw(t, tc.method, tc.path, env.KeyA, ct, strings.NewReader(tc.body))
			if tc.code == "" {
				if status != tc.status {
					t.Fatalf("status %d, want %d: %s", status, tc.status, body)
				}
				return
			}
			e := wantError(t, status, body, tc.status, tc.code)
			if got := strings.Join(apitest.Fields(e), ","); got != tc.fields {
				t.Errorf("fields %q, want %q (%s)", got, tc.fields, body)
			}
			if !strings.Contains(e.Message, tc.message) {
				t.Errorf("message %q does not say %q", e.Message, tc.message)
			}
			for _, d := range e.Details {
				if !strings.Contains(e.Message, d.Field+": "+d.Message) {
					t.Errorf("message %q leaves out %s: %s", e.Message, d.Field, d.Message)
				}
			}
			if after := snapshot(t, st, env.AppA); after != before {
				t.Errorf("a rejected request changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestServerLimit(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env := apitest.Start(t, st, app.Config{MaxServersPerApp: 2})
	c := env.Client(t, env.KeyA)
	seed(t, c, "one")
	seed(t, c, "two")
	before := snapshot(t, st, env.AppA)
	status, body := env.Raw(t, http.MethodPost, "/ai-agents/agent-builder/mcp-servers", env.KeyA, "application/json",
		strings.NewReader(`{"name":"3","slug":"three","url":"https://3.example.com"}`))
	wantError(t, status, body, http.StatusBadRequest, httpx.CodeLimitReached)
	if snapshot(t, st, env.AppA) != before {
		t.Fatal("a refused create wrote something")
	}
	seed(t, env.Client(t, env.KeyB), "three") // another app has its own limit
	if err := c.DeleteServer(context.Background(), "one"); err != nil {
		t.Fatal(err)
	}
	seed(t, c, "three")
}
