#!/usr/bin/env bash
# The chaos harness on Apache Kafka (`make chaos`; docs/reliability.md).
# Drives CHAOS_RECORDS records through a one-stage pipeline per scenario and
# delivery mode while it injects one fault at a time, and prints one row per
# run: records in, out, DLQ, lost, duplicated, time. Exits 1 if any row lost
# a record or an exactly-once row duplicated one.
#
# Broker: $SLUICE_BROKERS when set (its restart scenario runs
# `scripts/kafka.sh restart` with KAFKA_PORT taken from the address, so it
# must be a broker of scripts/kafka.sh, or give --broker-restart-cmd in
# CHAOS_FLAGS). Otherwise a Kafka of its own is started with
# scripts/kafka.sh on CHAOS_KAFKA_PORT, and stopped and wiped at the end
# (unless it was already running).
#
# Environment:
#   CHAOS_RECORDS     records per run (default 1000000)
#   CHAOS_SCENARIOS   comma list or all (default all: bin/sluice-chaos --help lists them)
#   CHAOS_DELIVERY    at-least-once, exactly-once or both (default both)
#   CHAOS_KAFKA_PORT  port of the harness's own Kafka (default 19592; +1 for its controller)
#   CHAOS_OUT         where the Markdown table is written too (default .sluice/chaos.md)
#   CHAOS_FLAGS       more flags for bin/sluice-chaos (e.g. --produce-over 10s)
set -euo pipefail
cd "$(dirname "$0")/.."

records=${CHAOS_RECORDS:-1000000}
scenarios=${CHAOS_SCENARIOS:-all}
delivery=${CHAOS_DELIVERY:-both}
out=${CHAOS_OUT:-.sluice/chaos.md}
read -r -a extra <<<"${CHAOS_FLAGS:-}"

if [[ -z ${SLUICE_BROKERS:-} ]]; then
	export KAFKA_PORT=${CHAOS_KAFKA_PORT:-19592}
	if ! scripts/kafka.sh status >/dev/null 2>&1; then
		trap 'scripts/kafka.sh down --wipe >/dev/null || true' EXIT
	fi
	scripts/kafka.sh up
	export SLUICE_BROKERS=127.0.0.1:$KAFKA_PORT
fi

mkdir -p "$(dirname "$out")"
echo "chaos: bin/sluice-chaos --records $records --scenarios $scenarios --delivery $delivery ${extra[*]} (brokers $SLUICE_BROKERS, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))" >&2
bin/sluice-chaos --sluice bin/sluice --node bin/testnode --brokers "$SLUICE_BROKERS" \
	--records "$records" --scenarios "$scenarios" --delivery "$delivery" --out "$out" "${extra[@]}"
echo "chaos: table written to $out" >&2
