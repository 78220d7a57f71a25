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
}

// Names are the header names the credentials set, sorted (what responses show).
func (c Credentials) Names() []string {
	switch c.Type {
	case AuthBearer:
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
	default:
		ps = append(ps, Problem{field + ".type", `must be "none", "bearer" or "headers"`})
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
