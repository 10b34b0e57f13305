# Protocol v1 messages <-> hex (docs/protocol.md).
#
# The shell adapter speaks files mode only, so it codes the messages a
# files-mode conversation uses: hello, hello_ack, file_batch, file_ack,
# shutdown and fatal. batch and results frames are refused as malformed for
# this node (they never reach a node that announced files mode).
#
# Integers above 2^63 (batch ids) do not fit bash arithmetic, so u64 fields
# go through printf %u / %x, which treat the 64 bits as unsigned.

declare -gA _sluice_m=()        # fields of the last decoded message
declare -gA _sluice_settings=() # settings map of the last decoded hello

# --- encoding: each sets _sluice_frame to the whole frame (length included)

_sluice_hex_str() { # STRING -> _sluice_r = len:u32 + bytes
	_sluice_tohex "$1"
	printf -v _sluice_r '%08x%s' $((${#_sluice_hex} / 2)) "$_sluice_hex"
}

_sluice_frame_of() { # PAYLOAD_HEX -> _sluice_frame
	printf -v _sluice_frame '%08x%s' $((${#1} / 2)) "$1"
}

# _sluice_enc_hello VERSION STAGE WORKER MAX_FRAME [KEY VALUE]...
# (runtime -> node; the tests use it to drive nodes.)
_sluice_enc_hello() {
	local p keys k
	local -A kv=()
	printf -v p '01%04x' "$1"
	_sluice_hex_str "$2"
	p+=$_sluice_r
	printf -v _sluice_r '%08x%08x' "$3" "$4"
	p+=$_sluice_r
	shift 4
	while (($# >= 2)); do
		kv[$1]=$2
		shift 2
	done
	printf -v _sluice_r '%08x' "${#kv[@]}"
	p+=$_sluice_r
	# The map is encoded in ascending byte order of its keys.
	keys=$(printf '%s\n' "${!kv[@]}" | LC_ALL=C sort)
	while IFS= read -r k; do
		[[ -n $k ]] || continue
		_sluice_hex_str "$k"
		p+=$_sluice_r
		_sluice_hex_str "${kv[$k]}"
		p+=$_sluice_r
	done <<<"$keys"
	_sluice_frame_of "$p"
}

# _sluice_enc_hello_ack VERSION NAME NODE_VERSION FEATURES
_sluice_enc_hello_ack() {
	local p
	printf -v p '02%04x' "$1"
	_sluice_hex_str "$2"
	p+=$_sluice_r
	_sluice_hex_str "$3"
	p+=$_sluice_r
	printf -v _sluice_r '%08x' "$4"
	_sluice_frame_of "$p$_sluice_r"
}

# _sluice_enc_file_batch ID COUNT PATH (runtime -> node; for the tests)
_sluice_enc_file_batch() {
	local p
	printf -v p '07%016x%08x' "$1" "$2"
	_sluice_hex_str "$3"
	_sluice_frame_of "$p$_sluice_r"
}

# _sluice_enc_file_ack ID PATH
_sluice_enc_file_ack() {
	local p
	printf -v p '08%016x' "$1"
	_sluice_hex_str "$2"
	_sluice_frame_of "$p$_sluice_r"
}

_sluice_enc_shutdown() { _sluice_frame_of 05; }

# _sluice_enc_fatal MESSAGE
_sluice_enc_fatal() {
	_sluice_hex_str "$1"
	_sluice_frame_of "06$_sluice_r"
}

# --- decoding: cursor _sluice_o (in hex digits) over payload _sluice_p

_sluice_need() { # BYTES WHAT
	if (($1 < 0 || _sluice_o + 2 * $1 > ${#_sluice_p})); then
		_sluice_err="malformed frame: truncated $2 at byte $((_sluice_o / 2)) of $((${#_sluice_p} / 2))"
		return 1
	fi
}

_sluice_uint() { # BYTES FIELD: unsigned big-endian integer -> _sluice_m[FIELD]
	_sluice_need "$1" "$2" || return 1
	printf -v "_sluice_m[$2]" '%u' "$((16#${_sluice_p:_sluice_o:2*$1}))"
	((_sluice_o += 2 * $1))
}

_sluice_str() { # FIELD [VAR]: string -> _sluice_m[FIELD] (or VAR)
	local n hex
	_sluice_need 4 "$1" || return 1
	n=$((16#${_sluice_p:_sluice_o:8}))
	((_sluice_o += 8))
	_sluice_need "$n" "$1" || return 1
	hex=${_sluice_p:_sluice_o:2*n}
	((_sluice_o += 2 * n))
	if [[ $hex =~ ^(..)*00 ]]; then
		_sluice_err="malformed frame: $1 holds a NUL byte, which a shell node cannot handle"
		return 1
	fi
	_sluice_unhex "$hex" "${2:-_sluice_m[$1]}"
}

_sluice_map() { # settings map -> _sluice_settings
	local n i k v
	_sluice_settings=()
	_sluice_need 4 "settings count" || return 1
	n=$((16#${_sluice_p:_sluice_o:8}))
	((_sluice_o += 8))
	# Each entry takes at least 8 bytes: refuse a count the frame cannot hold.
	if ((n * 8 > (${#_sluice_p} - _sluice_o) / 2)); then
		_sluice_err="malformed frame: settings count $n exceeds the $(((${#_sluice_p} - _sluice_o) / 2)) bytes left"
		return 1
	fi
	for ((i = 0; i < n; i++)); do
		_sluice_str "setting key" k && _sluice_str "setting value" v || return 1
		# Bash arrays cannot have an empty key; such a setting is unusable.
		[[ -n $k ]] && _sluice_settings[$k]=$v
	done
	return 0
}

# _sluice_decode PAYLOAD_HEX: set _sluice_type and _sluice_m[...] (and
# _sluice_settings for a hello). Returns 1 with _sluice_err if malformed.
_sluice_decode() {
	local LC_ALL=C
	_sluice_p=$1 _sluice_o=2 _sluice_err='' _sluice_type=''
	_sluice_m=()
	if ((${#_sluice_p} < 2)); then
		_sluice_err="malformed frame: empty frame"
		return 1
	fi
	case ${_sluice_p:0:2} in
	01)
		_sluice_type=hello
		_sluice_uint 2 version && _sluice_str stage && _sluice_uint 4 worker &&
			_sluice_uint 4 max_frame && _sluice_map
		;;
	02)
		_sluice_type=hello_ack
		_sluice_uint 2 version && _sluice_str name && _sluice_str node_version &&
			_sluice_uint 4 features
		;;
	05) _sluice_type=shutdown ;;
	06) _sluice_type=fatal && _sluice_str message ;;
	07)
		_sluice_type=file_batch
		_sluice_uint 8 id && _sluice_uint 4 count && _sluice_str path
		;;
	08) _sluice_type=file_ack && _sluice_uint 8 id && _sluice_str path ;;
	03 | 04)
		_sluice_err="malformed frame: $([[ ${_sluice_p:0:2} == 03 ]] && echo batch || echo results) frames are not used in files mode"
		false
		;;
	*)
		_sluice_err="malformed frame: unknown message type 0x${_sluice_p:0:2}"
		false
		;;
	esac || return 1
	if ((_sluice_o != ${#_sluice_p})); then
		_sluice_err="malformed frame: $(((${#_sluice_p} - _sluice_o) / 2)) trailing bytes after $_sluice_type"
		return 1
	fi
}
