package auth

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// verifierFunc is a Verifier from a function.
type verifierFunc func(context.Context, string) (Principal, error)

func (f verifierFunc) Verify(ctx context.Context, c string) (Principal, error) { return f(ctx, c) }

// TestAuthenticatorTriesVerifiersInOrder: the first verifier that does not answer ErrInvalid
// decides, so a second kind of token (OAuth access tokens) plugs in beside API keys; an
// outage of one is not turned into "invalid".
func TestAuthenticatorTriesVerifiersInOrder(t *testing.T) {
	down := errors.New("store down")
	keys := verifierFunc(func(_ context.Context, c string) (Principal, error) {
		switch c {
		case "amk_good":
			return Principal{AppID: "a", KeyID: "k"}, nil
		case "amk_down":
			return Principal{}, down
		}
		return Principal{}, ErrInvalid
	})
	tokens := verifierFunc(func(_ context.Context, c string) (Principal, error) {
		if c == "at_good" {
			return Principal{AppID: "b", KeyID: "t"}, nil
		}
		return Principal{}, ErrInvalid
	})
	a := New(keys, tokens)
	ctx := context.Background()
	for _, c := range []struct {
		cred, app string
		err       error
	}{{"amk_good", "a", nil}, {"at_good", "b", nil}, {"nope", "", ErrInvalid}, {"", "", ErrMissing}, {"amk_down", "", down}} {
		p, err := a.Authenticate(ctx, c.cred)
		if !errors.Is(err, c.err) || p.AppID != c.app {
			t.Errorf("Authenticate(%q) = %+v, %v; want app %q, %v", c.cred, p, err, c.app, c.err)
		}
	}
}

// TestCredential: apikey wins; otherwise a Bearer token, whatever the scheme's case.
func TestCredential(t *testing.T) {
	for _, c := range []struct {
		h    http.Header
		want string
	}{
		{http.Header{"Apikey": {"k1"}, "Authorization": {"Bearer k2"}}, "k1"},
		{http.Header{"Authorization": {"bearer  k2 "}}, "k2"},
		{http.Header{"Authorization": {"Basic k2"}}, ""},
		{http.Header{"Authorization": {"Bearer"}}, ""},
		{http.Header{}, ""},
	} {
		if got := Credential(c.h); got != c.want {
			t.Errorf("Credential(%v) = %q, want %q", c.h, got, c.want)
		}
	}
}
