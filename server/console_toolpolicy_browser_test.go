package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
)

// TestConsoleToolPolicy: on an agent's page a person restricts a server to one tool and
// renames it; the API stores exactly that, and a go-sdk client through the agent's gateway
// lists that tool under its new name (and the other server's), calls it, and cannot call
// the one left out. An invalid new name (400) and one that clashes (409) show the API's
// message at their field, keep what was typed, and leave the stored policy as it was. The agent's pinning is edited on its form.
func TestConsoleToolPolicy(t *testing.T) {
	root := startChromium(t)
	axe := axeSource(t)
	env, api := gatewayEnv(t, apitest.OpenSQLite(t))
	ctx := context.Background()
	calc, math := newUpstream(t, "calc", 2, "", nil), newUpstream(t, "math", 1, "", nil)
	for _, s := range []client.CreateMCPServer{{Name: "Calc", Slug: "calc", Url: calc.URL}, {Name: "Math", Slug: "math", Url: math.URL}} {
		must(api.CreateServer(ctx, s))(t)
		if p := must(api.ProbeServer(ctx, s.Slug))(t); p.Status != "ok" {
			t.Fatalf("probe of %s: %+v", s.Slug, p)
		}
	}
	must(api.CreateAgent(ctx, client.CreateAgent{Uid: ptr("bot"), Name: "Bot", McpServers: &[]string{"calc", "math"}}))(t)

	b := newTab(t, root)
	b.viewport(1280, 900)
	b.signIn(env.Server.URL+"/console/", env.KeyA, "2 servers shown.")

	b.open(env.Server.URL + "/console/#/agents/bot/edit")
	b.waitJS("the agent's form", `document.querySelector("#pinning")?.value === "enforce"`)
	b.choose("#pinning", "warn")
	b.click(button("Save changes"))
	b.waitText("Changed or new tool definitions are served and recorded")
	if g := must(api.GetAgent(ctx, "bot"))(t).Gateway; g.Pinning != "warn" || g.ToolNames != "prefixed" {
		t.Fatalf("after the form: %+v", g)
	}

	// Only calc_0 of calc, served as plus: with the keyboard alone.
	allow := func(slug, tool string) string {
		return `input[name="gateway.servers.` + slug + `.allow"][value="` + tool + `"]`
	}
	rename := func(slug, tool string) string {
		return `input[name="gateway.servers.` + slug + `.rename.` + tool + `"]`
	}
	editPolicy := func() {
		t.Helper()
		b.waitJS("Edit tool policy enabled (the agent loaded)", `!document.querySelector("#edit-policy").disabled`)
		b.click("#edit-policy")
		b.waitJS("focus on the first server's choice", `document.activeElement.id === "pol-calc-all" || document.activeElement.id === "pol-calc-only"`)
	}
	editPolicy()
	if !eval[bool](b, `document.querySelector(`+jsString(allow("calc", "calc_1"))+`).disabled`) {
		t.Fatal("every tool is allowed, yet its checkbox can be unchecked")
	}
	b.axe("tool policy editor", axe)
	b.keys("\u0301") // ArrowDown: "Only the checked tools"
	b.waitJS("the checkboxes enabled", `document.querySelector(`+jsString(allow("calc", "calc_1"))+`).disabled === false`)
	b.tabTo("input:New name for calc_0")
	b.keys("plus")
	b.tabTo("input:calc_1")
	b.keys(" ")
	b.waitJS("calc_1's new name disabled with it", `document.querySelector(`+jsString(rename("calc", "calc_1"))+`).disabled`)
	b.tabTo("button:Save tool policy")
	b.keys("\r")
	b.waitText("Saved the tool policy")
	b.waitText("calc_0 → plus")
	b.waitText("calc_1 (not in the allow-list)")
	b.waitJS("focus back on Edit tool policy", `document.activeElement.id === "edit-policy"`)
	if n := eval[int](b, `[...document.querySelectorAll("td[data-label=Tools]")].filter((x) => x.innerText.includes("Renamed:")).length`); n != 1 {
		t.Fatalf("%d servers say Renamed:, want calc alone", n)
	}
	want := must(api.GetAgent(ctx, "bot"))(t).Gateway
	if got, _ := json.Marshal(want.Servers); string(got) != `{"calc":{"allow":["calc_0"],"rename":{"calc_0":"plus"}}}` {
		t.Fatalf("stored policy %s", got)
	}

	cs := gatewayClient(t, env, "bot", env.KeyA, nil)
	var names []string
	for _, tool := range allTools(t, cs) {
		names = append(names, tool.Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"math__math_0", "plus"}) {
		t.Fatalf("the gateway lists %q", names)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "plus", Arguments: map[string]any{"n": 1}})
	if err != nil || res.IsError || text(res) != `calc_0:{"n":1}` {
		t.Fatalf("call plus: %+v, %v", res, err)
	}
	for _, name := range []string{"calc__calc_1", "calc_1", "calc__calc_0"} {
		if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{}}); err == nil && !res.IsError {
			t.Fatalf("call %s was served: %s", name, text(res))
		}
	}

	// math_0 renamed to "bad name", then to plus too: the API's 400, then its 409, at math_0's
	// field; nothing stored.
	editPolicy()
	b.waitJS("the editor with the stored policy", `document.querySelector(`+jsString(rename("calc", "calc_0"))+`)?.value === "plus"`)
	field := `document.querySelector(` + jsString(rename("math", "math_0")) + `)`
	b.fill(rename("math", "math_0"), "bad name")
	b.click(button("Save tool policy"))
	b.waitJS("the 400 at math_0's new name", field+`.getAttribute("aria-invalid") === "true" &&
		document.getElementById(`+field+`.getAttribute("aria-describedby")).innerText.includes("doesn't match the regular expression")`)
	b.replace(rename("math", "math_0"), "plus")
	b.click(button("Save tool policy"))
	b.waitJS("the 409 at math_0's new name", field+`.getAttribute("aria-invalid") === "true" &&
		document.getElementById(`+field+`.getAttribute("aria-describedby")).innerText.includes('"plus" is already the new name of gateway.servers.calc.rename.calc_0')`)
	b.waitJS("focus on the field", `document.activeElement === `+field)
	b.waitText("Not saved.")
	if v := eval[string](b, field+`.value`); v != "plus" {
		t.Fatalf("the field holds %q after the refusal", v)
	}
	after := must(api.GetAgent(ctx, "bot"))(t).Gateway
	if a, _ := json.Marshal(after); string(a) != string(must(json.Marshal(want))(t)) {
		t.Fatalf("stored after the refusal: %s", a)
	}
	b.axe("tool policy editor with an error", axe)
	eval[bool](b, `(() => { document.getElementById("servers-h").scrollIntoView(); return true })()`)
	b.shotViewport("console-tool-policy")
	b.viewport(390, 844) // a phone: no sideways scroll, readable in the dark theme
	b.noOverflow("the tool policy editor with an error")
	b.colorScheme("dark")
	b.axe("tool policy editor, dark, 390 px", axe)
	b.clean()
}
