# Shared by the bats files: the vectors, hex <-> bytes, and driving a node
# through pipes.

# Found from this file, so that other directories' tests can load it too.
SHELL_ADAPTER=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd -- "$SHELL_ADAPTER/../.." && pwd)
VECTORS=$REPO/testdata/protocol/vectors.json
CONFORMANCE=$SHELL_ADAPTER/conformance-node.sh

# The library's codec, loaded without running a node.
source "$SHELL_ADAPTER/sluice.sh"

# vector_frame NAME: the hex frame of a valid vector.
vector_frame() { jq -r --arg n "$1" '.valid[] | select(.name == $n) | .frame' "$VECTORS"; }

# vector_message NAME: the message of a valid vector, compact JSON.
vector_message() { jq -c --arg n "$1" '.valid[] | select(.name == $n) | .message' "$VECTORS"; }

# hex_bytes HEX: write the bytes (independently of the library's writer).
hex_bytes() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }

# bytes_hex: stdin as lowercase hex.
bytes_hex() { od -An -v -tx1 | tr -d ' \n'; }

# drive NODE_SCRIPT HEX...: pipe the frames to `bash NODE_SCRIPT`; sets
# $status, and leaves its stdout in $OUT (a file) and stderr in $ERR.
# $AS_USER (e.g. `setpriv --reuid=65534 ...`) prefixes the command.
drive() {
	local node=$1
	shift
	OUT=$BATS_TEST_TMPDIR/out.bin ERR=$BATS_TEST_TMPDIR/err.txt
	status=0
	hex_bytes "$(printf '%s' "$@")" | ${AS_USER:-} bash "$node" >"$OUT" 2>"$ERR" || status=$?
}

# frames FILE: one line per frame of FILE: `type field...` (decoded by the
# library, whose codec the vector tests pin).
frames() {
	local fd rc
	exec {fd}<"$1"
	while :; do
		_sluice_read_frame "$fd" 16777216
		rc=$?
		((rc == 1)) && break
		if ((rc == 2)); then
			echo "unreadable: $_sluice_err"
			break
		fi
		if ! _sluice_decode "$_sluice_payload"; then
			echo "undecodable: $_sluice_err"
			break
		fi
		case $_sluice_type in
		hello_ack) echo "hello_ack ${_sluice_m[version]} ${_sluice_m[name]} ${_sluice_m[node_version]} ${_sluice_m[features]}" ;;
		file_ack) echo "file_ack ${_sluice_m[id]} ${_sluice_m[path]}" ;;
		fatal) echo "fatal ${_sluice_m[message]}" ;;
		*) echo "$_sluice_type" ;;
		esac
	done
	exec {fd}<&-
}

hello_frame() { # [MAX_FRAME [KEY VALUE]...]
	_sluice_enc_hello 1 test 0 "${1:-1048576}" "${@:2}"
	printf '%s' "$_sluice_frame"
}

file_batch_frame() { # ID COUNT PATH
	_sluice_enc_file_batch "$1" "$2" "$3"
	printf '%s' "$_sluice_frame"
}

shutdown_frame() { printf '0000000105'; }

# record VALUE [KEY]: one spool line, as the runtime writes it.
record() {
	jq -nc --arg v "$1" --arg k "${2:-k}" \
		'{topic: "t", partition: 0, offset: 1, timestamp: 5, key: $k, value: $v, headers: {}}'
}
