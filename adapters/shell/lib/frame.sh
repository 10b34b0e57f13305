# Frames on a file descriptor, as lowercase hex strings.
#
# Bash variables cannot hold NUL bytes and frames are full of them, so the
# library never keeps raw frame bytes in a variable: it reads them through
# `od` into hex and writes them back from hex with printf's \xHH escapes.
#
# Reads use `dd iflag=fullblock,count_bytes`: it asks the kernel for at most
# the bytes still missing, so it never reads past the frame. That matters
# because stdin is a pipe shared with the next dd: a tool that reads ahead
# (a buffered `head`, `read -N` on some systems) would swallow the start of
# the following frame.

# _sluice_read_hex FD N: read exactly N (> 0) bytes from FD into _sluice_hex.
# Fewer bytes (end of input) leave a shorter string; the caller checks.
_sluice_read_hex() {
	local fd=$1 n=$2 bs=65536
	((n < bs)) && bs=$n
	_sluice_hex=$(dd bs="$bs" count="$n" iflag=fullblock,count_bytes status=none <&"$fd" | od -An -v -tx1)
	_sluice_hex=${_sluice_hex//[$' \n']/}
}

# _sluice_read_frame FD MAX: read one frame into _sluice_payload (hex, without
# the length prefix). Returns 0 on success, 1 at a clean end of input (no
# byte of a new frame), 2 on a malformed or oversized frame with the reason
# in _sluice_err. A length over MAX is refused before reading the payload,
# so a hostile length cannot make the node buffer gigabytes.
_sluice_read_frame() {
	local fd=$1 max=$2 len
	_sluice_payload='' _sluice_err=''
	_sluice_read_hex "$fd" 4
	case ${#_sluice_hex} in
	0) return 1 ;;
	8) ;;
	*)
		_sluice_err="malformed frame: end of input inside a length prefix ($((${#_sluice_hex} / 2)) of 4 bytes)"
		return 2
		;;
	esac
	len=$((16#$_sluice_hex))
	if ((len == 0)); then
		_sluice_err="malformed frame: zero-length frame"
		return 2
	fi
	if ((len > max)); then
		_sluice_err="frame too large: $len bytes announced, limit is $max"
		return 2
	fi
	_sluice_read_hex "$fd" "$len"
	if ((${#_sluice_hex} != 2 * len)); then
		_sluice_err="malformed frame: end of input after $((${#_sluice_hex} / 2)) of $len payload bytes"
		return 2
	fi
	_sluice_payload=$_sluice_hex
}

# _sluice_write_hex FD HEX: write the bytes spelled by HEX to FD with one
# printf (one write for the small frames a files-mode node sends).
_sluice_write_hex() {
	local fd=$1 hex=$2 esc='' i
	for ((i = 0; i < ${#hex}; i += 2)); do
		esc+="\\x${hex:i:2}"
	done
	printf '%b' "$esc" >&"$fd"
}

# _sluice_unhex HEX VAR: set VAR to the bytes spelled by HEX. The caller has
# made sure HEX holds no NUL byte (a variable would silently cut it there).
_sluice_unhex() {
	local hex=$1 esc='' i
	for ((i = 0; i < ${#hex}; i += 2)); do
		esc+="\\x${hex:i:2}"
	done
	printf -v "$2" '%b' "$esc"
}

# _sluice_tohex STRING: set _sluice_hex to the hex of STRING's bytes.
_sluice_tohex() {
	if [[ -z $1 ]]; then
		_sluice_hex=''
		return
	fi
	_sluice_hex=$(printf '%s' "$1" | od -An -v -tx1)
	_sluice_hex=${_sluice_hex//[$' \n']/}
}
