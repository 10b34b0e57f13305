#!/usr/bin/env bash
# A real Schema Registry on this machine, without Docker: Apicurio Registry
# 2.6 (Apache 2.0), whose Confluent-compatible API (/apis/ccompat/v7) is
# what sluice's wire: confluent topics speak to. Needs Java 17+ and Maven;
# the registry (one zip, ~140 MB: a Quarkus runner jar and its libs) comes
# from Maven Central into .cache/schema-registry/ once, and every later
# start reuses it. Storage is in memory: a stop forgets every schema.
#
#   scripts/schema-registry.sh up        start (or report that it already runs)
#   scripts/schema-registry.sh down      stop
#   scripts/schema-registry.sh status    running or not (exit 0 / 3), URL, pid
#   scripts/schema-registry.sh url       print the base URL sluice uses
#   scripts/schema-registry.sh logs [-f] the end of the registry log (-f: follow)
#
# The tests use it through SLUICE_TEST_SCHEMA_REGISTRY:
#   SLUICE_TEST_SCHEMA_REGISTRY=$(scripts/schema-registry.sh url) go test -run Registry ./stream/codec
#
# Environment:
#   SCHEMA_REGISTRY_PORT       HTTP port (default 8081)
#   SCHEMA_REGISTRY_HEAP_OPTS  JVM heap flags (default -Xmx512m)
#   SCHEMA_REGISTRY_WAIT_SECONDS  how long `up` waits for the registry (default 90)
#   JAVA, MVN                  the java / mvn to use (default: $JAVA_HOME/bin/java or java, mvn)
set -euo pipefail

# The one place the version is chosen.
readonly APICURIO_VERSION=2.6.13.Final
readonly ARTIFACT=io.apicurio:apicurio-registry-app:$APICURIO_VERSION:zip:all
readonly CCOMPAT_PATH=/apis/ccompat/v7

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

say() { printf 'schema-registry: %s\n' "$*"; }
die() {
	local code=$1
	shift
	printf 'schema-registry: %s\n' "$*" >&2
	exit "$code"
}

port=${SCHEMA_REGISTRY_PORT:-8081}
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then die 2 "SCHEMA_REGISTRY_PORT=$port is not a port number"; fi
wait_seconds=${SCHEMA_REGISTRY_WAIT_SECONDS:-90}
[[ $wait_seconds =~ ^[0-9]+$ ]] || die 2 "SCHEMA_REGISTRY_WAIT_SECONDS=$wait_seconds is not a number of seconds"
if [[ -z ${JAVA:-} && -n ${JAVA_HOME:-} ]]; then JAVA=$JAVA_HOME/bin/java; fi
JAVA=${JAVA:-java}
MVN=${MVN:-mvn}

cache=.cache/schema-registry/$APICURIO_VERSION
app=$cache/app
runner=$app/apicurio-registry-app-$APICURIO_VERSION-runner.jar
app_marker=$cache/app.complete # written only after a whole successful unpack
state=.cache/schema-registry/run-$port
log=$state/registry.log
pid_file=$state/registry.pid
url=http://127.0.0.1:$port$CCOMPAT_PATH
port_hint=""
[[ $port == 8081 ]] || port_hint="SCHEMA_REGISTRY_PORT=$port "

# The pid of the registry this state dir belongs to, if it is alive; the
# command line is checked too, so a stale pid file never makes us signal an
# unrelated process.
live_pid() {
	local pid args
	[[ -f $pid_file ]] || return 1
	pid=$(<"$pid_file")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	args=$(ps -ww -o args= -p "$pid" 2>/dev/null) || return 1
	[[ $args == *"-Dquarkus.http.port=$port "*"$root/$runner"* ]] || return 1
	printf '%s' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Succeeds once GET <ccompat>/subjects answers 200 (bash's /dev/tcp: no
# curl needed).
registry_ready() {
	local status
	status=$(
		exec 2>/dev/null
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
		printf 'GET %s/subjects HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n' "$CCOMPAT_PATH" >&3
		IFS= read -r line <&3 && printf '%s' "$line"
	) || return 1
	[[ $status == "HTTP/1."?" 200"* ]]
}

check_tools() {
	local missing="" version major
	command -v "$JAVA" >/dev/null 2>&1 || missing="java"
	if [[ ! -f $app_marker ]] && ! command -v "$MVN" >/dev/null 2>&1; then missing+="${missing:+ and }mvn"; fi
	[[ -z $missing ]] || die 2 "$missing not found: the registry needs Java 17+ and Maven, e.g. apt-get install openjdk-17-jre-headless maven"
	version=$("$JAVA" -version 2>&1 | awk -F'"' '/version/ && v == "" { v = $2 } END { print v }')
	major=${version%%.*}
	[[ $major == 1 ]] && major=$(cut -d. -f2 <<<"$version")
	if ! [[ $major =~ ^[0-9]+$ ]] || ((major < 17)); then
		die 2 "Apicurio Registry $APICURIO_VERSION needs Java 17+, $JAVA is ${version:-of unknown version}"
	fi
}

# unzip, or Python's zipfile where unzip is not installed.
unpack() {
	if command -v unzip >/dev/null 2>&1; then
		unzip -q "$1" -d "$2"
	else
		python3 -m zipfile -e "$1" "$2"
	fi
}

# Fetches and unpacks the registry once; an interrupted run is redone.
fetch_app() {
	[[ -f $app_marker && -f $runner ]] && return 0
	mkdir -p "$cache"
	if command -v flock >/dev/null 2>&1; then
		exec 8>"$cache/.lock"
		flock 8
		if [[ -f $app_marker && -f $runner ]]; then
			exec 8>&-
			return 0
		fi
	fi
	say "fetching Apicurio Registry $APICURIO_VERSION from Maven Central into $app (first run only, ~140 MB)" >&2
	local tmp=$cache/download started=$SECONDS
	rm -rf "$tmp" "$app.tmp"
	if ! "$MVN" -q -B dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$root/$tmp" >"$cache/mvn.log" 2>&1; then
		cat "$cache/mvn.log" >&2
		rm -rf "$tmp"
		die 1 "mvn could not fetch $ARTIFACT (output above; is Maven Central reachable?)"
	fi
	unpack "$tmp"/*.zip "$app.tmp" || die 1 "could not unpack $(ls "$tmp"/*.zip)"
	rm -rf "$tmp" "$app"
	mv "$app.tmp" "$app"
	[[ -f $runner ]] || die 1 "the zip has no $(basename "$runner")"
	printf '%s\n' "$ARTIFACT" >"$app_marker"
	say "fetched in $((SECONDS - started))s" >&2
	if command -v flock >/dev/null 2>&1; then exec 8>&-; fi
}

stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	say "pid $pid still running after 30s, sending SIGKILL" >&2
	kill -KILL "$pid" 2>/dev/null || true
}

cmd_up() {
	local pid deadline heap=()
	mkdir -p "$state"
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$state/.lock"
		flock -w $((wait_seconds + 300)) 9 || die 1 "another scripts/schema-registry.sh up for port $port is still busy"
	fi
	if pid=$(live_pid); then
		say "already running at $url (pid $pid)"
		return 0
	fi
	check_tools
	port_open "$port" && die 1 "port $port is already in use; pick another: SCHEMA_REGISTRY_PORT=N scripts/schema-registry.sh up"
	fetch_app

	read -r -a heap <<<"${SCHEMA_REGISTRY_HEAP_OPTS:--Xmx512m}"
	: >"$log"
	# Detached: nohup, no stdin, the lock fds closed; bound to the loopback
	# interface only.
	(
		cd "$state"
		exec nohup "$JAVA" "${heap[@]}" -Djava.awt.headless=true \
			-Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
			-jar "$root/$runner" >"$root/$log" 2>&1 </dev/null 8>&- 9>&-
	) &
	pid=$!
	printf '%s\n' "$pid" >"$pid_file"

	deadline=$((SECONDS + wait_seconds))
	until registry_ready; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pid_file"
			tail -n 30 "$log" >&2
			die 1 "Apicurio Registry exited during start-up (log above)"
		fi
		if ((SECONDS >= deadline)); then
			stop_pid "$pid"
			rm -f "$pid_file"
			tail -n 30 "$log" >&2
			die 1 "Apicurio Registry not ready at $url after ${wait_seconds}s; stopped it (log above)"
		fi
		sleep 0.5
	done
	say "Apicurio Registry $APICURIO_VERSION ready at $url (log: $log; stop with ${port_hint}scripts/schema-registry.sh down)"
}

cmd_down() {
	local pid
	if pid=$(live_pid); then
		stop_pid "$pid"
		say "stopped the registry at $url (pid $pid)"
	else
		say "not running at $url"
	fi
	rm -f "$pid_file"
}

cmd_status() {
	local pid
	if pid=$(live_pid); then
		say "running at $url (pid $pid, log: $log)"
		return 0
	fi
	say "not running at $url (start with ${port_hint}scripts/schema-registry.sh up)"
	return 3
}

cmd_logs() {
	[[ -f $log ]] || die 1 "no log yet at $log"
	if [[ $1 == 1 ]]; then exec tail -n 100 -F "$log"; fi
	tail -n 100 "$log"
}

command=${1:-}
[[ $# -gt 0 ]] && shift
follow=0
for arg in "$@"; do
	case $arg in
	-f | --follow) [[ $command == logs ]] || die 2 "$arg goes with logs"; follow=1 ;;
	-h | --help) command=help ;;
	*) die 2 "unknown argument $arg (see scripts/schema-registry.sh --help)" ;;
	esac
done

case $command in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
url) printf '%s\n' "$url" ;;
logs) cmd_logs "$follow" ;;
help | -h | --help) usage ;;
"") usage >&2 && exit 2 ;;
*) die 2 "unknown command $command: use up, down, status, url or logs [-f]" ;;
esac
