# Sluice — common tasks. `make help` lists them.
GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
DEMO_DIR := .sluice/demo

.PHONY: help build nodes run test test-kafka test-race fuzz bench clean

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

test-kafka: build ## the integration suite against Apache Kafka (start it with make kafka-up; SLUICE_TEST_BROKERS to point elsewhere)
	SLUICE_TEST_BROKERS=$${SLUICE_TEST_BROKERS:-127.0.0.1:$${KAFKA_PORT:-9092}} $(GO) test -count=1 ./stream/ ./cmd/sluice/

test-race: ## the test suite under the race detector
	$(GO) test -count=1 -race ./...

fuzz: ## fuzz the protocol frame decoder for 60s
	$(GO) test ./stream/protocol -run '^$$' -fuzz FuzzDecode -fuzztime 60s

bench: build ## codec benchmarks, then ceiling vs filter stage (BENCH_FLAGS="--brokers 127.0.0.1:9092" for Apache Kafka)
	$(GO) test ./stream/protocol ./adapters/go -run '^$$' -bench . -benchmem
	$(BIN)/sluice bench $(BENCH_FLAGS)

clean: ## remove build output and local broker data
	rm -rf $(BIN) .sluice

# Apache Kafka 4.1.1 on this machine without Docker (needs Java 17 + Maven;
# the first start downloads it into .cache/kafka/): scripts/kafka.sh.
# KAFKA_PORT=19092 picks another port (controller on KAFKA_PORT+1).
.PHONY: kafka-up kafka-down kafka-status kafka-logs

kafka-up: build ## start Apache Kafka on 127.0.0.1:9092, no Docker (Java 17 + Maven; KAFKA_PORT=N for another port)
	./scripts/kafka.sh up

kafka-down: ## stop that Kafka; WIPE=1 also deletes its topics and data
	./scripts/kafka.sh down $(if $(filter 1 yes true,$(WIPE)),--wipe)

kafka-status: ## is that Kafka running, on which port, with which pid
	@./scripts/kafka.sh status || true

kafka-logs: ## the last 100 lines of that Kafka's log
	@./scripts/kafka.sh logs
