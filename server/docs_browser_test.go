package server_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
)

// TestDocsPageInBrowser opens /docs in headless Chromium: every operation of openapi.yaml
// is on the page, and "try it out" with the Authorize key reaches the API with the apikey
// header. The screenshot goes to docs/api-reference.png when AGENTMCP_UPDATE_SCREENSHOT=1.
func TestDocsPageInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is missing in CI (.ci/run installs Debian's chromium)")
		}
		t.Skip("SKIPPED: chromium is not installed (apt-get install chromium)")
	}
	st := apitest.OpenSQLite(t)
	env := apitest.Start(t, st, app.Config{})
	seed(t, env.Client(t, env.KeyA), "from-the-browser")

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var mu sync.Mutex
	var violations []string // what the Content-Security-Policy refused: the page must need nothing of it
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "Content Security Policy") {
			mu.Lock()
			violations = append(violations, e.Entry.Text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(env.Server.URL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(".opblock")),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#swagger-ui")))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	spec := apitest.Spec(t)
	for path, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			if !strings.Contains(text, op.Summary) || !strings.Contains(text, path) {
				t.Errorf("the page lacks %s (%s %s)", op.OperationID, op.Summary, path)
			}
		}
	}
	// Every operationId of the file itself (the embedded spec keeps them too).
	raw, _ := os.ReadFile("../openapi.yaml")
	for _, line := range strings.Split(string(raw), "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "operationId: "); ok && !strings.Contains(text, id) {
			t.Errorf("the page lacks operationId %s", id)
		}
	}

	// Try it out: authorize with the key (as a user does, in the Authorize dialog), run
	// "List MCP Servers", see the seeded server.
	const op = "#operations-Agent_Builder_MCP_Servers-McpServersController_getAllMcpServers"
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(".auth-wrapper .btn.authorize")),
		chromedp.SendKeys(chromedp.CSS(".auth-container input"), env.KeyA),
		chromedp.Click(chromedp.CSS(".auth-btn-wrapper .btn.modal-btn.auth.authorize")),
		chromedp.Click(chromedp.CSS(".auth-btn-wrapper .btn-done")),
	); err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(op+" .opblock-summary")),
		chromedp.Click(chromedp.CSS(op+" .try-out__btn")),
		chromedp.Click(chromedp.CSS(op+" .execute")),
		chromedp.WaitVisible(chromedp.CSS(op+" .live-responses-table tbody .response-col_status")),
	); err != nil {
		t.Fatalf("try it out: %v", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(op+" .live-responses-table tbody .response-col_status")))
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(op+" .live-responses-table tbody .response-col_description")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "200") || !strings.Contains(body, "from-the-browser") {
		t.Fatalf("try it out answered %q: %.300s", status, body)
	}
	// The key lives in the tab's memory only: nothing of it in the page's storage.
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.assign({}, localStorage)) + JSON.stringify(Object.assign({}, sessionStorage)) + document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, env.KeyA) || strings.Contains(stored, env.KeyA[:12]) {
		t.Fatalf("the API key is kept in the browser's storage: %.300s", stored)
	}
	mu.Lock()
	if len(violations) > 0 {
		t.Errorf("the Content-Security-Policy blocked parts of the page:\n%s", strings.Join(violations, "\n"))
	}
	mu.Unlock()

	if _, err := png.Decode(bytes.NewReader(shot)); err != nil || len(shot) < 10000 {
		t.Fatalf("screenshot: %d bytes, %v", len(shot), err)
	}
	out := filepath.Join(t.TempDir(), "api-reference.png")
	if os.Getenv("AGENTMCP_UPDATE_SCREENSHOT") == "1" {
		out = "../docs/api-reference.png"
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
