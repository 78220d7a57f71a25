package docsui_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
)

// TestServersDropdown opens /docs in headless Chromium: the servers dropdown offers the
// server that serves the page (its real port, not the spec's :8080), in plain words.
func TestServersDropdown(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is missing in CI (.ci/run installs Debian's chromium)")
		}
		t.Skip("SKIPPED: chromium is not installed (apt-get install chromium)")
	}
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	if strings.HasSuffix(env.Server.URL, ":8080") {
		t.Skip("the test server got port 8080, the spec's own: the test could not tell them apart")
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(env.Server.URL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(".servers select")),
	); err != nil {
		t.Fatal(err)
	}
	options, err := chromedp.Run(ctx, chromedp.Evaluate[[][2]string](`Array.from(document.querySelectorAll(".servers select option")).map(o => [o.value, o.textContent])`))
	if err != nil {
		t.Fatal(err)
	}
	want := env.Server.URL + "/v3"
	if len(options) != 1 || options[0][0] != want {
		t.Fatalf("servers dropdown: %q; want only %s", options, want)
	}
	if text := options[0][1]; !strings.Contains(text, want) || strings.ContainsAny(text, "`") || strings.Contains(text, "8080") {
		t.Fatalf("servers dropdown shows %q", text)
	}
}
