# Sluice — common tasks. `make help` lists them.
GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
DEMO_DIR := .sluice/demo

# Everything the polyglot nodes need is installed under .cache/ (git-ignored):
# a Python venv with the adapter and scikit-learn, the Rust build output, the
# trained model.
VENV     := .cache/venv
PY       := $(VENV)/bin/python
MODEL    := .cache/models/classify.joblib
export CARGO_TARGET_DIR := $(CURDIR)/.cache/cargo-target
CARGO    ?= cargo

# The row counts of make bench: each row takes seconds, the whole run a few
# minutes on a 2-core machine (docs/benchmarks.md).
BENCH_ARGS ?= --records 4000000 --size-mb 1000 --few-records 100000

.PHONY: help build go-build adapters rust python model nodes run run-avro run-filter test test-go test-adapters test-kafka test-race fuzz bench soak chaos webview-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: go-build adapters ## build bin/sluice and every node the examples need (Go, Rust, Python venv + model)

go-build: ## bin/sluice, the Go filter node and the Go conformance node
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/sluice ./cmd/sluice
	$(GO) build -o $(BIN)/nodes/filter ./nodes/filter
	$(GO) build -o $(BIN)/conformance/go ./adapters/go/conformance

adapters: rust python model ## the Rust crates, the Python venv and the classify model

rust: ## cargo build of the Rust adapter (conformance node) and the ingest node
	$(CARGO) build --release --locked --quiet --manifest-path adapters/rust/Cargo.toml
	$(CARGO) build --release --locked --quiet --manifest-path nodes/ingest/Cargo.toml

python: $(VENV)/.installed ## the Python venv: the adapter (editable), scikit-learn, pytest

$(VENV)/.installed: adapters/python/pyproject.toml nodes/classify/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e adapters/python -r nodes/classify/requirements.txt pytest
	touch $@

model: $(MODEL) ## train the classify node's scikit-learn model

$(MODEL): nodes/classify/train.py $(VENV)/.installed
	mkdir -p $(dir $@)
	$(PY) nodes/classify/train.py $@

run: build ## the five-stage sensor pipeline on the embedded broker: generate, process, show alerts
	./scripts/demo-sensors.sh .sluice/demo-sensors

run-avro: build ## make run with Avro topics (config/examples/sensors-avro.yaml)
	SENSORS_CONFIG=config/examples/sensors-avro.yaml ./scripts/demo-sensors.sh .sluice/demo-sensors-avro

run-filter: go-build ## the one-stage filter demo on the embedded broker
	./scripts/demo.sh $(DEMO_DIR)

test: build test-go test-adapters ## every test: Go (kfake) and each adapter's own runner

test-go: ## go vet + the Go suites (conformance and end-to-end included)
	$(GO) vet ./...
	$(GO) test -count=1 ./...

test-adapters: ## pytest, node --test, cargo test, bats
	$(VENV)/bin/pytest -q -p no:cacheprovider --rootdir=. adapters/python nodes/classify
	cd adapters/node && npm test --silent
	cd nodes/alert && npm test --silent
	$(CARGO) test --locked --quiet --manifest-path adapters/rust/Cargo.toml
	$(CARGO) test --locked --quiet --manifest-path nodes/ingest/Cargo.toml
	bats adapters/shell/test nodes/archive/test

test-kafka: build ## the integration suite against Apache Kafka (start it with make kafka-up; SLUICE_TEST_BROKERS to point elsewhere)
	SLUICE_TEST_BROKERS=$${SLUICE_TEST_BROKERS:-127.0.0.1:$${KAFKA_PORT:-9092}} $(GO) test -count=1 ./stream/ ./cmd/sluice/

test-race: ## the test suite under the race detector
	$(GO) test -count=1 -race ./...

FUZZTIME ?= 2m
fuzz: ## fuzz the pipeline-file parser and the protocol frame decoder, 2m each (make fuzz FUZZTIME=10m)
	$(GO) test ./config -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./stream/protocol -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)

bench: build ## Go micro-benchmarks, then one sluice bench with every row against the ceiling (docs/benchmarks.md; BENCH_FLAGS="--brokers 127.0.0.1:9092" for Apache Kafka)
	$(GO) test ./stream/protocol ./stream/codec ./adapters/go -run '^$$' -bench . -benchmem
	$(BIN)/sluice bench --all $(BENCH_ARGS) $(BENCH_FLAGS)

soak: build ## backpressure soak: 5M-record backlog, slow node; fails if the stage's peak RSS exceeds 150 MB
	./scripts/soak.sh

chaos: go-build ## fault injection on Apache Kafka: 1M records per scenario and delivery mode, lost/duplicated table (CHAOS_RECORDS, CHAOS_SCENARIOS, CHAOS_DELIVERY; docs/reliability.md)
	$(GO) build -o $(BIN)/testnode ./stream/internal/testnode
	$(GO) build -o $(BIN)/sluice-chaos ./cmd/sluice-chaos
	./scripts/chaos.sh

webview-check: build ## browser check of the live web view in headless Chromium (needs Node.js and Debian's chromium)
	./scripts/webview-check.sh

clean: ## remove build output, local broker data and .cache (venv, Rust build, model, Kafka jars)
	rm -rf $(BIN) .sluice .cache

# Apache Kafka 4.1.1 on this machine without Docker (needs Java 17 + Maven;
# the first start downloads it into .cache/kafka/): scripts/kafka.sh.
# KAFKA_PORT=19092 picks another port (controller on KAFKA_PORT+1).
.PHONY: kafka-up kafka-down kafka-status kafka-logs

kafka-up: go-build ## start Apache Kafka on 127.0.0.1:9092, no Docker (Java 17 + Maven; KAFKA_PORT=N for another port)
	./scripts/kafka.sh up

kafka-down: ## stop that Kafka; WIPE=1 also deletes its topics and data
	./scripts/kafka.sh down $(if $(filter 1 yes true,$(WIPE)),--wipe)

kafka-status: ## is that Kafka running, on which port, with which pid
	@./scripts/kafka.sh status || true

kafka-logs: ## the last 100 lines of that Kafka's log
	@./scripts/kafka.sh logs

# A Schema Registry for wire: confluent topics (Apicurio Registry 2.6, its
# Confluent-compatible API; Java 17 + Maven, fetched into
# .cache/schema-registry/ once): scripts/schema-registry.sh. Its URL, for
# schema_registry.url and SLUICE_TEST_SCHEMA_REGISTRY, is what
# `scripts/schema-registry.sh url` prints. SCHEMA_REGISTRY_PORT=N picks
# another port.
.PHONY: registry-up registry-down

registry-up: ## start a Schema Registry on 127.0.0.1:8081, no Docker (Java 17 + Maven; SCHEMA_REGISTRY_PORT=N for another port)
	./scripts/schema-registry.sh up

registry-down: ## stop that Schema Registry (it keeps schemas in memory: they are forgotten)
	./scripts/schema-registry.sh down
