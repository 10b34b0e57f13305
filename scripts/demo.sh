#!/usr/bin/env bash
# The filter demo behind `make run`: start the pipeline on a fresh embedded
# broker, produce the sample events, show what came out, stop.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-.sluice/demo}
cfg=config/examples/filter.yaml
sample=testdata/events/sample.jsonl
rm -rf "$data"
mkdir -p "$data"

bin/sluice up --config "$cfg" --data-dir "$data" --log-format json >"$data/up.log" 2>&1 &
up=$!
trap 'kill -INT $up 2>/dev/null; wait $up 2>/dev/null || true' EXIT

# wait until the pipeline's topics exist (up creates them)
for _ in $(seq 100); do
	bin/sluice tail filter.dlq -n 0 >/dev/null 2>&1 && break
	kill -0 $up 2>/dev/null || { cat "$data/up.log"; exit 1; }
	sleep 0.1
done

total=$(grep -c . "$sample")
echo "==> producing $total sample events to events.parsed (key: sensor_id)"
bin/sluice produce events.parsed --file "$sample" --key-field sensor_id

# wait until every input came out (clean + dlq)
for _ in $(seq 300); do
	clean=$(bin/sluice tail events.clean --format value 2>/dev/null | grep -c . || true)
	dlq=$(bin/sluice tail filter.dlq --format value 2>/dev/null | grep -c . || true)
	[ $((clean + dlq)) -ge "$total" ] && break
	sleep 0.1
done

echo
echo "==> events.clean: $clean normalised events (first 5)"
bin/sluice tail events.clean -n 5 --format json
echo
echo "==> filter.dlq: $dlq rejected events, each with its reason"
bin/sluice tail filter.dlq --format json | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print("  %-60s <- %s" % (r["headers"].get("sluice.error", "?"), r["value"][:60]))
' 2>/dev/null || bin/sluice tail filter.dlq --format json
echo
echo "==> $total in = $clean clean + $dlq dead-lettered"
[ $((clean + dlq)) -eq "$total" ]
