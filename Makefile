# Sluice — common tasks. `make help` lists them.
GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
DEMO_DIR := .sluice/demo

.PHONY: help build nodes run test test-race fuzz bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build bin/sluice and the reference Go nodes
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/sluice ./cmd/sluice
	$(GO) build -o $(BIN)/nodes/filter ./nodes/filter

run: build ## the filter demo on the embedded broker: produce samples, show the result
	./scripts/demo.sh $(DEMO_DIR)

test: ## the test suite (kfake: the real Kafka protocol, in process)
	$(GO) vet ./...
	$(GO) test -count=1 ./...

test-race: ## the test suite under the race detector
	$(GO) test -count=1 -race ./...

fuzz: ## fuzz the protocol frame decoder for 60s
	$(GO) test ./stream/protocol -run '^$$' -fuzz FuzzDecode -fuzztime 60s

bench: build ## ceiling vs filter stage on the embedded broker, and codec benchmarks
	$(GO) test ./stream/protocol ./adapters/go -run '^$$' -bench . -benchmem
	$(BIN)/sluice bench

clean: ## remove build output and local broker data
	rm -rf $(BIN) .sluice
