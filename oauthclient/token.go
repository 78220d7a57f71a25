package oauthclient

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agentmcp/agentmcp/keyring"
)

// Client authentication methods at the token endpoint.
const (
	authBasic = "client_secret_basic"
	authPost  = "client_secret_post"
	authNone  = "none"
	authJWT   = "private_key_jwt"
)

// client is who agentmcp is to one authorization server, and where it asks for tokens.
type client struct {
	ID         string `json:"id"`
	Secret     string `json:"secret,omitempty"`
	Method     string `json:"method"`
	KeyPEM     string `json:"key,omitempty"`
	Alg        string `json:"alg,omitempty"`
	TokenURL   string `json:"tokenUrl"`
	Issuer     string `json:"issuer"`
	Resource   string `json:"resource"`
	Registered bool   `json:"registered,omitempty"` // by agentmcp (DCR)
}

// tokenResponse is RFC 6749 §5.1, with §5.2's error.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// TokenError is the authorization server's refusal of a token request.
type TokenError struct {
	Status int
	Code   string // RFC 6749 §5.2 error, e.g. invalid_grant
}

func (e *TokenError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("token endpoint answered HTTP %d", e.Status)
	}
	return fmt.Sprintf("token endpoint answered HTTP %d %s", e.Status, e.Code)
}

func (e *TokenError) Unwrap() error { return ErrToken }

// maxTokenResponse bounds a token response.
const maxTokenResponse = 64 << 10

// token sends one token request (any grant) with the client's authentication. It is
// written by hand because the client assertion of private_key_jwt must be new on every
// request, refreshes included, which golang.org/x/oauth2 cannot send.
func (s *Service) token(ctx context.Context, c client, form url.Values) (tokenResponse, error) {
	switch c.Method {
	case authPost:
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	case authNone:
		form.Set("client_id", c.ID)
	case authJWT:
		assertion, err := s.assertion(c)
		if err != nil {
			return tokenResponse{}, err
		}
		form.Set("client_id", c.ID)
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", assertion)
	}
	if c.Resource != "" && form.Get("resource") == "" {
		form.Set("resource", c.Resource)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, wrap(ErrDiscovery, "token endpoint: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.Method == authBasic {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret)) // RFC 6749 §2.3.1
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		return tokenResponse{}, fmt.Errorf("token endpoint: %w", err)
	}
	if len(body) > maxTokenResponse {
		return tokenResponse{}, &TokenError{Status: resp.StatusCode, Code: "response_too_large"}
	}
	var tr tokenResponse
	jerr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK || tr.Error != "" {
		return tokenResponse{}, &TokenError{Status: resp.StatusCode, Code: safeCode(tr.Error)}
	}
	if jerr != nil || tr.AccessToken == "" {
		return tokenResponse{}, &TokenError{Status: resp.StatusCode, Code: "invalid_response"}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return tokenResponse{}, &TokenError{Status: resp.StatusCode, Code: "unsupported_token_type"}
	}
	return tr, nil
}

// safeCode keeps an error code only if it is the short token RFC 6749 allows (it is
// shown in health and errors; a server could put anything there).
func safeCode(code string) string {
	if len(code) > 64 {
		return "error"
	}
	for _, r := range code {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "error"
		}
	}
	return code
}

// assertion is a client assertion (RFC 7523 §2.2) signed with the client's key; its
// audience is the authorization server's issuer (RFC 7523bis), or the token endpoint.
func (s *Service) assertion(c client) (string, error) {
	key, err := keyring.ParsePrivateKey(c.KeyPEM, c.Alg)
	if err != nil {
		return "", fmt.Errorf("private key %s", err)
	}
	aud := c.Issuer
	if aud == "" {
		aud = c.TokenURL
	}
	now := s.opt.Now()
	header, _ := json.Marshal(map[string]string{"alg": key.Alg, "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"iss": c.ID, "sub": c.ID, "aud": aud, "jti": randomText(),
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	})
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sig, err := sign(key, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// sign makes a JWS signature: ECDSA as r‖s of the curve's size (RFC 7518 §3.4), RSA as
// PKCS #1 v1.5.
func sign(key keyring.PrivateKey, input []byte) ([]byte, error) {
	var h crypto.Hash
	switch key.Alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	default:
		return nil, fmt.Errorf("signing algorithm %q", key.Alg)
	}
	d := h.New()
	d.Write(input)
	digest := d.Sum(nil)
	switch k := key.Key.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			return nil, err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	case *rsa.PrivateKey:
		return rsa.SignPKCS1v15(rand.Reader, k, h, digest)
	}
	return nil, errors.New("unsupported key")
}
