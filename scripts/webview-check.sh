#!/usr/bin/env bash
# Browser check of the live web view: runs the five-stage sensor pipeline
# (`sluice up --metrics-addr ...` on a fresh embedded broker, free ports),
# feeds it `sluice gen sensors --rate 5000`, opens http://ADDR/ in headless
# Chromium (cmd/sluice/webview/e2e/screenshot.mjs, playwright-core) and
# checks that records/s shows up, every stage is drawn and the page logs no
# error; then stops everything. Exits non-zero if the check fails.
#
#   scripts/webview-check.sh [OUT.png]      # default: .sluice/webview-check.png
#
# Needs `make build` (the nodes), Node.js, and Chromium (Debian:
# apt-get install chromium; CHROMIUM=/path/to/chrome for another one).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.sluice/webview-check.png}
cfg=config/examples/sensors.yaml
e2e=cmd/sluice/webview/e2e
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

for f in .cache/cargo-target/release/ingest .cache/venv/bin/python .cache/models/classify.joblib; do
	[ -e "$f" ] || { echo "webview-check: $f is missing: run 'make build' first" >&2; exit 1; }
done
[ -x "$CHROMIUM" ] || { echo "webview-check: no Chromium at $CHROMIUM (apt-get install chromium, or set CHROMIUM)" >&2; exit 1; }
make -s go-build
if [ ! -d "$e2e/node_modules/playwright-core" ]; then
	(cd "$e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
broker=127.0.0.1:$(free_port)
http=127.0.0.1:$(free_port)
tmp=$(mktemp -d)
mkdir -p "$(dirname "$out")"
export ARCHIVE_DIR=$tmp/archives ALERT_WEBHOOK_URL= SLUICE_BROKERS=

up= gen=
cleanup() {
	[ -n "$gen" ] && kill "$gen" 2>/dev/null && wait "$gen" 2>/dev/null || true
	if [ -n "$up" ]; then
		kill -INT "$up" 2>/dev/null || true
		for _ in $(seq 150); do kill -0 "$up" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$up" 2>/dev/null || true
		wait "$up" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

bin/sluice up --config "$cfg" --data-dir "$tmp" --embedded-addr "$broker" \
	--metrics-addr "$http" --log-format json >"$tmp/up.log" 2>&1 &
up=$!
for _ in $(seq 300); do
	grep -q "pipeline sensors up" "$tmp/up.log" && curl -fsS -o /dev/null "http://$http/api/status" && break
	kill -0 "$up" 2>/dev/null || { echo "webview-check: sluice up exited:" >&2; tail -20 "$tmp/up.log" >&2; exit 1; }
	sleep 0.1
done
curl -fsS -o /dev/null "http://$http/api/status" || { echo "webview-check: nothing serves http://$http/" >&2; tail -20 "$tmp/up.log" >&2; exit 1; }
echo "webview-check: pipeline up, web view on http://$http/, broker $broker"

bin/sluice gen sensors --count 200000 --rate 5000 --topic events.raw --brokers "$broker" >"$tmp/gen.log" 2>&1 &
gen=$!

status=0
node "$e2e/screenshot.mjs" "http://$http/" "$out" || status=$?
if [ "$status" -ne 0 ]; then
	echo "webview-check: FAILED; last lines of sluice up:" >&2
	tail -20 "$tmp/up.log" >&2
fi
exit "$status"
