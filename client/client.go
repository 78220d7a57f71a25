// Package client is the Go client of agentmcp (and of CometChat's Agent Builder MCP
// servers API): domain-shaped methods over the client generated from openapi.yaml.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"github.com/agentmcp/agentmcp/gen"
)

// Wire types, re-exported so that callers need not import gen.
type (
	MCPServer       = gen.McpServer
	MCPServerList   = gen.McpServerList
	CreateMCPServer = gen.CreateMcpServerDto
	UpdateMCPServer = gen.UpdateMcpServerDto
	AuthInput       = gen.McpServerAuthInput
	// AuthInputGrant and AuthInputSigningAlgorithm are the OAuth fields of AuthInput.
	AuthInputGrant            = gen.McpServerAuthInputGrant
	AuthInputSigningAlgorithm = gen.McpServerAuthInputSigningAlgorithm
	MCPServerAuth             = gen.McpServerAuth
	ErrorDetail               = gen.ErrorDetail
	MCPServerHealth           = gen.McpServerHealth
	PageMeta                  = gen.PageMeta
)

// Sentinels for errors.Is on an *Error.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrValidation   = errors.New("validation failed")
)

// Error is a failed call: the API's ErrorResponse, or the status alone when the body was
// not one.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []ErrorDetail
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "agentmcp: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) and friends work on an *Error.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrValidation:
		return e.Status == http.StatusBadRequest
	}
	return false
}

func apiError(status int, body []byte) error {
	var r gen.ErrorResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Code == "" {
		return &Error{Status: status, Message: strings.TrimSpace(string(body))}
	}
	return &Error{Status: status, Code: r.Code, Message: r.Message, Details: r.Details}
}

// Client talks to one agentmcp (or CometChat) base URL with one API key.
type Client struct {
	c *gen.ClientWithResponses
}

type options struct {
	doer gen.HttpRequestDoer
}

// Option configures New.
type Option func(*options)

// WithHTTPClient sends requests through doer instead of http.DefaultClient.
func WithHTTPClient(doer gen.HttpRequestDoer) Option { return func(o *options) { o.doer = doer } }

// New returns a client for baseURL (e.g. http://localhost:8080/v3) authenticating with apiKey.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("agentmcp: base URL %q: want http(s)://host[:port]/v3", baseURL)
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	genOpts := []gen.ClientOption{gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		if apiKey != "" {
			r.Header.Set("apikey", apiKey)
		}
		return nil
	})}
	if o.doer != nil {
		genOpts = append(genOpts, gen.WithHTTPClient(o.doer))
	}
	c, err := gen.NewClientWithResponses(strings.TrimRight(baseURL, "/"), genOpts...)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Generated returns the underlying generated client, for calls this package does not wrap.
func (c *Client) Generated() *gen.ClientWithResponses { return c.c }

// result picks the typed body of a successful call or turns the response into an *Error.
func result[T any](status, want int, body []byte, v *T) (*T, error) {
	if status != want || v == nil {
		return nil, apiError(status, body)
	}
	return v, nil
}

// CreateServer registers an MCP server.
func (c *Client) CreateServer(ctx context.Context, in CreateMCPServer) (*MCPServer, error) {
	r, err := c.c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, in)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusCreated, r.Body, r.JSON201)
}

// GetServer returns the MCP server with slug.
func (c *Client) GetServer(ctx context.Context, slug string) (*MCPServer, error) {
	r, err := c.c.McpServersControllerGetMcpServerBySlugWithResponse(ctx, slug, nil)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}

// UpdateServer applies a partial update; nil fields are left unchanged.
func (c *Client) UpdateServer(ctx context.Context, slug string, patch UpdateMCPServer) (*MCPServer, error) {
	r, err := c.c.McpServersControllerUpdateMcpServerWithResponse(ctx, slug, nil, patch)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}

// DeleteServer deletes the MCP server with slug.
func (c *Client) DeleteServer(ctx context.Context, slug string) error {
	r, err := c.c.McpServersControllerDeleteMcpServerWithResponse(ctx, slug, nil)
	if err != nil {
		return err
	}
	_, err = result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
	return err
}

// ListOptions selects one page. The zero value is the first page with the server's default size.
type ListOptions struct {
	Limit int
	// Affix is "append" (older than CreatedAt) or "prepend" (newer than CreatedAt).
	Affix     string
	CreatedAt int64
	// Health keeps only MCP servers whose last probe succeeded ("ok"), failed ("failing"),
	// or that were never probed ("unknown"); "" keeps all. Ignored for agents.
	Health string
}

func (o ListOptions) params() *gen.McpServersControllerGetAllMcpServersParams {
	var p gen.McpServersControllerGetAllMcpServersParams
	if o.Limit > 0 {
		p.Limit = &o.Limit
	}
	if o.Affix != "" {
		a := gen.McpServersControllerGetAllMcpServersParamsAffix(o.Affix)
		p.Affix, p.CreatedAt = &a, &o.CreatedAt
	}
	if o.Health != "" {
		h := gen.McpServersControllerGetAllMcpServersParamsHealth(o.Health)
		p.Health = &h
	}
	return &p
}

// ListServers returns one page of MCP servers, newest first.
func (c *Client) ListServers(ctx context.Context, o ListOptions) (*MCPServerList, error) {
	r, err := c.c.McpServersControllerGetAllMcpServersWithResponse(ctx, o.params())
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}

// All walks every MCP server of the app, newest first, pageSize at a time (0: the server's
// default). It stops at the first error, which it yields.
func (c *Client) All(ctx context.Context, pageSize int) iter.Seq2[MCPServer, error] {
	return c.AllServers(ctx, ListOptions{Limit: pageSize})
}

// AllServers walks every MCP server that o selects (its Limit is the page size), newest
// first from o's cursor. It stops at the first error, which it yields.
func (c *Client) AllServers(ctx context.Context, o ListOptions) iter.Seq2[MCPServer, error] {
	return walk(o, func(o ListOptions) ([]MCPServer, *gen.PageMeta, error) {
		page, err := c.ListServers(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		return page.Data, &page.Meta, nil
	})
}

// walk follows meta.next from the page o selects until a short or empty page; every page
// keeps o's size and filter.
func walk[T any](o ListOptions, list func(ListOptions) ([]T, *gen.PageMeta, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			data, meta, err := list(o)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range data {
				if !yield(v, nil) {
					return
				}
			}
			if len(data) == 0 || meta.Next == nil || len(data) < meta.Current.Limit {
				return
			}
			o.Affix, o.CreatedAt = string(meta.Next.Affix), meta.Next.CreatedAt
		}
	}
}

// Probe results and tools (agentmcp additions).
type (
	ProbeResult = gen.ProbeResult
	ServerTools = gen.McpServerTools
)

// ProbeServer probes the server's URL now and returns what the probe found.
func (c *Client) ProbeServer(ctx context.Context, slug string) (*ProbeResult, error) {
	r, err := c.c.McpServersControllerProbeMcpServerWithResponse(ctx, slug)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}

// AuthorizeServer starts connecting an OAuth server: the URL a person opens to approve.
func (c *Client) AuthorizeServer(ctx context.Context, slug string) (string, error) {
	r, err := c.c.McpServersControllerAuthorizeOAuthWithResponse(ctx, slug)
	if err != nil {
		return "", err
	}
	out, err := result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
	if err != nil {
		return "", err
	}
	return out.AuthorizationUrl, nil
}

// ServerTools returns the tools of the server's last successful probe.
func (c *Client) ServerTools(ctx context.Context, slug string) (*ServerTools, error) {
	r, err := c.c.McpServersControllerGetMcpServerToolsWithResponse(ctx, slug)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}
