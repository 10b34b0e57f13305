#!/usr/bin/env bats
# The archive node: the handler called directly on crafted spool files, and
# whole frame conversations through the shell adapter. No Kafka needed.

load ../../../adapters/shell/test/helpers

ARCHIVE=$(cd -- "$BATS_TEST_DIRNAME/.." && pwd)/archive.sh

setup() {
	SPOOL=$BATS_TEST_TMPDIR/spool
	mkdir -p "$SPOOL" "$BATS_TEST_TMPDIR/tmp"
	export TMPDIR=$BATS_TEST_TMPDIR/tmp # the handler's work dirs, checked for leftovers
	export ARCHIVE_DIR=$BATS_TEST_TMPDIR/data/archives # missing: the node creates it
}

# scored PARTITION OFFSET: one events.scored spool line.
scored() {
	jq -nc --argjson p "$1" --argjson o "$2" '{topic: "events.scored", partition: $p, offset: $o,
		timestamp: 1714564800123, key: "alpha", headers: {traceparent: "00-abc-def-01"},
		value: ({sensor_id: "alpha", metric: "temperature", value: 24.5, unit: "C",
			ts: "2024-05-01T12:00:00.000Z", prediction: "normal", score: 0.1, n: $o} | tojson)}'
}

# A batch over two partitions, in the order a worker sees them.
five_records() {
	scored 2 41
	scored 0 7
	scored 2 42
	scored 0 8
	scored 2 43
}

@test "the handler archives every record once, with a correct manifest" {
	five_records >"$SPOOL/b.ndjson"
	source "$ARCHIVE"
	SLUICE_STAGE=archive SLUICE_BATCH_ID=12 archive_batch "$SPOOL/b.ndjson" "$SPOOL/r.ndjson" 5

	name=archive-2-41-12.tar.gz
	file=$ARCHIVE_DIR/$name
	[ -f "$file" ]
	gzip -t "$file"
	# records.ndjson: every value once, in order, byte for byte.
	diff <(tar -xzOf "$file" records.ndjson) <(jq -r .value "$SPOOL/b.ndjson")
	manifest=$(tar -xzOf "$file" manifest.json)
	[ "$(jq -c 'del(.created_at)' <<<"$manifest")" = "$(jq -c . <<EOF
{"file":"$file","count":5,
 "first":{"topic":"events.scored","partition":2,"offset":41},
 "last":{"topic":"events.scored","partition":2,"offset":43},
 "partitions":{"2":{"first":41,"last":43},"0":{"first":7,"last":8}}}
EOF
)" ]
	[[ $(jq -r .created_at <<<"$manifest") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$ ]]

	# Results: the manifest on the first record, keyed by the file name.
	mapfile -t r <"$SPOOL/r.ndjson"
	[ "${#r[@]}" -eq 5 ]
	[ "$(jq -r '.outputs | length' <<<"${r[0]}")" = 1 ]
	[ "$(jq -r '.outputs[0].key' <<<"${r[0]}")" = "$name" ]
	[ "$(jq -r '.outputs[0].value' <<<"${r[0]}")" = "$manifest" ]
	[ "$(jq -r '.outputs[0].name // "default"' <<<"${r[0]}")" = default ]
	for i in 1 2 3 4; do [ "${r[i]}" = '{}' ]; done

	# Nothing left behind: no partial archive, no work directory.
	[ "$(ls -A "$ARCHIVE_DIR")" = "$name" ]
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "a full frame conversation: archives per batch, file_ack in order, exit 0" {
	five_records >"$SPOOL/batch-1.ndjson"
	{ scored 1 100; scored 1 101; } >"$SPOOL/batch-2.ndjson"
	_sluice_enc_hello 1 archive 0 16777216
	drive "$ARCHIVE" "$_sluice_frame" \
		"$(file_batch_frame 1 5 "$SPOOL/batch-1.ndjson")" \
		"$(file_batch_frame 2 2 "$SPOOL/batch-2.ndjson")" "$(shutdown_frame)"
	[ "$status" -eq 0 ]
	run frames "$OUT"
	[ "${lines[0]}" = "hello_ack 1 archive 0.1.0 2" ]
	[ "${lines[1]}" = "file_ack 1 $SPOOL/batch-1.results.ndjson" ]
	[ "${lines[2]}" = "file_ack 2 $SPOOL/batch-2.results.ndjson" ]
	[ -f "$ARCHIVE_DIR/archive-2-41-1.tar.gz" ]
	[ -f "$ARCHIVE_DIR/archive-1-100-2.tar.gz" ]
	[ "$(jq -r '.outputs[0].key' <"$SPOOL/batch-2.results.ndjson" | head -1)" = archive-1-100-2.tar.gz ]
	[ "$(tar -xzOf "$ARCHIVE_DIR/archive-1-100-2.tar.gz" manifest.json | jq .count)" = 2 ]
	[ "$(sed -n 2p "$SPOOL/batch-2.results.ndjson")" = '{}' ]
}

# expect_write_errors RESULTS COUNT TEXT: every line is a retriable error
# whose message holds TEXT.
expect_write_errors() {
	[ "$(wc -l <"$1")" -eq "$2" ]
	while IFS= read -r line; do
		[ "$(jq -r .retriable <<<"$line")" = true ] || { echo "not retriable: $line"; return 1; }
		[[ $(jq -r .error <<<"$line") == *"$3"* ]] || { echo "want '$3' in: $line"; return 1; }
	done <"$1"
}

@test "a read-only ARCHIVE_DIR: every record gets an error, nothing is archived" {
	# root writes through any mode bits: then the node runs as nobody.
	base=$(mktemp -d /tmp/sluice-archive-ro.XXXXXX)
	chmod 755 "$base"
	mkdir -m 777 "$base/spool"
	mkdir -m 555 "$base/archives"
	AS_USER=''
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || skip "running as root without setpriv"
		AS_USER='setpriv --reuid=65534 --regid=65534 --clear-groups'
	fi
	five_records >"$base/spool/b.ndjson"
	chmod 644 "$base/spool/b.ndjson"
	AS_USER=$AS_USER ARCHIVE_DIR=$base/archives TMPDIR=/tmp drive "$ARCHIVE" "$(hello_frame)" \
		"$(file_batch_frame 1 5 "$base/spool/b.ndjson")"
	results=$(cat "$base/spool/b.results.ndjson")
	archives=$(ls -A "$base/archives")
	rm -rf "$base"
	[ "$status" -eq 0 ]
	run frames "$OUT"
	[ "${lines[1]}" = "file_ack 1 $base/spool/b.results.ndjson" ]
	printf '%s\n' "$results" >"$BATS_TEST_TMPDIR/r"
	expect_write_errors "$BATS_TEST_TMPDIR/r" 5 "Permission denied"
	[[ $results == *"archive: writing $base/archives/test-2-41-1.tar.gz failed: tar (child): "* ]]
	[ -z "$archives" ]
	grep -q "Permission denied" "$ERR"
}

@test "a full disk: every record gets the error, no partial file is left" {
	five_records >"$SPOOL/b.ndjson"
	mkdir -p "$ARCHIVE_DIR"
	# The temporary name points at /dev/full: every write fails with ENOSPC.
	ln -s /dev/full "$ARCHIVE_DIR/.archive-2-41-3.tar.gz.partial"
	source "$ARCHIVE"
	SLUICE_STAGE=archive SLUICE_BATCH_ID=3 archive_batch "$SPOOL/b.ndjson" "$SPOOL/r.ndjson" 5
	expect_write_errors "$SPOOL/r.ndjson" 5 "No space left on device"
	[ -z "$(ls -A "$ARCHIVE_DIR")" ]
}

@test "an ARCHIVE_DIR that cannot be created: every record gets the error" {
	five_records >"$SPOOL/b.ndjson"
	touch "$BATS_TEST_TMPDIR/a-file"
	source "$ARCHIVE"
	ARCHIVE_DIR=$BATS_TEST_TMPDIR/a-file/archives archive_batch "$SPOOL/b.ndjson" "$SPOOL/r.ndjson" 5
	expect_write_errors "$SPOOL/r.ndjson" 5 "Not a directory"
}

@test "null, binary and multi-line values go to the DLQ; the rest is archived" {
	{
		jq -nc '{topic: "events.scored", partition: 0, offset: 1, timestamp: 1, key: "k", value: null, headers: {}}'
		scored 0 2
		jq -nc '{topic: "events.scored", partition: 0, offset: 3, timestamp: 1, key: "AP8=", value: "AP8=", headers: {}, encoding: "base64"}'
		jq -nc '{topic: "events.scored", partition: 0, offset: 4, timestamp: 1, key: "k", value: "{\n}", headers: {}}'
		scored 0 5
	} >"$SPOOL/b.ndjson"
	source "$ARCHIVE"
	SLUICE_BATCH_ID=4 archive_batch "$SPOOL/b.ndjson" "$SPOOL/r.ndjson" 5
	mapfile -t r <"$SPOOL/r.ndjson"
	[ "${#r[@]}" -eq 5 ]
	[[ $(jq -r .error <<<"${r[0]}") == *"value is null"* ]]
	# The manifest rides on the first record that is archived.
	[ "$(jq -r '.outputs[0].key' <<<"${r[1]}")" = archive-0-2-4.tar.gz ]
	[[ $(jq -r .error <<<"${r[2]}") == *"binary"* ]]
	[[ $(jq -r .error <<<"${r[3]}") == *"several lines"* ]]
	[ "${r[4]}" = '{}' ]
	diff <(tar -xzOf "$ARCHIVE_DIR/archive-0-2-4.tar.gz" records.ndjson) \
		<(sed -n '2p;5p' "$SPOOL/b.ndjson" | jq -r .value)
	[ "$(jq -r '.outputs[0].value | fromjson | .count' <<<"${r[1]}")" = 2 ]
}

@test "a batch with nothing to archive writes no archive" {
	jq -nc '{topic: "events.scored", partition: 0, offset: 1, timestamp: 1, key: null, value: null, headers: {}}' >"$SPOOL/b.ndjson"
	source "$ARCHIVE"
	archive_batch "$SPOOL/b.ndjson" "$SPOOL/r.ndjson" 1
	[[ $(jq -r .error "$SPOOL/r.ndjson") == *"value is null"* ]]
	[ -z "$(ls -A "$ARCHIVE_DIR")" ]
}
