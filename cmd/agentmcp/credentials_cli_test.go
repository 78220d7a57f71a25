package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLICredentials: servers create/update take credentials from files (never a plain
// flag), show only their type and header names, export no secret, and an import of that
// export keeps the stored secret; make run's local key file is made once, mode 0600.
func TestCLICredentials(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	p := startServe(t, db)
	key := p.printedKey(t)
	if !strings.Contains(p.stdout.String(), "created a random local secrets key in "+db+".secrets-key") {
		t.Fatalf("serve does not say it made the local key: %s", p.stdout)
	}
	if fi, err := os.Stat(db + ".secrets-key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("local key file: %v %v", fi, err)
	}
	secret := "cli-secret-" + strings.Repeat("z", 20)
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600)
	out, errOut, code := cli(t, p, key, "servers", "create", "--name", "S", "--slug", "s", "--server-url", "https://s.example.com/mcp", "--bearer-token-file", tokenFile, "-o", "json")
	if code != 0 || !strings.Contains(out, `"type":"bearer"`) || strings.Contains(out+errOut, secret) {
		t.Fatalf("create with a token file: %d %s %s", code, out, errOut)
	}
	valFile := filepath.Join(dir, "val")
	os.WriteFile(valFile, []byte(secret), 0o600)
	out, errOut, code = cli(t, p, key, "servers", "update", "s", "--header", "X-Api-Key: @"+valFile, "-o", "json")
	if code != 0 || !strings.Contains(out, `"headerNames":["X-Api-Key"]`) {
		t.Fatalf("update with a header: %d %s %s", code, out, errOut)
	}
	if _, errOut, code = cli(t, p, key, "servers", "update", "s", "--header", "X-A: @x", "--no-auth"); code != 2 {
		t.Fatalf("two kinds of auth at once: %d %s", code, errOut)
	}
	exp := filepath.Join(dir, "export.jsonl")
	if _, errOut, code = cli(t, p, key, "servers", "export", exp); code != 0 {
		t.Fatalf("export: %s", errOut)
	}
	b, _ := os.ReadFile(exp)
	if strings.Contains(string(b), secret) || !strings.Contains(string(b), `"headerNames":["X-Api-Key"]`) {
		t.Fatalf("export: %s", b)
	}
	if out, errOut, code = cli(t, p, key, "servers", "import", "--update", exp); code != 0 || !strings.Contains(out, "updated 1") {
		t.Fatalf("import of the export: %d %s %s", code, out, errOut)
	}
	out, _, _ = cli(t, p, key, "servers", "get", "s", "-o", "json")
	if !strings.Contains(out, `"headerNames":["X-Api-Key"]`) {
		t.Fatalf("the import dropped the stored credentials: %s", out)
	}
	if out, _, _ = cli(t, p, key, "servers", "get", "s"); !strings.Contains(out, "credentials:  headers (X-Api-Key)\n") {
		t.Fatalf("get's table does not show the credentials:\n%s", out)
	}
	// Into another app: the export holds no secret, so the import says which servers were
	// created without their credentials, and how to add them.
	other, _, code := runCmd(t, "apps", "create", "other", "--db", db)
	if code != 0 {
		t.Fatal("apps create other")
	}
	out, errOut, code = cli(t, p, strings.TrimSpace(other), "servers", "import", exp)
	if code != 0 || !strings.Contains(out, "created 1, updated 0, skipped 0 (already there)\n1 created without credentials") ||
		!strings.Contains(out, "\n  s: headers X-Api-Key\n") || !strings.Contains(out, "agentmcp servers update SLUG --bearer-token-file FILE") {
		t.Fatalf("import into another app: %d %s %s", code, out, errOut)
	}
	if out, _, code = cli(t, p, key, "servers", "update", "s", "--no-auth", "-o", "json"); code != 0 || strings.Contains(out, `"auth"`) {
		t.Fatalf("--no-auth: %d %s", code, out)
	}
	db2, _ := os.ReadFile(db)
	wal, _ := os.ReadFile(db + "-wal")
	if strings.Contains(string(db2)+string(wal)+p.stdout.String()+p.stderr.String(), secret) {
		t.Fatal("the secret is in the database file or the server's output")
	}
}
