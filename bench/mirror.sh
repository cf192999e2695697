#!/usr/bin/env bash
# fwgate mirror: how fast a BMC pulls a vetted image from the gateway,
# against nginx serving the same file over TLS on the same machine. nginx
# (sendfile on, TLS 1.2/1.3, EC P-256) is also the vendor the image is first
# downloaded from through `fwgate run` (fetched, scanned, approved: the
# time of that cold vetted download is printed too); then, interleaved,
# BENCH_RUNS pulls of the same bytes from each over a fresh TLS connection:
#   nginx    https://vendor.test:PORT/big.bin
#   mirror   https://127.0.0.1:CONSOLE/firmware/<sha256>/big.bin
# The first pull of each is checked against the file's SHA-256. Medians,
# the mirror's throughput as a ratio of nginx's, and the gateway's peak RSS.
#
# Usage: bash bench/mirror.sh [BUILD_DIR]       (default: build/)
# Environment: BENCH_MIB [512], BENCH_RUNS [5]
# Talks only to 127.0.0.1; everything lives in a mktemp directory, removed
# at exit with every process started. Needs /usr/sbin/nginx (nginx-light).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build "${1:-}"
MIB=${BENCH_MIB:-512}
RUNS=${BENCH_RUNS:-5}
need_posint MIB RUNS
need_fw
need_nginx
loopback_only

bench_tmp mirror
mkdir -p "$T/www"
make_pki
fwdata $((MIB * 1024 * 1024)) "$T/www/big.bin"
SHA=$(sha256sum "$T/www/big.bin" | cut -d' ' -f1)
start_nginx /big.bin "access_log off;"
NURL="https://vendor.test:$OP/big.bin"
NARGS=(--resolve "vendor.test:$OP:127.0.0.1" --cacert "$TESTCA")

start_fwgate '[scanner]' "signatures = $ROOT/tests/data/signatures"
t0=${EPOCHREALTIME/./}
code=$(curl -s -o /dev/null -w '%{http_code}' --proxy "http://127.0.0.1:$FP" --cacert "$FWCA" "$NURL")
t1=${EPOCHREALTIME/./}
[ "$code" = 200 ] || die "the vetted download answered $code"
printf 'cold vetted download of %d MiB through the proxy (fetch, scan, commit, delivery): %.2f s\n' "$MIB" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e6 }')"
MURL="https://127.0.0.1:$CP/firmware/$SHA/big.bin"

# pull NAME URL ARGS...: one fresh-connection download; seconds to $T/NAME.times
pull() {
	local name=$1 url=$2; shift 2
	curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}\n' "$@" "$url" >>"$T/$name.times"
}
[ "$(curl -s "${NARGS[@]}" "$NURL" | sha256sum | cut -d' ' -f1)" = "$SHA" ] || die "nginx bytes"
[ "$(curl -s --cacert "$FWCA" "$MURL" | sha256sum | cut -d' ' -f1)" = "$SHA" ] || die "mirror bytes"
for _ in $(seq 1 "$RUNS"); do
	pull nginx "$NURL" "${NARGS[@]}"
	pull mirror "$MURL" --cacert "$FWCA"
done
for n in nginx mirror; do
	awk -v n="$n" '$1 != 200 || $3 == 0 { print "bench: FAIL: " n ": " $0; exit 1 }' "$T/$n.times"
done
# med NAME: "seconds MB/s" of the median pull (by time) of NAME
med() { sort -n -k2 "$T/$1.times" | awk '{ t[NR] = $2; s[NR] = $3 } END { i = int((NR + 1) / 2); printf "%.3f %.1f\n", t[i], s[i] / t[i] / 1e6 }'; }
read -r NT NMB < <(med nginx)
read -r MT MMB < <(med mirror)
echo "pull of $MIB MiB over a fresh TLS connection, loopback, median of $RUNS (interleaved):"
printf '  nginx   %8.3f s  %8.1f MB/s\n' "$NT" "$NMB"
printf '  mirror  %8.3f s  %8.1f MB/s\n' "$MT" "$MMB"
printf '  mirror throughput / nginx throughput: %.2f\n' "$(awk -v a="$MMB" -v b="$NMB" 'BEGIN { print a / b }')"
printf '  gateway peak RSS: %s\n' "$(grep VmHWM "/proc/$FWPID/status" | awk '{ print $2 " " $3 }')"
echo "rerun: BENCH_MIB=$MIB BENCH_RUNS=$RUNS bash bench/mirror.sh $BUILD"
