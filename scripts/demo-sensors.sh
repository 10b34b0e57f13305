#!/usr/bin/env bash
# The sensor demo behind `make run`: the five-stage pipeline of
# config/examples/sensors.yaml on a fresh embedded broker, fed by
# `sluice gen sensors`; shows what every stage did and the alerts arriving.
# SENSORS_CONFIG picks another pipeline file of the same topics (`make
# run-avro`: config/examples/sensors-avro.yaml); tail decodes its topics.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-.sluice/demo-sensors}
cfg=${SENSORS_CONFIG:-config/examples/sensors.yaml}
count=${SENSOR_LINES:-2000}
rm -rf "$data"
mkdir -p "$data"
export ARCHIVE_DIR=$data/archives
export ALERT_WEBHOOK_URL=${ALERT_WEBHOOK_URL:-}

bin/sluice up --config "$cfg" --data-dir "$data" --log-format json >"$data/up.log" 2>&1 &
up=$!
trap 'kill -INT $up 2>/dev/null; wait $up 2>/dev/null || true' EXIT

# wait until up has created the topics and started the stages
for _ in $(seq 300); do
	grep -q "pipeline [^ ]* up" "$data/up.log" && break
	kill -0 $up 2>/dev/null || { cat "$data/up.log"; exit 1; }
	sleep 0.1
done

echo "==> generating $count raw sensor lines into events.raw (5% malformed, 3% anomalies)"
bin/sluice gen sensors --count "$count" --topic events.raw

n() { bin/sluice tail "$1" --config "$cfg" --format '%o' 2>/dev/null | grep -c . || true; }
archived() { bin/sluice tail archives --config "$cfg" --format value 2>/dev/null | python3 -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin if l.strip()))'; }
for _ in $(seq 600); do
	scored=$(n events.scored)
	[ "$scored" -gt 0 ] && [ "$(archived)" -ge "$scored" ] && [ $(($(n events.parsed) + $(n ingest.dlq))) -ge "$count" ] && break
	kill -0 $up 2>/dev/null || { tail -20 "$data/up.log"; exit 1; }
	sleep 0.2
done

echo
echo "==> alerts (sluice tail alerts --config $cfg -n 5)"
bin/sluice tail alerts --config "$cfg" -n 5 --format value
echo
echo "==> what each stage did"
printf '  %-9s %-14s %6s   %-13s %5s\n' stage output records dlq records
printf '  %-9s %-14s %6s   %-13s %5s\n' ingest events.parsed "$(n events.parsed)" ingest.dlq "$(n ingest.dlq)"
printf '  %-9s %-14s %6s   %-13s %5s\n' filter events.clean "$(n events.clean)" filter.dlq "$(n filter.dlq)"
printf '  %-9s %-14s %6s   %-13s %5s\n' classify events.scored "$(n events.scored)" classify.dlq "$(n classify.dlq)"
printf '  %-9s %-14s %6s   %-13s %5s\n' alert alerts "$(n alerts)" alert.dlq "$(n alert.dlq)"
printf '  %-9s %-14s %6s   %-13s %5s\n' archive archives "$(n archives)" archive.dlq "$(n archive.dlq)"
echo
echo "==> $(archived) scored records archived in $(find "$ARCHIVE_DIR" -name '*.tar.gz' | wc -l) files under $ARCHIVE_DIR"
echo "==> a rejected line: $(bin/sluice tail ingest.dlq -n 1 --format json | python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); print(repr(r["value"]), "->", r["headers"]["sluice.error"])')"
