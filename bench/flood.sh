#!/usr/bin/env bash
# fwgate under floods: what the appliance waits while slow clients hold
# connections, and what 1,500 idle connections cost the gateway's process
# tree (RSS, threads, descriptors).
#
# Usage: bash bench/flood.sh [BUILD_DIR]     (default: build/ of this repository)
#
# 1. Slow clients: BENCH_SLOW (256) connections from 127.0.0.2 trickle a
#    CONNECT one byte a second; the appliance (127.0.0.1) then fetches a small
#    file through the gateway, asking again every 0.2 s while it gets 503.
#    Measured twice on one machine: with max_clients_per_source = max_clients
#    (one source may take every slot, as before the per-source limit) and
#    with the default limit (32); default head timeout (10 s). The figure is
#    the time until the appliance has its file, and the ratio of the two.
# 2. Idle flood: 1,500 connections that send nothing, each from its own
#    127.1.x.y address (so the per-source limit does not apply and
#    max_clients is what bounds the gateway), held while the process tree
#    (gateway, scanner supervisor, workers) is sampled every 100 ms: peak
#    VmRSS summed, threads, open descriptors; and the appliance's time to
#    fetch a small file meanwhile (connections that have sent no CONNECT
#    head for a second are preempted when every slot is taken).
#
# Environment: BENCH_SLOW (256), BENCH_IDLE (1500), BENCH_HOLD (12 s a phase).
# Talks only to 127.0.0.0/8; everything lives in a mktemp directory, removed
# at exit with every process started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$PWD/$BUILD") ;; esac
FW=$BUILD/cli/fwgate
SLOW=${BENCH_SLOW:-256}
IDLE=${BENCH_IDLE:-1500}
HOLD=${BENCH_HOLD:-12}
HERE=$ROOT/tests/integration
CLIENTS=$HERE/chaos_clients.py
[ -x "$FW" ] || { echo "bench: FAIL: $FW is missing (tools/dev.sh build)" >&2; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

T=$(mktemp -d /tmp/fwgate-bench-flood-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
SRC=$ROOT
. "$HERE/lib.sh"
ulimit -n "$(ulimit -Hn)"

mkdir -p "$T/www"
bash "$HERE/pki.sh" "$T/pki" >/dev/null
fwdata 4096 "$T/www/small.bin"
start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"

# conf FILE PORT PER_SOURCE
conf() {
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\nmax_clients = 256\nmax_clients_per_source = %s\n' "$2" "$3"
		printf '[console]\nlisten = 127.0.0.1:%s\n' "$(free_port)"
		printf '[state]\ndir = %s/state\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$T" "$T" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\nresolve = vendor.test:%s:127.0.0.1\n' "$T" "$OP"
		printf '[log]\nfile = %s/events.log\n' "$T"
	} >"$1"
}

# appliance PORT: "STATUS SECONDS" of one small download from 127.0.0.1,
# asked again every 0.2 s while the gateway answers 503 (as an appliance
# retries), at most 60 s
appliance() {
	local t0 code n=0
	t0=$(date +%s.%N)
	for _ in $(seq 1 300); do
		n=$((n + 1))
		code=$(curl -q -s -o "$T/got" -w '%{http_code}' --max-time 60 --proxy "http://127.0.0.1:$1" \
			--cacert "$T/state/ca/ca.crt" "https://vendor.test:$OP/files/small.bin?t=$RANDOM" || true)
		[ "$code" = 200 ] && break
		sleep 0.2
	done
	python3 -c "import time; print('$code %.3f %d' % (time.time() - $t0, $n))"
}

# slow_phase PER_SOURCE: the appliance's time under SLOW slow clients
slow_phase() {
	local port
	port=$(free_port)
	conf "$T/slow.conf" "$port" "$1"
	start_fwgate "slow-$1" "$T/slow.conf"
	local gw=$FWPID
	appliance "$port" >/dev/null
	rm -f "$T/ctl"
	mkfifo "$T/ctl"
	python3 "$CLIENTS" hold --proxy "$port" --source 127.0.0.2 --count "$SLOW" --gap 1 --hold 60 \
		<"$T/ctl" >"$T/hold.out" &
	local holder=$!
	exec 9>"$T/ctl"
	for _ in $(seq 1 100); do grep -q HOLDING "$T/hold.out" && break; sleep 0.1; done
	sleep 1
	RESULT=$(appliance "$port")
	exec 9>&-
	wait "$holder" 2>/dev/null || true
	kill -TERM "$gw"
	wait "$gw" 2>/dev/null || true
}

slow_phase 256
without=$RESULT
slow_phase 32
with=$RESULT
printf 'slow clients: %s connections from 127.0.0.2 trickling a CONNECT, max_clients 256\n' "$SLOW"
read -r wo_code wo_s wo_n <<<"$without"
read -r w_code w_s w_n <<<"$with"
printf '  appliance time, per-source limit = max_clients (none): %s s, %s attempt(s) (HTTP %s)\n' "$wo_s" "$wo_n" "$wo_code"
printf '  appliance time, max_clients_per_source = 32:          %s s, %s attempt(s) (HTTP %s)\n' "$w_s" "$w_n" "$w_code"
python3 -c "print('  ratio without/with: %.1fx' % ($wo_s / max($w_s, 1e-6)))"

# --- idle flood from IDLE addresses
port=$(free_port)
conf "$T/idle.conf" "$port" 32
start_fwgate idle "$T/idle.conf"
gw=$FWPID
tree() { echo "$gw $(pgrep -P "$gw" | tr '\n' ' ') $(for p in $(pgrep -P "$gw"); do pgrep -P "$p"; done | tr '\n' ' ')"; }
sample() {
	local rss=0 thr=0 fds=0
	for p in $(tree); do
		[ -r "/proc/$p/status" ] || continue
		rss=$((rss + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")))
		thr=$((thr + $(awk '/^Threads:/ {print $2}' "/proc/$p/status")))
		fds=$((fds + $(ls "/proc/$p/fd" 2>/dev/null | wc -l)))
	done
	echo "$rss $thr $fds"
}
before=$(sample)
rm -f "$T/ctl"
mkfifo "$T/ctl"
python3 "$CLIENTS" hold --idle --spread --proxy "$port" --count "$IDLE" --hold 60 <"$T/ctl" >"$T/idle.out" &
holder=$!
exec 9>"$T/ctl"
peak_rss=0 peak_thr=0 peak_fds=0 gw_rss=0
end=$((SECONDS + HOLD))
appl=""
while [ $SECONDS -lt $end ]; do
	read -r r t f <<<"$(sample)"
	[ "$r" -gt "$peak_rss" ] && peak_rss=$r
	[ "$t" -gt "$peak_thr" ] && peak_thr=$t
	[ "$f" -gt "$peak_fds" ] && peak_fds=$f
	g=$(awk '/^VmRSS:/ {print $2}' "/proc/$gw/status")
	[ "$g" -gt "$gw_rss" ] && gw_rss=$g
	if [ -z "$appl" ] && grep -q HOLDING "$T/idle.out"; then appl=$(appliance "$port"); fi
	sleep 0.1
done
exec 9>&-
wait "$holder" 2>/dev/null || true
read -r r0 t0 f0 <<<"$before"
printf 'idle flood: %s connections, each from its own 127.1.x.y; max_clients 256 (%s)\n' "$IDLE" \
	"$(sed -n 's/^HOLDING //p' "$T/idle.out")"
printf '  process tree before: RSS %d KiB, %d threads, %d fds\n' "$r0" "$t0" "$f0"
printf '  process tree peak:   RSS %d KiB, %d threads, %d fds (the gateway process alone: RSS %d KiB)\n' \
	"$peak_rss" "$peak_thr" "$peak_fds" "$gw_rss"
read -r a_code a_s a_n <<<"$appl"
printf '  appliance meanwhile: %s s, %s attempt(s) (HTTP %s)\n' "$a_s" "$a_n" "$a_code"
printf '  refusals logged: %s events (rate-limited; the rest counted in fwgate.suppressed)\n' \
	"$(grep -c '"event.action":"proxy-busy"' "$T/events.log" || true)"
kill -TERM "$gw"
echo "rerun: bash bench/flood.sh $BUILD"
