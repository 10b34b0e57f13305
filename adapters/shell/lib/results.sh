# Checking a handler's results file before the runtime sees it.
#
# The runtime treats a results file it cannot parse, or one with the wrong
# number of lines, as a protocol error: it restarts the node and sends the
# same batch again, which fails the same way forever. So the library checks
# the file first and turns what is wrong into per-record errors, which go to
# the DLQ with a reason instead:
#   - a line that is not a valid result replaces itself with an error;
#   - a line longer than the frame limit becomes an error (as the other
#     adapters turn results over max_frame into errors);
#   - the wrong number of lines, or a handler that failed, makes every
#     record of the batch an error.
# Blank lines are skipped, as the runtime skips them.

# The jq program: one raw line in, one line out (the line itself when valid).
_sluice_check_jq='
def text: . == null or type == "string";
def output_problem:
  if type != "object" then "an output is not an object"
  elif (.name | text | not) then "an output name is not a string"
  elif (.key | text | not) then "an output key is not a string or null"
  elif (.value | text | not) then "an output value is not a string or null"
  elif (.headers | . == null or type == "object" | not) then "output headers are not an object"
  elif ((.headers // {}) | all(.[]; text) | not) then "an output header value is not a string or null"
  elif (.encoding | . == null or . == "" or . == "base64" | not) then "unknown output encoding (want base64 or none)"
  else empty end;
def problem:
  if type != "object" then "not a JSON object"
  elif (.error | text | not) then "error is not a string"
  elif (.retriable | . == null or type == "boolean" | not) then "retriable is not a boolean"
  elif .error != null then empty
  elif (.outputs | . == null or type == "array" | not) then "outputs is not an array"
  else first((.outputs // [])[] | output_problem) end;
select(test("\\S"))
| . as $line
| if utf8bytelength >= $max then # the runtime reads a line and its newline within max_frame
    {error: "the result of this record takes \(utf8bytelength) bytes, over the \($max)-byte frame limit"} | tojson
  else
    [(try fromjson catch "\u0000") as $v
     | if $v == "\u0000" then "not valid JSON" else ($v | problem) end] as $p
    | if $p == [] then $line
      else {error: "invalid result line from \($handler): \($p[0])"} | tojson end
  end'

# _sluice_error_lines FILE COUNT MESSAGE: replace FILE with COUNT error lines.
_sluice_error_lines() {
	local line i
	line=$(jq -nc --arg e "$3" '{error: $e}') || line='{"error":"handler failed"}'
	for ((i = 0; i < $2; i++)); do
		printf '%s\n' "$line"
	done >"$1"
}

# _sluice_check_results FILE COUNT HANDLER MAX: rewrite FILE so that it holds
# exactly COUNT valid result lines. Returns 1 if FILE cannot be rewritten.
_sluice_check_results() {
	local file=$1 count=$2 handler=$3 max=$4 tmp=$1.checked lines
	if [[ ! -f $file ]]; then
		_sluice_error_lines "$file" "$count" "$handler wrote no results file"
		return
	fi
	if ! jq -R -r --arg handler "$handler" --argjson max "$max" "$_sluice_check_jq" <"$file" >"$tmp"; then
		rm -f "$tmp"
		_sluice_error_lines "$file" "$count" "$handler wrote a results file that is not text lines"
		return
	fi
	lines=$(wc -l <"$tmp")
	if ((lines != count)); then
		rm -f "$tmp"
		_sluice_error_lines "$file" "$count" "$handler wrote $lines result lines for $count records"
		return
	fi
	mv -f "$tmp" "$file"
}
