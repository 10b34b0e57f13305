# Sluice node adapter for bash: source this file, then call
#
#   sluice_run HANDLER [INIT]
#
# The library speaks protocol v1 in files mode (docs/protocol.md): the
# runtime spools each batch to an NDJSON file and the library calls
#
#   HANDLER BATCH_FILE RESULTS_FILE COUNT
#
# which writes exactly COUNT result lines to RESULTS_FILE, one per record of
# BATCH_FILE, in order. See README.md for the line formats and the API.
#
# Needs bash >= 4.3, coreutils (dd, od, wc) and jq.

_sluice_lib=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/lib
# shellcheck source=lib/frame.sh
source "$_sluice_lib/frame.sh"
# shellcheck source=lib/codec.sh
source "$_sluice_lib/codec.sh"
# shellcheck source=lib/results.sh
source "$_sluice_lib/results.sh"

SLUICE_PROTOCOL_VERSION=1
SLUICE_FEATURE_FILES=2
SLUICE_DEFAULT_MAX_FRAME=$((16 << 20))
declare -gA SLUICE_SETTINGS=()

# sluice_log MESSAGE...: a log line on stderr (the runtime forwards it).
sluice_log() { printf '%s\n' "$*" >&2; }

# sluice_setting KEY [DEFAULT]: print a setting from the pipeline file.
sluice_setting() {
	if [[ -n ${SLUICE_SETTINGS[$1]+set} ]]; then
		printf '%s\n' "${SLUICE_SETTINGS[$1]}"
	else
		printf '%s\n' "${2-}"
	fi
}

# sluice_exit STATUS [MESSAGE]: from a handler, stop the whole node with
# STATUS without answering the batch (a handler runs in a subshell, where
# `exit` only ends the handler). With MESSAGE, the runtime also receives a
# fatal frame carrying it.
sluice_exit() {
	[[ -n ${SLUICE_EXIT_FILE-} ]] || exit "$1" # not in a handler: plain exit
	printf '%s\n%s' "$1" "${2-}" >"$SLUICE_EXIT_FILE"
	exit "$1"
}

# _sluice_fatal MESSAGE: report to the runtime and the log, then exit 1.
_sluice_fatal() {
	sluice_log "sluice node ${_sluice_name:-?}: $1"
	_sluice_enc_fatal "$1"
	_sluice_write_hex "$_sluice_out" "$_sluice_frame" 2>/dev/null
	exit 1
}

_sluice_send() { # FRAME_HEX; the runtime gone means there is nobody to answer
	_sluice_write_hex "$_sluice_out" "$1" || exit 1
}

# _sluice_handshake: read hello, check the version, answer hello_ack.
_sluice_handshake() {
	local rc
	_sluice_read_frame "$_sluice_in" "$SLUICE_DEFAULT_MAX_FRAME"
	rc=$?
	((rc == 1)) && exit 0
	((rc == 2)) && _sluice_fatal "reading the handshake: $_sluice_err"
	# The version comes first and is checked before the rest of the body: a
	# future version may lay the hello out differently.
	if [[ ${_sluice_payload:0:2} == 01 && ${#_sluice_payload} -ge 6 ]] &&
		((16#${_sluice_payload:2:4} != SLUICE_PROTOCOL_VERSION)); then
		_sluice_fatal "unsupported protocol version $((16#${_sluice_payload:2:4})); this node speaks $SLUICE_PROTOCOL_VERSION"
	fi
	_sluice_decode "$_sluice_payload" || _sluice_fatal "reading the handshake: $_sluice_err"
	[[ $_sluice_type == hello ]] || _sluice_fatal "expected a hello frame first, got $_sluice_type"
	# Exported: a handler may be an external program.
	export SLUICE_STAGE=${_sluice_m[stage]} SLUICE_WORKER=${_sluice_m[worker]}
	export SLUICE_MAX_FRAME=${_sluice_m[max_frame]}
	((SLUICE_MAX_FRAME > 0)) || SLUICE_MAX_FRAME=$SLUICE_DEFAULT_MAX_FRAME
	SLUICE_SETTINGS=()
	local k
	for k in "${!_sluice_settings[@]}"; do
		SLUICE_SETTINGS[$k]=${_sluice_settings[$k]}
	done
	if [[ -n $_sluice_init ]]; then
		"$_sluice_init" || _sluice_fatal "init: $_sluice_init failed: exit $?"
	fi
	_sluice_enc_hello_ack "$SLUICE_PROTOCOL_VERSION" "$_sluice_name" "${SLUICE_NODE_VERSION:-0.0.0}" "$SLUICE_FEATURE_FILES"
	_sluice_send "$_sluice_frame"
}

# _sluice_handle ID COUNT PATH: run the handler on one spooled batch, check
# its results and answer file_ack.
_sluice_handle() {
	local id=$1 count=$2 path=$3 results rc marker status message
	if [[ $path == *.ndjson ]]; then
		results=${path%.ndjson}.results.ndjson
	else
		results=$path.results.ndjson
	fi
	marker=$results.exit
	rm -f "$marker"
	: >"$results" || _sluice_fatal "cannot create the results file $results"
	# The handler runs in a subshell: `exit`, `set -e` failures and stray
	# variables stay inside it. Its stdin is empty and its stdout is stderr,
	# so nothing it does can corrupt the frames; the protocol descriptors are
	# closed so that a background job it leaves cannot hold the pipes open.
	(
		exec {_sluice_in}<&- {_sluice_out}>&-
		[[ $_sluice_user_opts == set ]] || $_sluice_user_opts
		export SLUICE_BATCH_ID=$id SLUICE_EXIT_FILE=$marker
		"$_sluice_handler" "$path" "$results" "$count"
	)
	rc=$?
	if [[ -f $marker ]]; then
		{ IFS= read -r status && IFS= read -r -d '' message; } <"$marker"
		rm -f "$marker"
		[[ -n $message ]] && _sluice_fatal "$message"
		exit "${status:-1}"
	fi
	if ((rc != 0)); then
		sluice_log "sluice node $_sluice_name: $_sluice_handler failed on batch $id: exit $rc"
		_sluice_error_lines "$results" "$count" "$_sluice_handler failed: exit $rc" ||
			_sluice_fatal "cannot write the results file $results"
	else
		_sluice_check_results "$results" "$count" "$_sluice_handler" "$SLUICE_MAX_FRAME" ||
			_sluice_fatal "cannot write the results file $results"
	fi
	_sluice_enc_file_ack "$id" "$results"
	_sluice_send "$_sluice_frame"
}

# sluice_run HANDLER [INIT]: serve the node on stdin/stdout and exit: 0 after
# shutdown or the end of input, 1 after a protocol error (reported to the
# runtime as a fatal frame). INIT, if given, runs once after the hello
# (SLUICE_STAGE, SLUICE_SETTINGS... are set) and before the first batch, in
# the node's own shell, so the variables it sets are seen by the handler.
sluice_run() {
	_sluice_handler=${1:?usage: sluice_run HANDLER [INIT]}
	_sluice_init=${2-}
	_sluice_name=${SLUICE_NODE_NAME:-$(basename -- "$0" .sh)}
	if [[ -z $(type -t "$_sluice_handler") ]]; then
		sluice_log "sluice_run: $_sluice_handler is not a function or command"
		exit 2
	fi
	command -v jq >/dev/null || {
		sluice_log "sluice_run: jq is needed (apt-get install jq)"
		exit 2
	}
	# The script's options are restored inside each handler (so `set -e`
	# works there) but the loop itself must not stop on a failed test. ($-
	# is read here, not in $(set +o): bash clears -e in command substitutions.)
	_sluice_user_opts='set'
	[[ $- == *e* ]] && _sluice_user_opts+=' -o errexit'
	[[ $- == *u* ]] && _sluice_user_opts+=' -o nounset'
	shopt -qo pipefail && _sluice_user_opts+=' -o pipefail'
	set +o errexit +o nounset +o pipefail
	# Keep the protocol on private descriptors; the script's own stdout
	# becomes stderr and its stdin becomes empty.
	exec {_sluice_in}<&0 {_sluice_out}>&1 </dev/null >&2
	_sluice_handshake
	local rc
	while :; do
		_sluice_read_frame "$_sluice_in" "$SLUICE_MAX_FRAME"
		rc=$?
		((rc == 1)) && exit 0
		((rc == 2)) && _sluice_fatal "$_sluice_err"
		_sluice_decode "$_sluice_payload" || _sluice_fatal "$_sluice_err"
		case $_sluice_type in
		file_batch) _sluice_handle "${_sluice_m[id]}" "${_sluice_m[count]}" "${_sluice_m[path]}" ;;
		shutdown) exit 0 ;;
		*) _sluice_fatal "unexpected $_sluice_type frame after the handshake" ;;
		esac
	done
}
