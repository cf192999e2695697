#!/usr/bin/env bash
# fwgate console: how fast the staff's quarantine list answers with many
# objects held. A state directory is filled with BENCH_OBJECTS quarantined
# objects through the store's own commit (bench/fill_quarantine), then
# `fwgate run` serves the console on loopback and one curl, logged in,
# asks BENCH_REQS times each for:
#   page      /quarantine (the first page of 50, with the total)
#   filtered  /quarantine?verdict=infected&host=vendor7.example
#   deep      /quarantine?before=<an id in the middle> (a page far down)
#   api       /api/v1/quarantine (JSON, bearer token)
#   object    /objects/<id> (one object in full)
#   dashboard / (the store's figures by state, today's events)
# over one kept-alive TLS connection (the first request, with the
# handshake, is not counted). Medians and p95 in ms; the target is a
# median under 100 ms for the list with 10,000 objects.
#
# Usage: bash bench/console.sh [BUILD_DIR]   (default: build/)
# Environment: BENCH_OBJECTS [10000], BENCH_REQS [50]
# Talks only to 127.0.0.1; everything lives in a mktemp directory, removed
# at exit with every process started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$PWD/$BUILD") ;; esac
FW=$BUILD/cli/fwgate
FILL=$BUILD/bench/fill_quarantine
OBJECTS=${BENCH_OBJECTS:-10000}
REQS=${BENCH_REQS:-50}
for v in OBJECTS REQS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_$v must be a positive integer" >&2; exit 1; }
done
[ -x "$FW" ] && [ -x "$FILL" ] || { echo "bench: FAIL: $FW or $FILL is missing (tools/dev.sh build)" >&2; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-bench-console-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
SRC=$ROOT
HERE=$ROOT/tests/integration
. "$HERE/lib.sh"

S=$T/state
mkdir -p "$S"
chmod 700 "$S"
t0=${EPOCHREALTIME/./}
"$FILL" "$S" "$OBJECTS"
t1=${EPOCHREALTIME/./}
echo "filled the store with $OBJECTS quarantined objects in $(((t1 - t0) / 1000000)) s"
CP=$(free_port)
{
	printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$(free_port)" "$CP"
	printf '[state]\ndir = %s\n[log]\nfile = %s/events.log\n' "$S" "$T"
} >"$T/fwgate.conf"
"$FW" run -c "$T/fwgate.conf" >"$T/fw.out" 2>"$T/fw.err" &
pids+=($!)
for _ in $(seq 1 200); do grep -q "serving on" "$T/fw.err" && break; sleep 0.05; done
grep -q "serving on" "$T/fw.err" || { echo "bench: fwgate did not start: $(cat "$T/fw.err")" >&2; exit 1; }
printf 'bench-reviewer-password\n' >"$T/pw"
"$FW" user add bench --role reviewer --password-file "$T/pw" -c "$T/fwgate.conf" >/dev/null
TOK=$( "$FW" token add benchapi --role viewer -c "$T/fwgate.conf" 2>/dev/null | grep -o 'fwg_[A-Za-z0-9_-]*' | head -n 1)
CA=$S/ca/ca.crt
CON=https://127.0.0.1:$CP
curl -s -o /dev/null --cacert "$CA" -c "$T/jar" --data-urlencode user=bench --data-urlencode "password=$(cat "$T/pw")" \
	"$CON/login"
MID=$((OBJECTS / 2))

# run NAME PATH [curl args]: REQS+1 requests on one connection; ms each
run() {
	local name=$1 path=$2; shift 2
	local urls=()
	for _ in $(seq 0 "$REQS"); do urls+=(-o /dev/null "$CON$path"); done
	curl -s --cacert "$CA" "$@" -w '%{http_code} %{time_total}\n' "${urls[@]}" \
		| tail -n +2 >"$T/$name.times"
	awk -v n="$name" '$1 != 200 { bad++ } END { if (bad) { print "bench: FAIL: " n ": " bad " answer(s) not 200"; exit 1 } }' "$T/$name.times"
	sort -n -k2 "$T/$name.times" | awk -v n="$name" '{ t[NR] = $2 * 1000 } END {
		printf "%-9s median %7.2f ms   p95 %7.2f ms   max %7.2f ms   (%d requests)\n", n, t[int((NR + 1) / 2)],
		       t[int(NR * 0.95 + 0.999)], t[NR], NR }'
}
echo "quarantine list, $OBJECTS objects held, one kept-alive TLS connection, loopback:"
run page "/quarantine" -b "$T/jar"
run filtered "/quarantine?verdict=infected&host=vendor7.example" -b "$T/jar"
run deep "/quarantine?before=$MID" -b "$T/jar"
run api "/api/v1/quarantine" -H "Authorization: Bearer $TOK"
run object "/objects/$MID" -b "$T/jar"
run dashboard "/" -b "$T/jar"
echo "rerun: BENCH_OBJECTS=$OBJECTS BENCH_REQS=$REQS bash bench/console.sh $BUILD"
