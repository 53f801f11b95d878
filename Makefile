# coexhistory: the everyday commands. `make test` is what CI runs (.ci/run).
.PHONY: test generate build demo bench vet fmt

BIN ?= bin

## test: templ drift, gofmt, vet, all tests against a private MariaDB and headless Chromium, benchmark smoke
test:
	bash scripts/test.sh

## generate: regenerate the *_templ.go files (commit them)
generate:
	go tool templ generate

## build: the coexhistory and coexsim binaries in ./bin
build:
	go build -o $(BIN)/ ./cmd/...

## demo: run the product with SQLite and the simulator, no setup needed
demo:
	go run ./cmd/coexhistory demo

## bench: the Go benchmarks with real timings (BENCH selects, default all)
BENCH ?= .
bench:
	go test -run '^$$' -bench '$(BENCH)' -benchmem ./...

vet:
	go vet ./...

fmt:
	gofmt -w $$(find . -name '*.go' -not -name '*_templ.go' -not -path './.git/*')
