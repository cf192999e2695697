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

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$PWD/$BUILD") ;; esac
FW=$BUILD/cli/fwgate
MIB=${BENCH_MIB:-512}
RUNS=${BENCH_RUNS:-5}
for v in MIB RUNS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_$v must be a positive integer" >&2; exit 1; }
done
[ -x "$FW" ] || { echo "bench: FAIL: $FW is missing (tools/dev.sh build)" >&2; exit 1; }
NGINX=/usr/sbin/nginx
if [ ! -x "$NGINX" ]; then
	sudo=()
	[ "$(id -u)" = 0 ] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light >/dev/null ||
		{ echo "bench: FAIL: cannot install nginx-light" >&2; exit 1; }
fi
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-bench-mirror-XXXXXX")
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

mkdir -p "$T/www" "$T/nginx"
bash "$HERE/pki.sh" "$T/pki" >/dev/null
fwdata $((MIB * 1024 * 1024)) "$T/www/big.bin"
SHA=$(sha256sum "$T/www/big.bin" | cut -d' ' -f1)
OP=$(free_port)
user_line=""
if [ "$(id -u)" = 0 ]; then
	user_line="user nobody nogroup;"
	chmod 711 "$T"
	chmod 755 "$T/www"
	chmod 644 "$T/www/big.bin"
	chmod 644 "$T/pki/vendor.test.key"
fi
cat >"$T/nginx/nginx.conf" <<NGX
$user_line
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    types { }
    default_type application/octet-stream;
    sendfile on;
    server {
        listen 127.0.0.1:$OP ssl;
        server_name vendor.test;
        ssl_certificate $T/pki/vendor.test.crt;
        ssl_certificate_key $T/pki/vendor.test.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $T/www;
        location / { }
    }
}
NGX
"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" >"$T/nginx/out" 2>&1 &
pids+=($!)
NURL="https://vendor.test:$OP/big.bin"
NARGS=(--resolve "vendor.test:$OP:127.0.0.1" --cacert "$T/pki/testca.crt")
for _ in $(seq 1 100); do curl -s -o /dev/null -r 0-0 "${NARGS[@]}" "$NURL" && break; sleep 0.1; done

make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"
GP=$(free_port)
CP=$(free_port)
{
	printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$GP" "$CP"
	printf '[state]\ndir = %s/state\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$T" "$T" "$T"
	printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\nresolve = vendor.test:%s:127.0.0.1\n' "$T" "$OP"
	printf '[scanner]\nsignatures = %s/tests/data/signatures\n[log]\nfile = %s/events.log\n' "$ROOT" "$T"
} >"$T/fwgate.conf"
"$FW" run -c "$T/fwgate.conf" >"$T/fw.out" 2>"$T/fw.err" &
pids+=($!)
FWPID=$!
for _ in $(seq 1 200); do grep -q "serving on" "$T/fw.err" && break; sleep 0.05; done
grep -q "serving on" "$T/fw.err" || { echo "bench: FAIL: fwgate did not start: $(cat "$T/fw.err")" >&2; exit 1; }
CA=$T/state/ca/ca.crt
t0=${EPOCHREALTIME/./}
code=$(curl -s -o /dev/null -w '%{http_code}' --proxy "http://127.0.0.1:$GP" --cacert "$CA" "$NURL")
t1=${EPOCHREALTIME/./}
[ "$code" = 200 ] || { echo "bench: FAIL: the vetted download answered $code" >&2; exit 1; }
printf 'cold vetted download of %d MiB through the proxy (fetch, scan, commit, delivery): %.2f s\n' "$MIB" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e6 }')"
MURL="https://127.0.0.1:$CP/firmware/$SHA/big.bin"

# pull NAME URL ARGS...: one fresh-connection download; seconds to $T/NAME.times
pull() {
	local name=$1 url=$2; shift 2
	curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}\n' "$@" "$url" >>"$T/$name.times"
}
[ "$(curl -s "${NARGS[@]}" "$NURL" | sha256sum | cut -d' ' -f1)" = "$SHA" ] || { echo "bench: FAIL: nginx bytes" >&2; exit 1; }
[ "$(curl -s --cacert "$CA" "$MURL" | sha256sum | cut -d' ' -f1)" = "$SHA" ] || { echo "bench: FAIL: mirror bytes" >&2; exit 1; }
for _ in $(seq 1 "$RUNS"); do
	pull nginx "$NURL" "${NARGS[@]}"
	pull mirror "$MURL" --cacert "$CA"
done
for n in nginx mirror; do
	awk -v n="$n" '$1 != 200 || $3 == 0 { print "bench: FAIL: " n ": " $0; exit 1 }' "$T/$n.times"
done
med() { sort -n -k2 "$T/$1.times" | awk '{ t[NR] = $2; s[NR] = $3 } END { i = int((NR + 1) / 2); printf "%.3f %.1f\n", t[i], s[i] / t[i] / 1e6 }'; }
read -r NT NMB < <(med nginx)
read -r MT MMB < <(med mirror)
echo "pull of $MIB MiB over a fresh TLS connection, loopback, median of $RUNS (interleaved):"
printf '  nginx   %8.3f s  %8.1f MB/s\n' "$NT" "$NMB"
printf '  mirror  %8.3f s  %8.1f MB/s\n' "$MT" "$MMB"
printf '  mirror throughput / nginx throughput: %.2f\n' "$(awk -v a="$MMB" -v b="$NMB" 'BEGIN { print a / b }')"
printf '  gateway peak RSS: %s\n' "$(grep VmHWM "/proc/$FWPID/status" | awk '{ print $2 " " $3 }')"
echo "rerun: BENCH_MIB=$MIB BENCH_RUNS=$RUNS bash bench/mirror.sh $BUILD"
