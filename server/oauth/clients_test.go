package oauth

import "testing"

// TestRedirectMatches: exact matching, but for the port of a loopback http redirect URI
// (RFC 8252 §7.3); nothing else about it may vary.
func TestRedirectMatches(t *testing.T) {
	registered := []string{"https://app.example/cb", "http://127.0.0.1/callback", "http://localhost:3000/cb?x=1", "com.example.app:/oauth"}
	for got, want := range map[string]bool{
		"https://app.example/cb":              true,
		"https://app.example/cb/":             false,
		"https://app.example:8443/cb":         false,
		"https://APP.example/cb":              false,
		"http://127.0.0.1:51234/callback":     true,
		"http://127.0.0.1/callback":           true,
		"http://127.0.0.1:51234/callback2":    false,
		"http://127.0.0.1:51234/callback?a=b": false,
		"http://127.0.0.1:5/callback#frag":    false,
		"http://u@127.0.0.1:5/callback":       false,
		"http://[::1]:51234/callback":         false, // another loopback host is another URI
		"http://localhost:1/cb?x=1":           true,
		"http://localhost:1/cb":               false,
		"com.example.app:/oauth":              true,
		"com.example.app:/other":              false,
	} {
		if redirectMatches(registered, got) != want {
			t.Errorf("redirectMatches(%q) = %v, want %v", got, !want, want)
		}
	}
}

// TestCheckRedirectURIs: https, http on loopback, or a private-use scheme with a dot.
func TestCheckRedirectURIs(t *testing.T) {
	for uri, ok := range map[string]bool{
		"https://app.example/cb":      true,
		"http://127.0.0.1:9/cb":       true,
		"http://[::1]/cb":             true,
		"http://localhost/cb":         true,
		"com.example.app:/oauth":      true,
		"http://app.example/cb":       false,
		"http://127.0.0.1.nip.io/cb":  false,
		"javascript:alert(1)":         false,
		"data:text/html,x":            false,
		"https://app.example/cb#x":    false,
		"https://user@app.example/cb": false,
		"/relative":                   false,
		"https:///nohost":             false,
	} {
		if err := checkRedirectURIs([]string{uri}); (err == nil) != ok {
			t.Errorf("checkRedirectURIs(%q) = %v, want ok %v", uri, err, ok)
		}
	}
}
