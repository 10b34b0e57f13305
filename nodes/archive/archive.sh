#!/usr/bin/env bash
# archive: the reference pipeline's archive stage (events.scored -> archives).
#
# Each batch becomes one tar.gz in $ARCHIVE_DIR (default .sluice/archives,
# relative to the node's working directory) holding
#   records.ndjson  the record values, one per line, exactly as received
#   manifest.json   what the archive holds (see README.md)
# The archive is written under a temporary name, fsynced, renamed into place
# and its directory fsynced before the batch is answered: once the runtime
# commits the offsets, the archive survives a power cut.
#
# Results: the first archived record carries one output, the manifest, keyed
# by the archive's file name (the pipeline maps the default output to the
# `archives` topic); the other records produce nothing. If the archive cannot
# be written, every record of the batch gets an error (retriable: the record
# is fine, the disk is not), so the batch goes to the DLQ with tar's message
# instead of being acknowledged.

SLUICE_NODE_NAME=archive
SLUICE_NODE_VERSION=0.1.0
# shellcheck source=../../adapters/shell/sluice.sh
source "${SLUICE_SHELL_LIB:-$(dirname -- "${BASH_SOURCE[0]}")/../../adapters/shell/sluice.sh}"

# Why a record cannot go into records.ndjson (null when it can): the file is
# text with one value per line, so null, binary and multi-line values would
# be lost or would corrupt it; they go to the DLQ with the reason instead.
archive_jq_defs='
def reject:
  if .encoding == "base64" then "archive: the value is binary (not UTF-8 text); records.ndjson holds text lines"
  elif .value == null then "archive: the value is null; records.ndjson holds text lines"
  elif (.value | contains("\n")) then "archive: the value spans several lines; records.ndjson holds one value per line"
  else null end;
'

# The archive's name, then the manifest (compact), from the batch's records.
archive_manifest_jq=$archive_jq_defs'
[inputs | select(reject == null) | {topic, partition, offset}] as $a
| select($a != [])
| "\($stage)-\($a[0].partition)-\($a[0].offset)-\($id).tar.gz" as $name
| $name,
  ({file: "\($dir)/\($name)", count: ($a | length), first: $a[0], last: $a[-1],
    partitions: (reduce $a[] as $r ({}; .[$r.partition | tostring] |= {first: (.first // $r.offset), last: $r.offset})),
    created_at: $created} | tojson)'

# One result line per record: the manifest on the first archived record.
archive_results_jq=$archive_jq_defs'
foreach inputs as $r ({done: false};
  ($r | reject) as $why
  | if $why != null then .out = {error: $why}
    elif $failure != "" then .out = {error: $failure, retriable: true}
    elif .done then .out = {}
    else .done = true | .out = {outputs: [{key: $name, value: $manifest}]} end;
  .out)'

# archive_batch BATCH RESULTS COUNT: the handler (a subshell, so that its
# trap and variables stay inside even when a test calls it directly).
archive_batch() (
	batch=$1 results=$2
	dir=${ARCHIVE_DIR:-.sluice/archives}
	stage=${SLUICE_STAGE:-archive}
	stage=${stage//\//_}
	failure='' name='' manifest=''
	if ! err=$(mkdir -p -- "$dir" 2>&1); then
		failure="archive: cannot create $dir: ${err//$'\n'/; }"
	else
		dir=$(cd -- "$dir" && pwd -P)
	fi
	work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-archive.XXXXXX") || exit 1
	trap 'rm -rf -- "$work"' EXIT

	jq -r "$archive_jq_defs"'select(reject == null) | .value' <"$batch" >"$work/records.ndjson" || exit 1
	out=$(jq -n -r --arg dir "$dir" --arg stage "$stage" --arg id "${SLUICE_BATCH_ID:-0}" \
		--arg created "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$archive_manifest_jq" <"$batch") || exit 1
	if [[ -n $out ]]; then # nothing to archive when every record is rejected
		name=${out%%$'\n'*} manifest=${out#*$'\n'}
	fi
	if [[ -n $name && -z $failure ]]; then
		printf '%s\n' "$manifest" >"$work/manifest.json" || exit 1
		tmp=$dir/.$name.partial
		# tar (with gzip), fsync the file, rename it into place, fsync the
		# directory that now names it: only then is the archive durable.
		if ! err=$({ tar -C "$work" -czf "$tmp" records.ndjson manifest.json &&
			sync -- "$tmp" && mv -f -- "$tmp" "$dir/$name" && sync -- "$dir"; } 2>&1); then
			failure="archive: writing $dir/$name failed: ${err//$'\n'/; }"
			rm -f -- "$tmp"
		fi
	fi
	[[ -z $failure ]] || sluice_log "$failure"
	jq -n -c --arg name "$name" --arg manifest "$manifest" --arg failure "$failure" \
		"$archive_results_jq" <"$batch" >"$results"
)

# Run as a node when executed; sourcing only defines archive_batch (tests).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	sluice_run archive_batch
fi
