package server_test

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// startChromium starts headless Chromium with a fresh profile, or skips (fails in CI) when
// it is not installed. The context lives until the test ends.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is missing in CI (.ci/run installs Debian's chromium)")
		}
		t.Skip("SKIPPED: chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1440, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first run starts the browser, under the test's whole lifetime (not a step's timeout).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// axeSource is axe-core's script from console/node_modules, or skips the test (fails it in CI)
// when it is not installed.
func axeSource(t *testing.T) string {
	t.Helper()
	js, err := os.ReadFile("../console/node_modules/axe-core/axe.min.js")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is missing: make test installs console/node_modules first: %v", err)
		}
		t.Skip("SKIPPED: console/node_modules/axe-core is not installed (make console installs it)")
	}
	return string(js)
}

// tab drives one browser tab; every step has a time limit and fails the test with what the
// page showed.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// pageProbe records, from before any script of the page runs, CSP violations and uncaught
// errors, so a test can assert there were none.
const pageProbe = `window.__csp = []; window.__errors = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));`

func newTab(t *testing.T, parent context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageProbe}); err != nil {
		t.Fatal(err)
	}
	// The console's copy buttons use the async clipboard, as a person's browser allows it.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// onNode picks the query by the selector's form: XPath when it starts with /, else CSS.
func onNode(s string, css func(chromedp.CSS) chromedp.Action[chromedp.Void], xpath func(chromedp.Search) chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	if strings.HasPrefix(s, "/") {
		return xpath(chromedp.Search(s))
	}
	return css(chromedp.CSS(s))
}

func (b *tab) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len(text) > 3000 {
		text = text[:3000] + "…"
	}
	b.t.Fatalf(format+"\n--- the page said:\n%s", append(args, text)...)
}

func (b *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 60*time.Second)
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("browser: %v", err)
	}
}

func (b *tab) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
}

// signIn signs in to the console at base (…/console/) with key, then waits until the servers
// list says shown (e.g. "2 servers shown."): after that nothing of the sign-in moves the page.
func (b *tab) signIn(base, key, shown string) {
	b.t.Helper()
	b.open(base)
	b.waitText("Sign in to agentmcp")
	b.fill("#main input[name=apikey]", key)
	b.keys("\r")
	b.waitText(shown)
}

// eval evaluates js (awaiting a promise) and decodes its value into T.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluating %s: %v", js, err)
	}
	return v
}

// waitJS waits until the expression is true.
func (b *tab) waitJS(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(45 * time.Second) // roomy: a loaded machine is slow
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.fail("waited 45 s for %s (%s): %v", what, js, err)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// waitView waits until a view's heading has taken focus, as the console does after each
// navigation but the first. The focus moves in an effect that runs after paint: a keyboard
// test that tabs before it lands has its keys taken from the field it reached.
func (b *tab) waitView(heading string) {
	b.t.Helper()
	b.waitJS("focus on the heading "+heading, `(() => { const e = document.activeElement;
		return !!e && e.tagName === "H1" && e.innerText.includes(`+jsString(heading)+`) })()`)
}

// waitText waits until the main region's text contains want.
func (b *tab) waitText(want string) {
	b.t.Helper()
	b.waitJS("the text "+want, `document.body && document.body.innerText.includes(`+jsString(want)+`)`)
}

func (b *tab) text(css string) string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector(`+jsString(css)+`) || {innerText: ""}).innerText`)
}

func (b *tab) click(s string) {
	b.t.Helper()
	b.do(onNode(s,
		func(c chromedp.CSS) chromedp.Action[chromedp.Void] { return chromedp.Click(c, chromedp.NodeVisible) },
		func(x chromedp.Search) chromedp.Action[chromedp.Void] { return chromedp.Click(x, chromedp.NodeVisible) }))
}

// button is the XPath of a button or link with this exact text.
func button(text string) string {
	return `//*[(self::button or self::a) and normalize-space()=` + xpathString(text) + `]`
}

// fill types text into an empty field, key by key, as a person does. Keys that went to a
// view's heading taking focus meanwhile (see replace) are typed again.
func (b *tab) fill(css, text string) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS(css), text))
	if got := eval[string](b, `document.querySelector(`+jsString(css)+`).value`); got != text {
		b.replace(css, text)
	}
}

// replace selects what a field holds and types text over it.
// A view's heading takes focus in an effect after paint (waitView): keys typed before it
// lands go to the heading, so replace checks what the field holds and types again.
func (b *tab) replace(css, text string) {
	b.t.Helper()
	for try := 1; ; try++ {
		eval[bool](b, `(() => { const el = document.querySelector(`+jsString(css)+`); el.focus(); el.select(); return true })()`)
		b.keys(cmp.Or(text, "\b"))
		got := eval[string](b, `document.querySelector(`+jsString(css)+`).value`)
		if got == text {
			return
		}
		if try == 3 {
			b.t.Fatalf("typed %q into %s, which holds %q (focus on %s)", text, css, got, b.focused())
		}
	}
}

// keys sends key presses to whatever has focus.
func (b *tab) keys(k string) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(k))
}

// choose picks an option of a select, as the keyboard would (a change event).
func (b *tab) choose(css, value string) {
	b.t.Helper()
	eval[bool](b, `(() => { const el = document.querySelector(`+jsString(css)+`); el.value = `+jsString(value)+`; el.dispatchEvent(new Event("change", {bubbles: true})); return true })()`)
}

// focused describes the focused element: its tag, its text or label, for keyboard tests.
func (b *tab) focused() string {
	b.t.Helper()
	return eval[string](b, `(() => { const e = document.activeElement; if (!e) return "";
		const label = e.labels && e.labels[0] ? e.labels[0].innerText : "";
		return e.tagName.toLowerCase() + ":" + (label || e.getAttribute("aria-label") || e.innerText || e.value || "").trim() })()`)
}

// tabTo presses Tab until the focused element's description contains want (at most 60 times).
func (b *tab) tabTo(want string) {
	b.t.Helper()
	seen := []string{}
	for range 60 {
		b.keys("\t")
		f := b.focused()
		if strings.Contains(f, want) {
			return
		}
		seen = append(seen, f)
	}
	b.fail("Tab never reached %q; focus went through %q", want, seen)
}

func (b *tab) viewport(w, h int64) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(w, h))
}

func (b *tab) colorScheme(scheme string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		b.t.Fatal(err)
	}
}

// clean fails the test on any CSP violation or uncaught error the page has had.
func (b *tab) clean() {
	b.t.Helper()
	if v := eval[[]string](b, `window.__csp || []`); len(v) > 0 {
		b.fail("Content-Security-Policy violations: %q", v)
	}
	if v := eval[[]string](b, `window.__errors || []`); len(v) > 0 {
		b.fail("uncaught errors: %q", v)
	}
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe runs axe-core on the page and fails on every serious or critical violation.
func (b *tab) axe(where string, source string) {
	b.t.Helper()
	eval[bool](b, `typeof axe !== "undefined" || (() => { `+source+`; return true })()`)
	out := eval[[]axeViolation](b, `axe.run(document, {resultTypes: ["violations"]}).then((r) => r.violations
		.filter((v) => v.impact === "serious" || v.impact === "critical")
		.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))})))`)
	for _, v := range out {
		b.t.Errorf("axe on %s: %s (%s): %s at %q", where, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// noOverflow fails when the page is wider than the viewport (a sideways scroll on a phone).
func (b *tab) noOverflow(where string) {
	b.t.Helper()
	w := eval[[2]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`)
	if w[0] > w[1] {
		wide := eval[[]string](b, `[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
			.slice(0, 5).map((e) => e.tagName + "." + e.className + " " + (e.innerText || "").slice(0, 40))`)
		b.t.Errorf("%s at %d px: the page is %d px wide; too wide: %q", where, w[1], w[0], wide)
	}
}

// shotViewport is shot of what the viewport shows (a phone's screen).
func (b *tab) shotViewport(name string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	b.save(name, png, err)
}

// shot saves a full-page screenshot as docs/<name>.png under make screenshot, else in a
// temporary directory (so the capture itself is exercised).
func (b *tab) shot(name string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	b.save(name, png, err)
}

func (b *tab) save(name string, png []byte, err error) {
	b.t.Helper()
	if err != nil || len(png) < 5000 {
		b.t.Fatalf("screenshot %s: %d bytes, %v", name, len(png), err)
	}
	dir := b.t.TempDir()
	if os.Getenv("AGENTMCP_UPDATE_SCREENSHOT") == "1" {
		dir = "../docs"
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func jsString(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return `'` + s + `'`
}
