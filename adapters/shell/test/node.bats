#!/usr/bin/env bats
# Whole conversations through pipes: the library's run loop, with small
# nodes written in the test and with conformance-node.sh.

load helpers

setup() {
	SPOOL=$BATS_TEST_TMPDIR/spool
	mkdir -p "$SPOOL"
}

# node NAME BODY: write a node script that sources the library.
node() {
	cat >"$BATS_TEST_TMPDIR/$1.sh" <<EOF
source "$SHELL_ADAPTER/sluice.sh"
$2
EOF
	printf '%s' "$BATS_TEST_TMPDIR/$1.sh"
}

@test "the handshake answers exactly the hello_ack_files_mode vector" {
	n=$(node archive 'SLUICE_NODE_VERSION=0.1.0; h() { :; }; sluice_run h')
	drive "$n" "$(vector_frame hello)"
	[ "$status" -eq 0 ]
	[ "$(bytes_hex <"$OUT")" = "$(vector_frame hello_ack_files_mode)" ]
}

@test "another protocol version is refused with exactly the fatal vector, exit 1" {
	_sluice_enc_hello 2 filter 0 16777216
	drive "$CONFORMANCE" "$_sluice_frame"
	[ "$status" -eq 1 ]
	[ "$(bytes_hex <"$OUT")" = "$(vector_frame fatal)" ]
	grep -q "unsupported protocol version 2" "$ERR"
}

@test "a conversation with the conformance node: batches answered in order" {
	for v in "multi:2" "log:hello from the test" alert "fail:bad value" "retry:later" plain ""; do
		record "$v"
	done >"$SPOOL/batch-1.ndjson"
	record "second batch" >"$SPOOL/batch-2.ndjson"
	# Both batches are written before any answer is read (pipelining).
	drive "$CONFORMANCE" "$(hello_frame)" \
		"$(file_batch_frame 1 7 "$SPOOL/batch-1.ndjson")" \
		"$(file_batch_frame 2 1 "$SPOOL/batch-2.ndjson")" "$(shutdown_frame)"
	[ "$status" -eq 0 ]
	run frames "$OUT"
	[ "${lines[0]}" = "hello_ack 1 conformance 1.0.0 2" ]
	[ "${lines[1]}" = "file_ack 1 $SPOOL/batch-1.results.ndjson" ]
	[ "${lines[2]}" = "file_ack 2 $SPOOL/batch-2.results.ndjson" ]
	[ "${#lines[@]}" -eq 3 ]
	mapfile -t r <"$SPOOL/batch-1.results.ndjson"
	[ "${#r[@]}" -eq 7 ]
	[ "$(jq -c '[.outputs[] | [.name, .key, .value]]' <<<"${r[0]}")" = '[["","k","multi:2#0"],["","k","multi:2#1"]]' ]
	[ "$(jq -c '[.outputs[] | [.key, .value]]' <<<"${r[1]}")" = '[["k","log:hello from the test"]]' ]
	[ "$(jq -c '[.outputs[] | [.name // "", .key, .value]]' <<<"${r[2]}")" = '[["","k","alert"],["alerts","k","ALERT"]]' ]
	[ "${r[3]}" = '{"error":"bad value"}' ]
	[ "${r[4]}" = '{"error":"later","retriable":true}' ]
	[ "$(jq -c '.outputs' <<<"${r[5]}")" = '[{"key":"k","value":"plain","headers":{}}]' ]
	[ "$(jq -c '.outputs' <<<"${r[6]}")" = '[{"key":"k","value":"","headers":{}}]' ]
	[ "$(jq -c '.outputs[0].value' "$SPOOL/batch-2.results.ndjson")" = '"second batch"' ]
	grep -qx "hello from the test" "$ERR"
}

@test "the conformance node passes null and binary records through byte for byte" {
	cat >"$SPOOL/b.ndjson" <<'EOF'
{"topic":"t","partition":0,"offset":0,"timestamp":0,"key":null,"value":null,"headers":{}}
{"topic":"t","partition":0,"offset":2,"timestamp":5,"key":"AP8QgH8=","value":"AP8QgH8=","headers":{"null-header":null,"empty-header":"","bin":"AP8QgH8="},"encoding":"base64"}
{"topic":"t","partition":0,"offset":3,"timestamp":5,"key":"/w==","value":"bXVsdGk6MQ==","headers":{},"encoding":"base64"}
EOF
	drive "$CONFORMANCE" "$(hello_frame)" "$(file_batch_frame 1 3 "$SPOOL/b.ndjson")"
	[ "$status" -eq 0 ]
	mapfile -t r <"$SPOOL/b.results.ndjson"
	[ "${r[0]}" = '{"outputs":[{"key":null,"value":null,"headers":{}}]}' ]
	[ "$(jq -c '.outputs[0]' <<<"${r[1]}")" = '{"key":"AP8QgH8=","value":"AP8QgH8=","headers":{"null-header":null,"empty-header":"","bin":"AP8QgH8="},"encoding":"base64"}' ]
	# "multi:1" in a binary record: the output value is base64 too.
	[ "$(jq -c '.outputs' <<<"${r[2]}")" = '[{"name":"","key":"/w==","value":"bXVsdGk6MSMw","encoding":"base64"}]' ]
}

@test "crash exits 3 at once, without answering the batch" {
	{ record ok; record crash; } >"$SPOOL/b.ndjson"
	drive "$CONFORMANCE" "$(hello_frame)" "$(file_batch_frame 1 2 "$SPOOL/b.ndjson")" "$(shutdown_frame)"
	[ "$status" -eq 3 ]
	run frames "$OUT"
	[ "$output" = "hello_ack 1 conformance 1.0.0 2" ]
}

@test "shutdown exits 0; so do the end of input and an empty input" {
	drive "$CONFORMANCE" "$(hello_frame)" "$(shutdown_frame)"
	[ "$status" -eq 0 ]
	drive "$CONFORMANCE" "$(hello_frame)"
	[ "$status" -eq 0 ]
	drive "$CONFORMANCE" ""
	[ "$status" -eq 0 ]
	[ ! -s "$OUT" ]
}

@test "a malformed frame after the handshake: fatal frame, exit 1" {
	drive "$CONFORMANCE" "$(hello_frame)" 0000000142
	[ "$status" -eq 1 ]
	run frames "$OUT"
	[ "${lines[1]}" = "fatal malformed frame: unknown message type 0x42" ]
}

@test "a batch frame is refused: this node announced files mode" {
	drive "$CONFORMANCE" "$(hello_frame)" "$(vector_frame batch_empty)"
	[ "$status" -eq 1 ]
	run frames "$OUT"
	[[ ${lines[1]} == "fatal malformed frame: batch frames are not used in files mode" ]]
}

@test "a frame over the hello's max_frame is refused before its payload is read" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	exec {w}<>"$BATS_TEST_TMPDIR/in"
	hex_bytes "$(hello_frame 64)00000041" >&"$w"
	run timeout 10 bash "$CONFORMANCE" <"$BATS_TEST_TMPDIR/in"
	exec {w}>&-
	[ "$status" -eq 1 ]
	[[ $output == *"frame too large: 65 bytes announced, limit is 64"* ]]
}

@test "a failing handler turns every record of its batch into an error" {
	n=$(node failing 'h() { echo "{}" >"$2"; exit 7; }; sluice_run h')
	{ record a; record b; } >"$SPOOL/b.ndjson"
	drive "$n" "$(hello_frame)" "$(file_batch_frame 1 2 "$SPOOL/b.ndjson")"
	[ "$status" -eq 0 ]
	run frames "$OUT"
	[ "${lines[1]}" = "file_ack 1 $SPOOL/b.results.ndjson" ]
	[ "$(cat "$SPOOL/b.results.ndjson")" = '{"error":"h failed: exit 7"}
{"error":"h failed: exit 7"}' ]
}

@test "set -e in the script stops the handler at the first failure" {
	n=$(node strict 'set -euo pipefail; h() { false; echo "{}" >"$2"; }; sluice_run h')
	record a >"$SPOOL/b.ndjson"
	drive "$n" "$(hello_frame)" "$(file_batch_frame 1 1 "$SPOOL/b.ndjson")" "$(shutdown_frame)"
	[ "$status" -eq 0 ]
	[ "$(cat "$SPOOL/b.results.ndjson")" = '{"error":"h failed: exit 1"}' ]
}

@test "the wrong number of result lines makes every record an error" {
	n=$(node short 'h() { echo "{}" >"$2"; }; sluice_run h')
	{ record a; record b; record c; } >"$SPOOL/b.ndjson"
	drive "$n" "$(hello_frame)" "$(file_batch_frame 1 3 "$SPOOL/b.ndjson")"
	[ "$status" -eq 0 ]
	[ "$(sort -u "$SPOOL/b.results.ndjson")" = '{"error":"h wrote 1 result lines for 3 records"}' ]
	[ "$(wc -l <"$SPOOL/b.results.ndjson")" -eq 3 ]
}

@test "an invalid result line becomes that record's error; blank lines are skipped" {
	n=$(node sloppy 'h() { printf "%s\n" "{}" "not json" "" "{\"outputs\":\"x\"}" "{\"error\":\"e\",\"retriable\":true}" >"$2"; }; sluice_run h')
	for v in a b c d; do record "$v"; done >"$SPOOL/b.ndjson"
	drive "$n" "$(hello_frame)" "$(file_batch_frame 1 4 "$SPOOL/b.ndjson")"
	[ "$status" -eq 0 ]
	mapfile -t r <"$SPOOL/b.results.ndjson"
	[ "${#r[@]}" -eq 4 ]
	[ "${r[0]}" = '{}' ]
	[ "${r[1]}" = '{"error":"invalid result line from h: not valid JSON"}' ]
	[ "${r[2]}" = '{"error":"invalid result line from h: outputs is not an array"}' ]
	[ "${r[3]}" = '{"error":"e","retriable":true}' ]
}

@test "a result line over the frame limit becomes an error" {
	n=$(node big 'h() { jq -nc "{outputs: [{value: (\"x\" * 200)}]}" >"$2"; }; sluice_run h')
	record a >"$SPOOL/b.ndjson"
	drive "$n" "$(hello_frame 100)" "$(file_batch_frame 1 1 "$SPOOL/b.ndjson")"
	[ "$status" -eq 0 ]
	grep -q '"error":"the result of this record takes 226 bytes, over the 100-byte frame limit"' "$SPOOL/b.results.ndjson"
}

@test "the handler sees the settings, stage, batch id; init runs once; stdout cannot corrupt frames" {
	n=$(node settings '
init() { GREETING="hello $(sluice_setting greeting) on $SLUICE_STAGE"; echo "init on stdout"; }
h() {
	echo "stray stdout"
	sluice_log "$GREETING, batch $SLUICE_BATCH_ID, missing=$(sluice_setting nope fallback)"
	echo "{}" >"$2"
}
sluice_run h init')
	record a >"$SPOOL/b.ndjson"
	drive "$n" "$(hello_frame 1048576 greeting world)" "$(file_batch_frame 42 1 "$SPOOL/b.ndjson")"
	[ "$status" -eq 0 ]
	run frames "$OUT"
	[ "${lines[1]}" = "file_ack 42 $SPOOL/b.results.ndjson" ]
	grep -qx "hello world on test, batch 42, missing=fallback" "$ERR"
	grep -qx "stray stdout" "$ERR"
	grep -qx "init on stdout" "$ERR"
}

@test "sluice_exit with a message sends it as a fatal frame" {
	n=$(node giveup 'h() { sluice_exit 1 "cannot reach the disk"; }; sluice_run h')
	record a >"$SPOOL/b.ndjson"
	drive "$n" "$(hello_frame)" "$(file_batch_frame 1 1 "$SPOOL/b.ndjson")"
	[ "$status" -eq 1 ]
	run frames "$OUT"
	[ "${lines[1]}" = "fatal cannot reach the disk" ]
}

@test "the handler may be an external program; it sees the exported variables" {
	cat >"$BATS_TEST_TMPDIR/handler.sh" <<'EOF2'
#!/usr/bin/env bash
echo "external handler: stage=$SLUICE_STAGE batch=$SLUICE_BATCH_ID count=$3" >&2
for ((i = 0; i < $3; i++)); do echo '{}'; done >"$2"
EOF2
	chmod +x "$BATS_TEST_TMPDIR/handler.sh"
	n=$(node external "sluice_run $BATS_TEST_TMPDIR/handler.sh")
	{ record a; record b; } >"$SPOOL/b.ndjson"
	drive "$n" "$(hello_frame)" "$(file_batch_frame 5 2 "$SPOOL/b.ndjson")"
	[ "$status" -eq 0 ]
	[ "$(cat "$SPOOL/b.results.ndjson")" = '{}
{}' ]
	grep -qx "external handler: stage=test batch=5 count=2" "$ERR"
}
