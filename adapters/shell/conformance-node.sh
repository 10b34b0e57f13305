#!/usr/bin/env bash
# The conformance node of the shell adapter (docs/conformance.md), in files
# mode: stream/conformance_test.go runs `bash adapters/shell/conformance-node.sh`
# with the same inputs and expectations as every other adapter's node.

SLUICE_NODE_NAME=conformance
SLUICE_NODE_VERSION=1.0.0
source "$(dirname -- "${BASH_SOURCE[0]}")/sluice.sh"

# One result line per record. Commands are matched on the value's text; a
# binary record (encoding base64) has every field in base64, so its outputs
# are written in base64 too and pass through byte for byte.
conformance_jq='
def b64: .encoding == "base64";
def text: if .value == null then null elif b64 then .value | @base64d else .value end;
def emit($r; $name; $v):
  {name: $name, key: $r.key, value: (if ($r | b64) then $v | @base64 else $v end)}
  + (if ($r | b64) then {encoding: "base64"} else {} end);
def pass:
  {key, value, headers} + (if b64 then {encoding: "base64"} else {} end);
. as $r
| text as $v
| if ($v | type) != "string" then {outputs: [pass]}
  elif $v == "crash" then "crash"
  elif $v | startswith("multi:") then
    ($v[6:] | if test("^[+-]?[0-9]+$") then tonumber else 0 end) as $n
    | {outputs: [range(0; $n) | emit($r; ""; "\($v)#\(.)")]}
  elif $v == "alert" then {outputs: [pass, emit($r; "alerts"; "ALERT")]}
  elif $v | startswith("fail:") then {error: $v[5:]}
  elif $v | startswith("retry:") then {error: $v[6:], retriable: true}
  else {outputs: [pass]} end'

conformance_logs_jq='
(if .value == null then null elif .encoding == "base64" then .value | @base64d else .value end)
| select(type == "string" and startswith("log:")) | .[4:]'

conformance() { # BATCH RESULTS COUNT
	jq -r "$conformance_logs_jq" <"$1" >&2 || return
	jq -c "$conformance_jq" <"$1" >"$2" || return
	# `crash`: exit the node at once, without answering the batch.
	if grep -qx '"crash"' "$2"; then
		sluice_exit 3
	fi
}

sluice_run conformance
