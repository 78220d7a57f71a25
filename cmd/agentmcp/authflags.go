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
}

func (a *authOptions) flags(cmd *cobra.Command, update bool) {
	f := cmd.Flags()
	f.StringVar(&a.tokenFile, "bearer-token-file", "", "send 'Authorization: Bearer <the file's content>' to the server ('-': standard input)")
	f.StringArrayVar(&a.headers, "header", nil, "send this header to the server: 'Name: @FILE' reads the value from FILE ('@-': standard input); repeat for more")
	if update {
		f.BoolVar(&a.none, "no-auth", false, "remove the server's stored credentials")
	}
}

func (a *authOptions) given() bool { return a.tokenFile != "" || len(a.headers) > 0 || a.none }

// input builds the auth of a request (nil: none given); stdin is read at most once.
func (a *authOptions) input(stdin io.Reader) (*client.AuthInput, error) {
	n := 0
	for _, set := range []bool{a.tokenFile != "", len(a.headers) > 0, a.none} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("give one of --bearer-token-file, --header or --no-auth")
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
