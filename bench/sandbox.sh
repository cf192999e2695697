#!/usr/bin/env bash
# fwgate sandbox benchmark: what the sandbox queue (backend local) adds to a
# cold download of a firmware package. One curl client fetches, through
# `fwgate run`, a zip holding a real firmware image (OVMF), a real PE (an NSIS
# plug-in DLL) and a nested tar.gz from the test TLS origin
# (tests/integration/origin.py); each run fetches a new URL, so every run is a
# cold download: fetch, scan, commit, sandbox jobs for the package, the image,
# the PE and the nested archive, settle, deliver. The same runs go through a
# second gateway whose policy disables sandboxing. [sandbox] verdict_ttl_seconds
# is 0, so no verdict is reused between runs. Every download is compared with
# the origin's file.
#
# Usage: bash bench/sandbox.sh [BUILD_DIR]     (default: build/ of this repository)
# Environment: BENCH_RUNS  timed runs per gateway, the median is reported [5]
#
# Talks only to 127.0.0.1; everything lives in a mktemp directory, removed at
# exit with every process the script started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$(cd "$BUILD" && pwd) ;; esac
FW=$BUILD/cli/fwgate
RUNS=${BENCH_RUNS:-5}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_RUNS must be a positive integer" >&2; exit 1; }
[ -x "$FW" ] || { echo "bench: $FW is missing: tools/dev.sh build" >&2; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

OVMF=/usr/share/ovmf/OVMF.fd
PE=/usr/share/nsis/Plugins/x86-ansi/UserInfo.dll
for f in "$OVMF" "$PE"; do [ -r "$f" ] || { echo "bench: missing $f (tools/dev.sh installs it)" >&2; exit 1; }; done

T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-bench-sandbox-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$T/www/files" "$T/mk/inner"
bash "$ROOT/tests/integration/pki.sh" "$T/pki" >/dev/null
cp "$OVMF" "$T/mk/OVMF.fd"
cp "$PE" "$T/mk/plugin.dll"
printf 'notes\n' >"$T/mk/inner/README.txt"
(cd "$T/mk" && tar -czf inner.tar.gz inner && zip -q "$T/www/pkg.zip" OVMF.fd plugin.dll inner.tar.gz)
# One package per run: the same members plus one of its own, so that each
# is new content (an approved package is served again without a new
# judgement) while its image, PE and nested archive are judged again.
for i in $(seq 0 $((2 * RUNS + 1))); do
	cp "$T/www/pkg.zip" "$T/www/pkg-$i.zip"
	printf 'package %s\n' "$i" >"$T/mk/id.txt"
	(cd "$T/mk" && zip -q "$T/www/pkg-$i.zip" id.txt)
done

python3 "$ROOT/tests/integration/origin.py" --certdir "$T/pki" --docroot "$T/www" --port 0 --log "$T/origin.log" \
	>"$T/origin.out" 2>"$T/origin.err" &
pids+=($!)
for _ in $(seq 1 100); do OP=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$T/origin.out"); [ -n "$OP" ] && break; sleep 0.05; done
[ -n "$OP" ] || { echo "bench: the origin did not start" >&2; exit 1; }

python3 - "$ROOT/etc/fwgate-policy.json" "$T" "$OP" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
rule = card["rules"][0]
rule["service"]["ports"] = ["443", sys.argv[3]]
rule["service"]["app_default"] = False
json.dump(card, open(sys.argv[2] + "/card-on.json", "w"))
rule["security_profiles"]["sandboxing"]["enabled"] = False
json.dump(card, open(sys.argv[2] + "/card-off.json", "w"))
PY
printf 'vendor.test\n' >"$T/allow.txt"

# gateway NAME CARD: starts fwgate; sets GP (its port) and GCA
gateway() {
	GP=$(free_port)
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$GP" "$(free_port)"
		printf '[state]\ndir = %s/state-%s\n[policy]\nfile = %s\nallowlist = %s/allow.txt\n' "$T" "$1" "$2" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\n' "$T"
		printf 'resolve = vendor.test:%s:127.0.0.1\n' "$OP"
		printf '[sandbox]\nbackend = local\nverdict_ttl_seconds = 0\nhold_seconds = 60\n'
		printf '[log]\nfile = %s/events-%s.log\n' "$T" "$1"
	} >"$T/$1.conf"
	"$FW" run -c "$T/$1.conf" >"$T/$1.out" 2>"$T/$1.err" &
	pids+=($!)
	for _ in $(seq 1 400); do grep -q "serving on" "$T/$1.err" && break; sleep 0.05; done
	grep -q "serving on" "$T/$1.err" || { echo "bench: fwgate $1 did not start: $(cat "$T/$1.err")" >&2; exit 1; }
	GCA=$T/state-$1/ca/ca.crt
}

# run NAME I: one cold fetch of pkg-I.zip; prints seconds
run() {
	local out
	out=$(curl -q -s --http1.1 -o "$T/dl" -w '%{http_code} %{time_total}' --max-time 120 \
		--proxy "http://127.0.0.1:$GP" --cacert "$GCA" "https://vendor.test:$OP/files/pkg-$2.zip")
	[ "${out% *}" = 200 ] || { echo "bench: $1 run $2 answered ${out% *}" >&2; exit 1; }
	cmp -s "$T/dl" "$T/www/pkg-$2.zip" || { echo "bench: $1 run $2 delivered other bytes" >&2; exit 1; }
	echo "${out#* }"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A MED
for mode in off on; do
	gateway "$mode" "$T/card-$mode.json"
	base=$([ "$mode" = off ] && echo 0 || echo $((RUNS + 1)))
	run "$mode" "$base" >/dev/null # warm-up: engine pages, first connection
	for i in $(seq 1 "$RUNS"); do run "$mode" $((base + i)); done >"$T/times-$mode"
	MED[$mode]=$(median <"$T/times-$mode")
	kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done
jobs=$(grep -c '"event.action":"sandbox-job"' "$T/events-on.log" || true)
size=$(stat -c %s "$T/www/pkg-0.zip")
printf '\nfwgate sandbox bench: cold download of a %s-byte package (OVMF, a PE, a nested tar.gz), %s runs, medians\n' \
	"$size" "$RUNS"
printf '| policy | time_total | \n| --- | --- |\n'
printf '| sandboxing off | %.3f s |\n| sandboxing on, backend local (4 jobs a package) | %.3f s |\n' "${MED[off]}" "${MED[on]}"
printf 'sandbox jobs run: %s (warm-up included); added by the sandbox: %.3f s a package\n' "$jobs" \
	"$(awk -v a="${MED[on]}" -v b="${MED[off]}" 'BEGIN {print a - b}')"
printf 'rerun: BENCH_RUNS=%s bash bench/sandbox.sh %s\n' "$RUNS" "$BUILD"
