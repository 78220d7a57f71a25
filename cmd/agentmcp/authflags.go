package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/client"
)

// authOptions are the credential flags of servers create and update. Secrets come from
// files or standard input, so they stay out of shell history and process listings.
type authOptions struct {
	tokenFile string
	headers   []string
	none      bool
	// OAuth (issue 33): the grant, and optionally a pre-registered client.
	oauth       string
	clientID    string
	secretFile  string
	keyFile     string
	signingAlg  string
	oauthScopes []string
}

func (a *authOptions) flags(cmd *cobra.Command, update bool) {
	f := cmd.Flags()
	f.StringVar(&a.tokenFile, "bearer-token-file", "", "send 'Authorization: Bearer <the file's content>' to the server ('-': standard input)")
	f.StringArrayVar(&a.headers, "header", nil, "send this header to the server: 'Name: @FILE' reads the value from FILE ('@-': standard input); repeat for more")
	if update {
		f.BoolVar(&a.none, "no-auth", false, "remove the server's stored credentials")
	}
	f.StringVar(&a.oauth, "oauth", "", "the server takes OAuth 2.1: authorization_code (connect it with 'servers connect') or client_credentials")
	f.StringVar(&a.clientID, "oauth-client-id", "", "with --oauth: a client registered with the authorization server (default: agentmcp registers itself)")
	f.StringVar(&a.secretFile, "oauth-client-secret-file", "", "with --oauth-client-id: the client's secret, from this file ('-': standard input)")
	f.StringVar(&a.keyFile, "oauth-private-key-file", "", "with --oauth-client-id: a PEM private key to authenticate with (private_key_jwt) ('-': standard input)")
	f.StringVar(&a.signingAlg, "oauth-signing-algorithm", "", "with --oauth-private-key-file: ES256, ES384, ES512, RS256, RS384 or RS512")
	f.StringArrayVar(&a.oauthScopes, "oauth-scope", nil, "with --oauth: a scope to ask for besides those the server names; repeat for more")
}

func (a *authOptions) given() bool {
	return a.tokenFile != "" || len(a.headers) > 0 || a.none || a.oauth != ""
}

// input builds the auth of a request (nil: none given); stdin is read at most once.
func (a *authOptions) input(stdin io.Reader) (*client.AuthInput, error) {
	n := 0
	for _, set := range []bool{a.tokenFile != "", len(a.headers) > 0, a.none, a.oauth != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("give one of --bearer-token-file, --header, --oauth or --no-auth")
	}
	usedStdin := false
	read := func(path string) (string, error) {
		var b []byte
		var err error
		if path == "-" {
			if usedStdin {
				return "", errors.New("standard input can give one secret only")
			}
			usedStdin = true
			b, err = io.ReadAll(io.LimitReader(stdin, 1<<16))
		} else {
			b, err = os.ReadFile(path)
		}
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	switch {
	case a.oauth != "":
		grant := client.AuthInputGrant(a.oauth)
		in := &client.AuthInput{Type: "oauth", Grant: &grant, Scopes: a.oauthScopes}
		if a.clientID != "" {
			in.ClientId = &a.clientID
		}
		if a.secretFile != "" {
			v, err := read(a.secretFile)
			if err != nil {
				return nil, fmt.Errorf("--oauth-client-secret-file: %w", err)
			}
			in.ClientSecret = &v
		}
		if a.keyFile != "" {
			v, err := read(a.keyFile)
			if err != nil {
				return nil, fmt.Errorf("--oauth-private-key-file: %w", err)
			}
			in.PrivateKeyPem = &v
		}
		if a.signingAlg != "" {
			alg := client.AuthInputSigningAlgorithm(a.signingAlg)
			in.SigningAlgorithm = &alg
		}
		return in, nil
	case a.none:
		return &client.AuthInput{Type: "none"}, nil
	case a.tokenFile != "":
		tok, err := read(a.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--bearer-token-file: %w", err)
		}
		return &client.AuthInput{Type: "bearer", Token: &tok}, nil
	case len(a.headers) > 0:
		hs := map[string]string{}
		for _, h := range a.headers {
			name, value, ok := strings.Cut(h, ":")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !ok || name == "" {
				return nil, fmt.Errorf("--header %q: want 'Name: @FILE'", name)
			}
			if strings.HasPrefix(value, "@") {
				v, err := read(value[1:])
				if err != nil {
					return nil, fmt.Errorf("--header %s: %w", name, err)
				}
				value = v
			}
			hs[name] = value
		}
		return &client.AuthInput{Type: "headers", Headers: hs}, nil
	}
	return nil, nil
}
