#!/usr/bin/env bats
# The codec against testdata/protocol/vectors.json: every vector a
# files-mode node meets decodes to its message and encodes back to exactly
# its bytes; every invalid frame is refused.

load helpers

FILES_MODE_VECTORS=(hello hello_with_settings hello_ack hello_ack_batch_feature
	hello_ack_other_version hello_ack_files_mode file_batch file_ack shutdown fatal)

# The vector's message with the fields it leaves out at their zero value.
normalized() {
	vector_message "$1" | jq -c '
		if .type == "hello" then {type, version, stage, worker: (.worker // 0), max_frame, settings: (.settings // {})}
		elif .type == "hello_ack" then {type, version, name, node_version, features: (.features // 0)}
		elif .type == "file_batch" then {type, id, count: (.count // 0), path}
		elif .type == "file_ack" then {type, id, path}
		else . end'
}

# decoded PAYLOAD_HEX: the library's decoding as the same JSON shape.
decoded() {
	_sluice_decode "$1" || {
		echo "decode failed: $_sluice_err"
		return 1
	}
	local m=$_sluice_type k
	case $m in
	hello)
		local args=()
		for k in "${!_sluice_settings[@]}"; do args+=("$k" "${_sluice_settings[$k]}"); done
		jq -nc --arg s "${_sluice_m[stage]}" --argjson v "${_sluice_m[version]}" --argjson w "${_sluice_m[worker]}" \
			--argjson mf "${_sluice_m[max_frame]}" \
			'{type: "hello", version: $v, stage: $s, worker: $w, max_frame: $mf,
			  settings: ([$ARGS.positional | select(length > 0) | _nwise(2) | {(.[0]): .[1]}] | add // {})}' --args "${args[@]}"
		;;
	hello_ack)
		jq -nc --argjson v "${_sluice_m[version]}" --arg n "${_sluice_m[name]}" --arg nv "${_sluice_m[node_version]}" \
			--argjson f "${_sluice_m[features]}" '{type: "hello_ack", version: $v, name: $n, node_version: $nv, features: $f}'
		;;
	file_batch)
		jq -nc --argjson id "${_sluice_m[id]}" --argjson c "${_sluice_m[count]}" --arg p "${_sluice_m[path]}" \
			'{type: "file_batch", id: $id, count: $c, path: $p}'
		;;
	file_ack)
		jq -nc --argjson id "${_sluice_m[id]}" --arg p "${_sluice_m[path]}" '{type: "file_ack", id: $id, path: $p}'
		;;
	shutdown) echo '{"type":"shutdown"}' ;;
	fatal) jq -nc --arg m "${_sluice_m[message]}" '{type: "fatal", message: $m}' ;;
	esac
}

# encoded NAME: encode the vector's message with the library; print the hex.
encoded() {
	local msg
	msg=$(normalized "$1")
	case $(jq -r .type <<<"$msg") in
	hello)
		local settings=()
		mapfile -t settings < <(jq -r '.settings | to_entries[] | .key, .value' <<<"$msg")
		_sluice_enc_hello "$(jq -r .version <<<"$msg")" "$(jq -r .stage <<<"$msg")" \
			"$(jq -r .worker <<<"$msg")" "$(jq -r .max_frame <<<"$msg")" "${settings[@]}"
		;;
	hello_ack)
		_sluice_enc_hello_ack "$(jq -r .version <<<"$msg")" "$(jq -r .name <<<"$msg")" \
			"$(jq -r .node_version <<<"$msg")" "$(jq -r .features <<<"$msg")"
		;;
	file_batch) _sluice_enc_file_batch "$(jq -r .id <<<"$msg")" "$(jq -r .count <<<"$msg")" "$(jq -r .path <<<"$msg")" ;;
	file_ack) _sluice_enc_file_ack "$(jq -r .id <<<"$msg")" "$(jq -r .path <<<"$msg")" ;;
	shutdown) _sluice_enc_shutdown ;;
	fatal) _sluice_enc_fatal "$(jq -r .message <<<"$msg")" ;;
	esac
	printf '%s' "$_sluice_frame"
}

@test "every files-mode vector decodes to its message" {
	for name in "${FILES_MODE_VECTORS[@]}"; do
		frame=$(vector_frame "$name")
		[ -n "$frame" ]
		got=$(decoded "${frame:8}")
		want=$(normalized "$name")
		if ! jq -e --argjson a "$got" --argjson b "$want" -n '$a == $b' >/dev/null; then
			echo "$name: decoded $got, want $want"
			return 1
		fi
	done
}

@test "every files-mode vector encodes to exactly its bytes" {
	for name in "${FILES_MODE_VECTORS[@]}"; do
		got=$(encoded "$name")
		want=$(vector_frame "$name")
		if [ "$got" != "$want" ]; then
			echo "$name: encoded $got, want $want"
			return 1
		fi
	done
}

@test "frames read from a pipe decode to the vectors, one after another" {
	# All frames back to back on one pipe: each read must stop exactly at
	# its frame's end, or the next frame would be lost.
	all=''
	for name in "${FILES_MODE_VECTORS[@]}"; do all+=$(vector_frame "$name"); done
	exec {fd}< <(hex_bytes "$all")
	for name in "${FILES_MODE_VECTORS[@]}"; do
		_sluice_read_frame "$fd" 16777216
		[ "$_sluice_payload" = "$(vector_frame "$name" | cut -c9-)" ]
	done
	run _sluice_read_frame "$fd" 16777216
	[ "$status" -eq 1 ] # a clean end of input
	exec {fd}<&-
}

@test "every invalid vector is refused with the right kind of error" {
	count=$(jq '.invalid | length' "$VECTORS")
	for ((i = 0; i < count; i++)); do
		name=$(jq -r ".invalid[$i].name" "$VECTORS")
		kind=$(jq -r ".invalid[$i].error" "$VECTORS")
		max=$(jq -r ".invalid[$i].max_frame" "$VECTORS")
		jq -r ".invalid[$i].frame" "$VECTORS" >"$BATS_TEST_TMPDIR/hex"
		hex_bytes "$(cat "$BATS_TEST_TMPDIR/hex")" >"$BATS_TEST_TMPDIR/frame"
		exec {fd}<"$BATS_TEST_TMPDIR/frame"
		err=''
		if _sluice_read_frame "$fd" "$max"; then
			_sluice_decode "$_sluice_payload" && err="accepted" || err=$_sluice_err
		else
			err=$_sluice_err
		fi
		exec {fd}<&-
		case $kind in
		too_large) [[ $err == "frame too large"* ]] || { echo "$name: got '$err', want too_large"; return 1; } ;;
		malformed) [[ $err == "malformed frame"* ]] || { echo "$name: got '$err', want malformed"; return 1; } ;;
		*) echo "$name: unknown error kind $kind"; return 1 ;;
		esac
	done
}

@test "an oversized frame is refused without reading its payload" {
	# Only the length prefix is available and the pipe stays open: reading
	# the payload would block until the timeout.
	mkfifo "$BATS_TEST_TMPDIR/in"
	exec {w}<>"$BATS_TEST_TMPDIR/in"
	hex_bytes 7fffffff >&"$w"
	run timeout 5 bash -c 'source "$1"; _sluice_read_frame 0 1024; echo "$? $_sluice_err"' _ "$SHELL_ADAPTER/sluice.sh" <"$BATS_TEST_TMPDIR/in"
	exec {w}>&-
	[ "$status" -eq 0 ]
	[ "$output" = "2 frame too large: 2147483647 bytes announced, limit is 1024" ]
}

@test "the end of input inside a frame is malformed, before one is a clean end" {
	exec {fd}< <(hex_bytes 0000000a0700)
	run _sluice_read_frame "$fd" 1024
	[ "$status" -eq 2 ]
	exec {fd}<&-
	exec {fd}< <(hex_bytes 0000)
	run _sluice_read_frame "$fd" 1024
	[ "$status" -eq 2 ]
	exec {fd}<&-
	exec {fd}</dev/null
	run _sluice_read_frame "$fd" 1024
	[ "$status" -eq 1 ]
	exec {fd}<&-
}

@test "u64 ids survive the whole range, strings keep non-ASCII bytes" {
	_sluice_enc_file_ack 18446744073709551615 "/tmp/é ✓/r.ndjson"
	_sluice_decode "${_sluice_frame:8}"
	[ "${_sluice_m[id]}" = 18446744073709551615 ]
	[ "${_sluice_m[path]}" = "/tmp/é ✓/r.ndjson" ]
}

@test "a string holding a NUL byte is refused, not silently cut" {
	run _sluice_decode 0600000003610062
	[ "$status" -eq 1 ]
	_sluice_decode 0600000003610062 || true
	[[ $_sluice_err == *"NUL byte"* ]]
}
