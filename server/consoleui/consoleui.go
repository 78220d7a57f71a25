// Package consoleui is the web console served at /console: the files that console/ builds
// (make console) with Vite, embedded so the binary serves them offline. It only serves them;
// the console itself talks to the public API (/v3) like any other client.
package consoleui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed dist
var files embed.FS

// Files is the built console: index.html, favicon.svg and assets/ (names with content hashes).
var Files, _ = fs.Sub(files, "dist")

// Handler serves the console below prefix (e.g. "/console"): prefix and prefix+"/" are
// index.html; assets are cached for good, as their names change with their content.
// Every answer carries a strict Content-Security-Policy (no inline script or style, nothing
// from another origin), and forbids framing, sniffing and referrers.
func Handler(prefix string) http.Handler {
	static := http.StripPrefix(prefix+"/", http.FileServerFS(Files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		p := r.URL.Path
		switch {
		case p == prefix || p == prefix+"/" || p == prefix+"/index.html":
			// index.html names the current assets: always revalidated.
			h.Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, Files, "index.html")
		case strings.HasSuffix(p, "/"): // no directory listings
			http.NotFound(w, r)
		case strings.HasPrefix(p, prefix+"/assets/"):
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
			static.ServeHTTP(w, r)
		default:
			h.Set("Cache-Control", "no-cache")
			static.ServeHTTP(w, r)
		}
	})
}
