package keyring

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Auth types of an MCP server's credentials.
const (
	AuthNone    = "none"
	AuthBearer  = "bearer"
	AuthHeaders = "headers"
	AuthOAuth   = "oauth"
)

// OAuth grants an MCP server's authorization server may be asked for.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
)

// Bounds of what an app may store for one server.
const (
	MaxHeaders     = 20
	MaxSecretBytes = 8 << 10
)

// Credentials are what an MCP server needs on every request: the plaintext that is sealed.
type Credentials struct {
	Type    string            `json:"type"`
	Token   string            `json:"token,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	OAuth   *OAuth            `json:"oauth,omitempty"`
}

// OAuth is how agentmcp gets tokens for a server that takes OAuth 2.1. Without ClientID
// it registers itself; with one, it authenticates with ClientSecret, with a JWT signed by
// PrivateKeyPEM (private_key_jwt), or not at all (a public client).
type OAuth struct {
	Grant            string   `json:"grant"`
	ClientID         string   `json:"clientId,omitempty"`
	ClientSecret     string   `json:"clientSecret,omitempty"`
	PrivateKeyPEM    string   `json:"privateKeyPem,omitempty"`
	SigningAlgorithm string   `json:"signingAlgorithm,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
}

// Names are the header names the credentials set, sorted (what responses show).
func (c Credentials) Names() []string {
	switch c.Type {
	case AuthBearer, AuthOAuth:
		return []string{"Authorization"}
	case AuthHeaders:
		out := make([]string, 0, len(c.Headers))
		for k := range c.Headers {
			out = append(out, http.CanonicalHeaderKey(k))
		}
		slices.Sort(out)
		return out
	}
	return nil
}

// Apply sets the credentials on an outgoing request's headers.
func (c Credentials) Apply(h http.Header) {
	switch c.Type {
	case AuthBearer:
		h.Set("Authorization", "Bearer "+c.Token)
	case AuthHeaders:
		for k, v := range c.Headers {
			h.Set(k, v)
		}
	}
}

// Marshal is the plaintext to seal.
func (c Credentials) Marshal() []byte {
	b, _ := json.Marshal(c)
	return b
}

// Unmarshal reads sealed plaintext back.
func Unmarshal(b []byte) (Credentials, error) {
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("credentials: %w", err)
	}
	return c, nil
}

// Problem is one invalid part of credentials, named as in the request body.
type Problem struct{ Field, Message string }

// forbidden are headers a credential may not set: hop-by-hop, framing, and MCP's own.
var forbidden = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Transfer-Encoding": true, "Upgrade": true,
	"Te": true, "Trailer": true, "Proxy-Authenticate": true, "Proxy-Authorization": true, "Host": true,
	"Content-Length": true, "Content-Type": true, "Accept": true, "Mcp-Session-Id": true, "Mcp-Protocol-Version": true,
	"Last-Event-Id": true,
}

// Validate lists every problem of c; field is where c sits in the body ("auth").
func (c Credentials) Validate(field string) []Problem {
	var ps []Problem
	switch c.Type {
	case AuthNone:
		if c.Token != "" || len(c.Headers) > 0 {
			ps = append(ps, Problem{field, `type "none" takes no token or headers`})
		}
	case AuthBearer:
		if len(c.Headers) > 0 {
			ps = append(ps, Problem{field + ".headers", `is not allowed with type "bearer"`})
		}
		switch {
		case c.Token == "":
			ps = append(ps, Problem{field + ".token", "is required"})
		case len(c.Token) > MaxSecretBytes:
			ps = append(ps, Problem{field + ".token", fmt.Sprintf("must be at most %d bytes", MaxSecretBytes)})
		case !printable(c.Token) || strings.ContainsAny(c.Token, " \t"):
			ps = append(ps, Problem{field + ".token", "must be printable ASCII without spaces"})
		}
	case AuthHeaders:
		if c.Token != "" {
			ps = append(ps, Problem{field + ".token", `is not allowed with type "headers"`})
		}
		if len(c.Headers) == 0 {
			ps = append(ps, Problem{field + ".headers", "needs at least one header"})
		}
		if len(c.Headers) > MaxHeaders {
			ps = append(ps, Problem{field + ".headers", fmt.Sprintf("must have at most %d headers", MaxHeaders)})
		}
		total, seen := 0, map[string]bool{}
		names := make([]string, 0, len(c.Headers))
		for k := range c.Headers {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			v := c.Headers[k]
			total += len(k) + len(v)
			f := field + ".headers." + k
			canon := http.CanonicalHeaderKey(k)
			switch {
			case !isToken(k):
				ps = append(ps, Problem{f, "is not a valid header name (RFC 9110 token)"})
			case forbidden[canon]:
				ps = append(ps, Problem{f, "cannot be set by credentials"})
			case seen[canon]:
				ps = append(ps, Problem{f, "is given twice (header names are case-insensitive)"})
			case v == "":
				ps = append(ps, Problem{f, "must not be empty"})
			case !printable(strings.ReplaceAll(v, "\t", " ")):
				ps = append(ps, Problem{f, "must be printable, without CR or LF"})
			}
			seen[canon] = true
		}
		if total > MaxSecretBytes {
			ps = append(ps, Problem{field + ".headers", fmt.Sprintf("must be at most %d bytes in all", MaxSecretBytes)})
		}
	case AuthOAuth:
		if c.Token != "" || len(c.Headers) > 0 {
			ps = append(ps, Problem{field, `type "oauth" takes no token or headers`})
		}
		ps = append(ps, c.OAuth.validate(field)...)
	default:
		ps = append(ps, Problem{field + ".type", `must be "none", "bearer", "headers" or "oauth"`})
	}
	return ps
}

// isToken: RFC 9110 token = 1*tchar.
func isToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// printable: visible ASCII and spaces, nothing else (no CR, LF or other controls).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Bounds of an OAuth configuration.
const (
	MaxScopes     = 50
	MaxScopeBytes = 200
)

func (o *OAuth) validate(field string) []Problem {
	if o == nil {
		return []Problem{{field + ".grant", "is required"}}
	}
	var ps []Problem
	switch o.Grant {
	case GrantAuthorizationCode:
	case GrantClientCredentials:
		if o.ClientID == "" {
			ps = append(ps, Problem{field + ".clientId", `is required with grant "client_credentials"`})
		}
		if o.ClientSecret == "" && o.PrivateKeyPEM == "" {
			ps = append(ps, Problem{field + ".clientSecret", `or privateKeyPem is required with grant "client_credentials"`})
		}
	default:
		ps = append(ps, Problem{field + ".grant", `must be "authorization_code" or "client_credentials"`})
	}
	if o.ClientID == "" && (o.ClientSecret != "" || o.PrivateKeyPEM != "") {
		ps = append(ps, Problem{field + ".clientId", "is required with a client secret or private key"})
	}
	if o.ClientSecret != "" && o.PrivateKeyPEM != "" {
		ps = append(ps, Problem{field + ".privateKeyPem", "is not allowed with clientSecret (one way to authenticate)"})
	}
	for name, v := range map[string]string{"clientId": o.ClientID, "clientSecret": o.ClientSecret} {
		if len(v) > MaxSecretBytes || !printable(v) {
			ps = append(ps, Problem{field + "." + name, fmt.Sprintf("must be printable ASCII of at most %d bytes", MaxSecretBytes)})
		}
	}
	if len(o.PrivateKeyPEM) > MaxSecretBytes {
		ps = append(ps, Problem{field + ".privateKeyPem", fmt.Sprintf("must be at most %d bytes", MaxSecretBytes)})
	} else if o.PrivateKeyPEM != "" {
		if _, err := ParsePrivateKey(o.PrivateKeyPEM, o.SigningAlgorithm); err != nil {
			ps = append(ps, Problem{field + ".privateKeyPem", err.Error()})
		}
	}
	if o.SigningAlgorithm != "" && o.PrivateKeyPEM == "" {
		ps = append(ps, Problem{field + ".signingAlgorithm", "is only used with privateKeyPem"})
	}
	if len(o.Scopes) > MaxScopes {
		ps = append(ps, Problem{field + ".scopes", fmt.Sprintf("must have at most %d scopes", MaxScopes)})
	}
	for i, sc := range o.Scopes {
		if sc == "" || len(sc) > MaxScopeBytes || !printable(sc) || strings.ContainsAny(sc, " \"\\") {
			ps = append(ps, Problem{fmt.Sprintf("%s.scopes.%d", field, i), "must be a scope token (printable, no space, quote or backslash)"})
		}
	}
	return ps
}
