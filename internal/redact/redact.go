// Package redact takes the secrets out of URLs before they are shown: in errors, log lines
// and audit events. A URL's userinfo and its query and fragment values may be credentials
// (`https://user:pw@host/mcp?api_key=…`); its scheme, host, path and query keys are kept, so
// that the text still says which server and which parameter.
package redact

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Mask stands for every value taken out.
const Mask = "***"

// URL returns raw with its userinfo and every query and fragment value masked. Text that
// does not parse as a URL is masked from its first '?' or '@' on, so nothing is shown raw.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?@#"); i >= 0 {
			return raw[:i] + Mask
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User(Mask)
	}
	if u.RawQuery != "" {
		u.RawQuery = maskQuery(u.RawQuery)
	}
	if u.Fragment != "" || u.RawFragment != "" {
		u.Fragment, u.RawFragment = Mask, ""
	}
	// url.URL escapes "*" in userinfo; the mask reads better as it is.
	return strings.Replace(u.String(), "%2A%2A%2A@", Mask+"@", 1)
}

// maskQuery keeps each parameter's key, in order, with its value masked.
func maskQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		parts[i] = k + "=" + Mask
	}
	return strings.Join(parts, "&")
}

// urlInText finds the URLs that an error's text may hold (net/http quotes them).
var urlInText = regexp.MustCompile(`(?i)\b(?:https?|wss?)://[^\s"'<>` + "`" + `]+`)

// Text returns s with every URL in it passed through URL.
func Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, URL)
}

// Error returns err with its text redacted by Text; errors.Is and errors.As still see
// err and everything it wraps. nil stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var r *redacted
	if errors.As(err, &r) && r.msg == Text(err.Error()) {
		return err
	}
	return &redacted{err: err, msg: Text(err.Error())}
}

type redacted struct {
	err error
	msg string
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }
