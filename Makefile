# agentmcp — `make run` starts a server on ./data/agentmcp.db; `make test` runs every check and test.
GO       ?= go
BIN      ?= bin/agentmcp
GOFILES   = $(shell git ls-files '*.go' | grep -v '^gen/')

.PHONY: all generate build run test unit lint vet fmt-check tidy-check check-generated bench clean

all: build

generate:
	$(GO) generate ./...

build:
	$(GO) build -o $(BIN) ./cmd/agentmcp

run: build
	./$(BIN) serve

# Every check, then every test with the race detector.
test: check-generated lint unit

unit:
	$(GO) test -race -count=1 ./...

lint: vet fmt-check tidy-check

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

tidy-check:
	$(GO) mod tidy -diff

# Regenerates gen/ and fails when the committed code differs from what openapi.yaml gives.
check-generated:
	$(GO) generate ./...
	@git diff --exit-code -- gen/ || { echo "gen/ is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- gen/)" || { echo "gen/ has untracked generated files"; exit 1; }

clean:
	rm -rf bin
