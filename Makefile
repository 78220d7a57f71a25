# agentmcp — `make run` starts a server on ./data/agentmcp.db; `make test` runs every check and test.
# `make install` puts the agentmcp command on your PATH ($(go env GOPATH)/bin, or $GOBIN).
GO       ?= go
BIN      ?= bin/agentmcp
GOFILES   = $(shell git ls-files --cached --others --exclude-standard '*.go' | grep -v '^gen/')

.PHONY: all generate console build install run test unit test-ts lint vet fmt-check tidy-check check-generated bench screenshot fuzz clean

# Extra flags for serve, e.g. make run ARGS="--probe-allow-private --addr :9090"
ARGS ?=

# Extra flags for the benchmark, e.g. make bench BENCH_FLAGS="--servers 100000 --out bench.json"
BENCH_FLAGS ?=

all: build

# The TypeScript client (clients/typescript): its npm packages, installed by `npm ci` from the
# committed lock whenever node_modules is missing or older than the lock.
TS = clients/typescript
$(TS)/node_modules/.installed: $(TS)/package.json $(TS)/package-lock.json
	cd $(TS) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# The web console (console/), built with Vite into server/consoleui/dist, which the binary
# embeds; its npm packages come from its own lock, as the client's do.
CONSOLE = console
$(CONSOLE)/node_modules/.installed: $(CONSOLE)/package.json $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# The MCP conformance suite and the Node 22 it runs on (server/gateway's conformance test).
CONFORMANCE = tools/conformance
$(CONFORMANCE)/node_modules/.installed: $(CONFORMANCE)/package.json $(CONFORMANCE)/package-lock.json
	cd $(CONFORMANCE) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

generate: $(TS)/node_modules/.installed $(CONSOLE)/node_modules/.installed
	$(GO) generate ./...
	cd $(TS) && node scripts/generate.mjs
	cd $(CONSOLE) && node scripts/build.mjs

# Rebuilds the console alone (it bundles the client's dist/, so after `make generate` too).
console: $(CONSOLE)/node_modules/.installed
	cd $(CONSOLE) && node scripts/build.mjs

build:
	$(GO) build -o $(BIN) ./cmd/agentmcp

install:
	$(GO) install ./cmd/agentmcp

run: build
	./$(BIN) serve $(ARGS)

# MCP clients that sign in with OAuth (the TypeScript SDK, mcp-remote), for the gateway's
# authorization server tests (server/oauth_clients_test.go); from their own lock.
OAUTH_CLIENTS = tools/oauth-clients
$(OAUTH_CLIENTS)/node_modules/.installed: $(OAUTH_CLIENTS)/package.json $(OAUTH_CLIENTS)/package-lock.json
	cd $(OAUTH_CLIENTS) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# Every check, then every test with the race detector, against SQLite and a throwaway
# PostgreSQL cluster that scripts/test-postgres.sh installs (when missing), starts and stops.
test: check-generated lint test-ts unit

# The console's browser test injects axe-core from console/node_modules. scripts/testsummary
# prints what go test prints, then every skipped test with its reason; go test's exit code.
# -timeout 30m: the server package alone takes 10+ minutes on a loaded 2-core machine, and
# go test's default of 10 minutes killed it there (it is a hang detector, not a speed target).
unit: $(CONSOLE)/node_modules/.installed $(CONFORMANCE)/node_modules/.installed $(OAUTH_CLIENTS)/node_modules/.installed
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(GO) build -o "$$tmp/testsummary" ./scripts/testsummary && \
	scripts/test-postgres.sh "$$tmp/testsummary" $(GO) test -race -count=1 -timeout 30m ./...

# The TypeScript client's tests (node --test) against an agentmcp built here, then the
# console's unit tests (its editors' state logic, node --test).
test-ts: $(TS)/node_modules/.installed $(CONSOLE)/node_modules/.installed
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(GO) build -o "$$tmp/agentmcp" ./cmd/agentmcp && \
	cd $(TS) && AGENTMCP_BIN="$$tmp/agentmcp" npm test --silent
	cd $(CONSOLE) && npm test --silent

lint: vet fmt-check tidy-check

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

tidy-check:
	$(GO) mod tidy -diff

# Generates into a temporary file and fails when gen/api.gen.go differs from it (on a clean
# checkout in CI that is: the committed code is stale); the same for the TypeScript client's
# src/schema.ts and dist/, and the console's server/consoleui/dist.
check-generated: $(TS)/node_modules/.installed $(CONSOLE)/node_modules/.installed
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	sed "s|^output:.*|output: $$tmp/api.gen.go|" gen/cfg.yaml > "$$tmp/cfg.yaml" && \
	$(GO) run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config "$$tmp/cfg.yaml" openapi.yaml && \
	diff -q gen/api.gen.go "$$tmp/api.gen.go" >/dev/null || { echo "gen/api.gen.go is stale: run 'make generate'"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- gen/)" || { echo "gen/ has untracked files: commit them"; exit 1; }
	@cd $(TS) && node scripts/generate.mjs --check
	@test -z "$$(git ls-files --others --exclude-standard -- $(TS)/src $(TS)/dist)" || { echo "$(TS) has untracked generated files: commit them"; exit 1; }
	@cd $(CONSOLE) && node scripts/build.mjs --check
	@test -z "$$(git ls-files --others --exclude-standard -- server/consoleui)" || { echo "server/consoleui has untracked built files: commit them"; exit 1; }

# The benchmark: a real agentmcp against a bare echo baseline, driven by wrk (installed
# from Debian's packages when missing); then the MCP gateway's scenarios (gateway-call…:
# agentmcp with default flags, a go-sdk upstream and a JSON-RPC client in processes of their
# own, the direct calls measured in the same interleaved rounds). BENCH_FLAGS="--db postgres"
# runs the REST part on a throwaway PostgreSQL cluster with two replicas (PostgreSQL
# installed as `make test` does). See docs/performance.md.
bench:
	@command -v wrk >/dev/null || { echo "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk; }
	@case " $(BENCH_FLAGS) " in *" --db postgres "*|*" --db=postgres "*|*" -db postgres "*|*" -db=postgres "*) \
	  scripts/postgres-bin.sh >/dev/null || { echo "PostgreSQL's server binaries are missing (Debian: apt-get install postgresql)"; exit 1; };; esac
	$(GO) run ./cmd/agentmcp-bench $(BENCH_FLAGS)
	@echo "get-server: a cached GET through the whole handler, without sockets (CPU and allocations per request)"
	$(GO) test -run '^$$' -bench BenchmarkGetServer -benchtime 2s ./server

# Searches for inputs that crash the API or make it answer 5xx (make test runs the seeds).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzAPI -fuzztime 60s ./server

# Re-renders the README's screenshots in headless Chromium: docs/api-reference.png (/docs)
# and docs/console-*.png (the web console).
screenshot: $(CONSOLE)/node_modules/.installed
	AGENTMCP_UPDATE_SCREENSHOT=1 $(GO) test -count=1 -run 'TestDocsPageInBrowser|TestConsoleInBrowser|TestConsoleToolPolicy' ./server

clean:
	rm -rf bin
