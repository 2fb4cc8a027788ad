# Every target runs on a fresh clone; `make test` installs and starts what the tests need.
GO       ?= go
FUZZTIME ?= 100000x # a count, not a duration: go1.26's time-based fuzz stop can fail spuriously (golang/go#75804)

.PHONY: up test deps vet unit allocs fuzz bench build sdk-go sdk-js sdk-wire

up: ## run edge + core + in-process NATS on :8080 with data in ./salam-data
	$(GO) run ./cmd/salam up

build:
	$(GO) build -o bin/salam ./cmd/salam

test: deps vet unit allocs fuzz sdk-go sdk-js ## the whole suite, as CI runs it

deps: ## tools and services the suite needs (CI machines start bare)
	.ci/deps

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

allocs: ## zero-allocation tests, which the race detector would distort
	$(GO) test -count=1 -run 'Alloc' ./...

unit: ## integration tests reach Postgres and Redis through SALAM_TEST_* (set by .ci/services)
	eval "$$(.ci/services)" && $(GO) test -race -count=1 -timeout 20m ./...

fuzz: ## short runs of every decoder fuzz target; longer runs: make fuzz FUZZTIME=10m
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./wire
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeRequest$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/bus
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeDelivery$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/bus
	$(GO) test -run='^$$' -fuzz='^FuzzRead$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/wsclient
	$(GO) test -run='^$$' -fuzz='^FuzzRESTBodies$$' -fuzztime=20000x -fuzzminimizetime=5s ./core/chat
	$(GO) test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/auth
	$(GO) test -run='^$$' -fuzz='^FuzzSignalPayloads$$' -fuzztime=20000x -fuzzminimizetime=5s ./core/calls
	$(GO) test -run='^$$' -fuzz='^FuzzKeyframe$$' -fuzztime=20000x -fuzzminimizetime=5s ./sfu
	$(GO) test -run='^$$' -fuzz='^FuzzRTMPConn$$' -fuzztime=20000x -fuzzminimizetime=5s ./ingest

bench: ## micro-benchmarks (not part of test); see README for the load benchmarks
	$(GO) test -run='^$$' -bench=. -benchmem ./wire ./internal/bus ./internal/auth ./edge

sdk-go: ## Go SDK (own module): vet, race tests against real salam processes, wire copy in sync, golden vectors; rooms on the SFU with pion peers (sdk/go/roomtest, its own module)
	cd sdk/go && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 10m ./...
	cd sdk/go/roomtest && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 5m ./...

sdk-js: ## JS SDK: build, unit + golden + Node tests against salam, bundle size, headless Chromium end to end
	cd sdk/js && { test -d node_modules || npm ci --no-audit --no-fund; } && npm test && npm run bundle && npm run e2e

sdk-wire: ## after changing wire/: refresh the Go SDK's byte-identical copy (sdk/go/wire)
	cd sdk/go && $(GO) generate ./wire
