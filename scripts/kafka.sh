#!/usr/bin/env bash
# A real Apache Kafka broker on this machine, without Docker: the tests and
# `sluice up --brokers` can run against the genuine article, not only the
# embedded broker. Needs Java 17+ and Maven; the broker jars come from Maven
# Central (deploy/kafka/pom.xml) into .cache/kafka/ once, and every later
# start reuses them.
#
#   scripts/kafka.sh up               start (or report that it already runs)
#   scripts/kafka.sh down [--wipe]    stop; --wipe also deletes the topics' data
#   scripts/kafka.sh restart          stop (cleanly) and start again, keeping the data
#   scripts/kafka.sh status           running or not (exit 0 / 3), port, pid
#   scripts/kafka.sh logs [-f]        the end of the broker log (-f: follow)
#
# Environment:
#   KAFKA_PORT             client port (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default KAFKA_PORT+1)
#   KAFKA_HEAP_OPTS        JVM heap flags (default -Xmx1g)
#   KAFKA_WAIT_SECONDS     how long `up` waits for the broker (default 90)
#   JAVA, MVN              the java / mvn to use (default: $JAVA_HOME/bin/java or java, mvn)
#
# Everything one broker owns (data, log, pid, rendered configs) lives in
# .cache/kafka/run-<port>/, so brokers on different ports do not collide and
# `up` after `down` resumes with the same topics.
set -euo pipefail

# The one place the version is chosen; passed to Maven so the pom cannot drift.
readonly KAFKA_VERSION=4.1.1

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

# Paths are shown as the user would type them: relative when run from the
# repository root (the usual `make kafka-up`), absolute otherwise.
orig_pwd=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
show() {
	if [[ $orig_pwd == "$root" ]]; then printf '%s' "$1"; else printf '%s/%s' "$root" "$1"; fi
}

say() { printf 'kafka: %s\n' "$*"; }
# die CODE MESSAGE: one line on stderr, then exit CODE.
die() {
	local code=$1
	shift
	printf 'kafka: %s\n' "$*" >&2
	exit "$code"
}

# ---- settings ---------------------------------------------------------------

port=${KAFKA_PORT:-9092}
# port+1 is the default controller port, hence < 65535.
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65534)); then die 2 "KAFKA_PORT=$port is not a port number"; fi
cport=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
if ! [[ $cport =~ ^[0-9]+$ ]] || ((cport < 1 || cport > 65535)); then die 2 "KAFKA_CONTROLLER_PORT=$cport is not a port number"; fi
((cport != port)) || die 2 "KAFKA_CONTROLLER_PORT must differ from KAFKA_PORT ($port)"
wait_seconds=${KAFKA_WAIT_SECONDS:-90}
[[ $wait_seconds =~ ^[0-9]+$ ]] || die 2 "KAFKA_WAIT_SECONDS=$wait_seconds is not a number of seconds"

if [[ -z ${JAVA:-} && -n ${JAVA_HOME:-} ]]; then JAVA=$JAVA_HOME/bin/java; fi
JAVA=${JAVA:-java}
MVN=${MVN:-mvn}

# Relative names for messages, absolute ones for the JVM and the pid check.
cache=.cache/kafka/$KAFKA_VERSION
libs=$cache/libs
libs_marker=$cache/libs.complete # written only after a whole successful copy
state=.cache/kafka/run-$port
data=$state/data
log=$state/kafka.log
stdout_log=$state/stdout.log # JVM output before log4j starts (bad flags, crashes)
pid_file=$state/kafka.pid
server_props=$root/$state/server.properties

# The make command that reaches this broker, for the hints in messages.
make_prefix=""
[[ $port == 9092 ]] || make_prefix="KAFKA_PORT=$port "
stop_hint="${make_prefix}make kafka-down"

# ---- helpers ----------------------------------------------------------------

# The pid of the broker this state dir belongs to, if it is alive. The
# command line is checked as well because after a reboot the pid in a stale
# pid file can belong to an unrelated process, which we must not signal.
live_pid() {
	local pid args
	[[ -f $pid_file ]] || return 1
	pid=$(<"$pid_file")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	args=$(ps -ww -o args= -p "$pid" 2>/dev/null) || return 1
	[[ $args == *"$server_props"* ]] || return 1
	printf '%s' "$pid"
}

# Succeeds when something accepts TCP connections on 127.0.0.1:$1. Bash's
# /dev/tcp needs no extra tool; a refused local connect returns at once.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# " (by NAME pid N)" for the listener on port $1 when ss or lsof can tell
# (ss only names processes of the same user unless run as root).
listener_of() {
	local who=""
	if command -v ss >/dev/null 2>&1; then
		who=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -n 1 |
			sed 's/users:(("\([^"]*\)",pid=\([0-9]*\)/\1 pid \2/') || true
	elif command -v lsof >/dev/null 2>&1; then
		who=$(lsof -nP -iTCP:"$1" -sTCP:LISTEN 2>/dev/null | awk 'NR == 2 { print $1 " pid " $2 }') || true
	fi
	[[ -z $who ]] || printf ' (by %s)' "$who"
}

libs_complete() {
	[[ -f $libs_marker && -f $libs/kafka_2.13-$KAFKA_VERSION.jar && $(<"$libs_marker") == "$(pom_fingerprint)" ]]
}

# Changing the pom (another log4j, say) must trigger a new copy.
pom_fingerprint() { cksum <deploy/kafka/pom.xml; }

# Checks java (17+) and, when the jars still have to be fetched, mvn; all
# that is missing is named in one line with the command that installs it.
check_tools() {
	local missing="" version major
	if ! command -v "$JAVA" >/dev/null 2>&1; then
		missing="java"
		[[ $JAVA == java ]] || missing+=" (JAVA=$JAVA)"
	fi
	if ! libs_complete && ! command -v "$MVN" >/dev/null 2>&1; then
		missing+="${missing:+ and }mvn"
		[[ $MVN == mvn ]] || missing+=" (MVN=$MVN)"
	fi
	if [[ -n $missing ]]; then
		die 2 "$missing not found: Apache Kafka needs Java 17+ and Maven, e.g. apt-get install openjdk-17-jre-headless maven"
	fi
	# `java -version` prints e.g. openjdk version "17.0.15" (old ones "1.8.0_392").
	# awk reads everything instead of exiting early so java never gets SIGPIPE.
	version=$("$JAVA" -version 2>&1 | awk -F'"' '/version/ && v == "" { v = $2 } END { print v }')
	major=${version%%.*}
	[[ $major == 1 ]] && major=$(cut -d. -f2 <<<"$version")
	if ! [[ $major =~ ^[0-9]+$ ]] || ((major < 17)); then
		die 2 "Apache Kafka $KAFKA_VERSION needs Java 17+, $JAVA is ${version:-of unknown version}: apt-get install openjdk-17-jre-headless (or set JAVA / JAVA_HOME)"
	fi
}

# Copies the broker and its runtime dependencies into $libs, once. The copy
# goes to a temporary dir that is renamed at the end, and the marker is
# written last, so an interrupted download is simply redone next time.
fetch_libs() {
	libs_complete && return 0
	mkdir -p "$cache"
	# Two `up`s on different ports may start together (parallel test jobs):
	# the second waits for the first one's download instead of racing it.
	if command -v flock >/dev/null 2>&1; then
		exec 8>"$cache/.lock"
		flock 8
		if libs_complete; then
			exec 8>&-
			return 0
		fi
	fi
	# Progress goes to stderr: stdout of a successful `up` is the one ready line.
	say "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $(show "$libs") (first run only, ~45 MB)" >&2
	local tmp=$libs.tmp started=$SECONDS
	rm -rf "$tmp"
	# Maven's output goes to a file and is shown only on failure: even with
	# -q, Maven 3.8 prints stray colour-reset escapes on success.
	if ! "$MVN" -q -B -f deploy/kafka/pom.xml dependency:copy-dependencies \
		-Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$root/$tmp" -DincludeScope=runtime \
		>"$cache/mvn.log" 2>&1; then
		cat "$cache/mvn.log" >&2
		rm -rf "$tmp"
		die 1 "mvn could not fetch Apache Kafka $KAFKA_VERSION (output above; is Maven Central reachable?)"
	fi
	rm -rf "$libs"
	mv "$tmp" "$libs"
	pom_fingerprint >"$libs_marker"
	say "fetched $(find "$libs" -name '*.jar' | wc -l | tr -d ' ') jars ($(du -sh "$libs" | cut -f1)) in $((SECONDS - started))s" >&2
	if command -v flock >/dev/null 2>&1; then exec 8>&-; fi
}

# render TEMPLATE OUT: fills the @NAME@ placeholders of a deploy/kafka template.
render() {
	local text
	text=$(<"$1")
	# Bash 5.2 would treat & in a replacement as "the match"; paths may hold one.
	shopt -u patsub_replacement 2>/dev/null || true
	text=${text//@PORT@/$port}
	text=${text//@CONTROLLER_PORT@/$cport}
	text=${text//@DATA_DIR@/$root/$data}
	text=${text//@LOG_FILE@/$root/$log}
	printf '%s\n' "$text" >"$2"
}

# Prints the end of what the broker logged during this start (kafka.log is
# appended to across starts; $log_start is its size before this one), for a
# failed start.
log_start=0
show_logs() {
	local size
	if [[ -s $log ]]; then
		size=$(wc -c <"$log")
		# A smaller file means it rolled over meanwhile: show its end.
		((size >= log_start)) || log_start=0
		if ((size > log_start)); then
			printf -- '--- last 30 lines of %s ---\n' "$(show "$log")" >&2
			tail -c +$((log_start + 1)) "$log" | tail -n 30 >&2
		fi
	fi
	if [[ -s $stdout_log ]]; then
		printf -- '--- last 30 lines of %s ---\n' "$(show "$stdout_log")" >&2
		tail -n 30 "$stdout_log" >&2
	fi
}

# Succeeds once the broker answers. bin/sluice (built by `make kafka-up`)
# sends a real metadata request, which only succeeds once the broker has
# joined its controller; without it an open port plus a short grace period
# is the best available sign.
broker_ready() {
	if [[ -x bin/sluice ]]; then
		bin/sluice topics list --brokers "127.0.0.1:$port" >/dev/null 2>&1
	else
		port_open "$port" && sleep 2
	fi
}

# stop_pid PID: SIGTERM lets Kafka flush and close its logs (a clean shutdown
# makes the next start skip log recovery); SIGKILL only after 30 s.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	say "pid $pid still running after 30s, sending SIGKILL" >&2
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
}

# ---- commands ---------------------------------------------------------------

cmd_up() {
	local pid p cluster_id cp deadline heap=()
	# Two `up`s for the same port (parallel test jobs) are serialised: the
	# second waits for the first to finish and then finds it running, instead
	# of racing it for the port and the pid file.
	mkdir -p "$state"
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$state/.lock"
		flock -w $((wait_seconds + 120)) 9 || die 1 "another scripts/kafka.sh up for port $port is still busy"
	fi
	if pid=$(live_pid); then
		say "already running on 127.0.0.1:$port (pid $pid; stop with $stop_hint)"
		return 0
	fi
	check_tools
	for p in "$port" "$cport"; do
		if port_open "$p"; then
			die 1 "port $p is already in use$(listener_of "$p"); stop that, or pick free ports: KAFKA_PORT=N make kafka-up (the controller takes N+1, or KAFKA_CONTROLLER_PORT)"
		fi
	done
	fetch_libs

	mkdir -p "$data"
	rm -f "$pid_file"
	render deploy/kafka/server.properties.template "$state/server.properties"
	render deploy/kafka/log4j2.properties.template "$state/log4j2.properties"
	# The quotes keep the * for the JVM, which expands it to every jar.
	cp="$root/$libs/*"

	# KRaft refuses to start on an unformatted dir; formatting an existing one
	# would fail (and must not happen: it holds the topics), so only the first
	# start formats. meta.properties is what `format` writes.
	if [[ ! -f $data/meta.properties ]]; then
		cluster_id=$("$JAVA" -cp "$cp" kafka.tools.StorageTool random-uuid)
		if ! "$JAVA" -cp "$cp" -Dlog4j2.configurationFile="$root/$state/log4j2.properties" \
			kafka.tools.StorageTool format -t "$cluster_id" -c "$server_props" >"$state/format.log" 2>&1; then
			cat "$state/format.log" >&2
			die 1 "could not format $(show "$data")"
		fi
	fi

	read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xmx1g}"
	if [[ -f $log ]]; then log_start=$(wc -c <"$log"); fi
	# Detached from this script: nohup and </dev/null so it outlives the
	# terminal; run from the state dir so a JVM crash file lands there; fds 8
	# and 9 (the locks) closed so the broker does not hold them.
	(
		cd "$state"
		exec nohup "$JAVA" "${heap[@]}" -Djava.awt.headless=true \
			-Dlog4j2.configurationFile="$root/$state/log4j2.properties" \
			-cp "$cp" kafka.Kafka "$server_props" >"$root/$stdout_log" 2>&1 </dev/null 8>&- 9>&-
	) &
	pid=$!
	printf '%s\n' "$pid" >"$pid_file"

	deadline=$((SECONDS + wait_seconds))
	until broker_ready; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pid_file"
			show_logs
			die 1 "Apache Kafka exited during start-up (logs above)"
		fi
		if ((SECONDS >= deadline)); then
			# A broker that never became ready is stopped rather than left
			# half-alive on the port.
			stop_pid "$pid"
			rm -f "$pid_file"
			show_logs
			die 1 "Apache Kafka not ready on 127.0.0.1:$port after ${wait_seconds}s; stopped it (logs above)"
		fi
		sleep 0.5
	done
	say "Apache Kafka $KAFKA_VERSION ready on 127.0.0.1:$port (log: $(show "$log"), data: $(show "$data"); stop with $stop_hint)"
}

cmd_down() {
	local wipe=$1 pid
	if pid=$(live_pid); then
		stop_pid "$pid"
		say "stopped Apache Kafka on 127.0.0.1:$port (pid $pid)"
	else
		say "not running on 127.0.0.1:$port"
	fi
	rm -f "$pid_file"
	if [[ $wipe == 1 && -d $data ]]; then
		rm -rf "$data"
		say "wiped $(show "$data")"
	fi
}

cmd_status() {
	local pid
	if pid=$(live_pid); then
		say "running on 127.0.0.1:$port (pid $pid, controller port $cport, log: $(show "$log"), data: $(show "$data"))"
		return 0
	fi
	say "not running on 127.0.0.1:$port (start with ${make_prefix}make kafka-up)"
	# 3 = "not running", as in the LSB init-script convention.
	return 3
}

cmd_logs() {
	local follow=$1
	[[ -f $log ]] || die 1 "no log yet at $(show "$log") (start with ${make_prefix}make kafka-up)"
	if [[ $follow == 1 ]]; then exec tail -n 100 -F "$log"; fi
	tail -n 100 "$log"
}

# ---- main -------------------------------------------------------------------

command=${1:-}
[[ $# -gt 0 ]] && shift
wipe=0
follow=0
for arg in "$@"; do
	case $arg in
	--wipe) [[ $command == down ]] || die 2 "--wipe goes with down: scripts/kafka.sh down --wipe"; wipe=1 ;;
	-f | --follow) [[ $command == logs ]] || die 2 "$arg goes with logs"; follow=1 ;;
	-h | --help) command=help ;;
	*) die 2 "unknown argument $arg (see scripts/kafka.sh --help)" ;;
	esac
done

case $command in
up) cmd_up ;;
restart) cmd_down 0 && cmd_up ;;
down) cmd_down "$wipe" ;;
status) cmd_status ;;
logs) cmd_logs "$follow" ;;
help | -h | --help) usage ;;
"") usage >&2 && exit 2 ;;
*) die 2 "unknown command $command: use up, down [--wipe], restart, status or logs [-f]" ;;
esac
