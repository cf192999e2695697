# The setup the benchmarks share, sourced by bench/vet.sh, proxy.sh,
# mirror.sh, scan.sh and sigdb.sh right after their `set -euo pipefail`:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Failing and checking (die, need_*), the build to measure, the temp
# directory and the processes stopped at exit, firmware-like random files, a
# throw-away PKI, the nginx TLS origin, `fwgate run` in front of it, curl
# into cmp, peak RSS, medians and the report's host line. Measures and
# prints nothing of its own: the cases, the figures and the report stay in
# each script. Talks only to 127.0.0.1.
# shellcheck shell=bash
# shellcheck disable=SC2034 # BUILD, FW, NGINX, TESTCA, OP, FP, CP, FWPID, FWCA are for the script

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ---------------------------------------------------------------- failing, checking
# die MESSAGE [FILE...]: fails the benchmark, with the last lines of each FILE
die() {
	echo "bench: FAIL: $1" >&2
	shift
	for f in "$@"; do
		[ -s "$f" ] && { echo "---- last lines of $f:" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}
# note WORDS...: progress, on stderr
note() { echo "bench: $*" >&2; }

# bench_build [BUILD_DIR]: BUILD, absolute (default: build/ of this repository), and FW, its fwgate
bench_build() {
	BUILD=${1:-$ROOT/build}
	case $BUILD in /*) ;; *) BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$PWD/$BUILD") ;; esac
	FW=$BUILD/cli/fwgate
}

# need_fw: BUILD holds an fwgate
need_fw() {
	[ -x "$FW" ] || die "$FW not found: build first (meson setup build && ninja -C build) or pass BUILD_DIR"
}

# need_posint NAME...: each variable NAME (from BENCH_NAME) is a positive integer
need_posint() {
	local v
	for v in "$@"; do
		[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer (got \"${!v}\")"
	done
}

# need_tools TOOL...: each is on the PATH
need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "$tool is needed"
	done
}

# apt_install ARG...: apt-get install -y ARG..., quietly, through sudo unless root
apt_install() {
	local sudo=()
	[ "$(id -u)" = 0 ] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null
}

# need_nginx: NGINX, /usr/sbin/nginx; installs nginx-light (else nginx) when it is missing
need_nginx() {
	NGINX=/usr/sbin/nginx
	[ ! -x "$NGINX" ] || return 0
	note "nginx missing: installing nginx-light with apt-get"
	apt_install nginx-light || apt_install nginx || die "cannot install nginx (apt-get install -y nginx-light)"
	[ -x "$NGINX" ] || die "$NGINX still missing after apt-get"
}

# loopback_only: no proxy from the environment (curl -q: no ~/.curlrc either)
loopback_only() {
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
}

# ---------------------------------------------------------------- temp dir, processes
# bench_tmp NAME [tree]: T, a new ${TMPDIR:-/tmp}/fwgate-bench-NAME-XXXXXX; at
# exit (INT, TERM too) every process in pids is stopped and T removed; with
# tree, each one's descendants get the TERM first (wrappers: time, timeout)
bench_tmp() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-bench-$1-XXXXXX")
	STOP_TREE=${2:-}
	pids=()
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# kill_tree PID: TERM to the descendants first (timeout passes it on), then PID
kill_tree() {
	local k
	for k in $(cat /proc/"$1"/task/*/children 2>/dev/null || true); do kill_tree "$k"; done
	kill -TERM "$1" 2>/dev/null || true
}

# stop_all: TERM to every process in pids, KILL to those still there after 5 s; reaps them
stop_all() {
	local p
	for p in "${pids[@]}"; do
		if [ "$STOP_TREE" = tree ]; then kill_tree "$p"; else kill -TERM "$p" 2>/dev/null || true; fi
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	pids=()
}

# cleanup: the EXIT trap: stop_all, remove T, keep the exit status
cleanup() {
	local rc=$?
	stop_all
	rm -rf "$T"
	exit $rc
}

# free_port: a free TCP port on 127.0.0.1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------- files
# fwdata BYTES FILE: random bytes with the top bit cleared (7 bits per byte):
# firmware-like content; uniformly random bytes look encrypted and are held
# by the coverage check (scanner/carve.c), so they would measure a refusal.
fwdata() { head -c "$1" /dev/urandom | LC_ALL=C tr '\200-\377' '\000-\177' >"$2"; }

# fresh_tail FILE...: rewrites each file's last 16 bytes with new random 7-bit
# ones (in place: the rest stays in the page cache). New content, so neither
# the store nor any scan cache can answer from an earlier run.
fresh_tail() {
	local f
	for f in "$@"; do
		head -c 16 /dev/urandom | LC_ALL=C tr '\200-\377' '\000-\177' |
			dd of="$f" bs=16 seek=$(($(stat -c %s "$f") / 16 - 1)) conv=notrunc status=none
	done
}

# ---------------------------------------------------------------- origin
# make_pki: the integration tests' throw-away PKI (tests/integration/pki.sh)
# in $T/pki (0700): the test CA, TESTCA, and vendor.test's leaf (EC P-256,
# SHA-256, the extensions strict verification wants), vendor.test.crt/.key
make_pki() {
	bash "$ROOT/tests/integration/pki.sh" "$T/pki" >/dev/null || die "tests/integration/pki.sh failed"
	TESTCA=$T/pki/testca.crt
}

# start_nginx PROBE [LINE...]: NGINX serving $T/www over TLS 1.2/1.3 as
# vendor.test (make_pki's leaf) on a free port OP of 127.0.0.1, one worker,
# sendfile on, the LINEs (access log, keepalive ...) at the top of its http
# block, in $T/nginx; waits until the path PROBE answers (byte 0 of it)
start_nginx() {
	local probe=$1 user_line="" extra="" line ready=0
	shift
	for line in "$@"; do extra+="    $line"$'\n'; done
	OP=$(free_port)
	mkdir -p "$T/nginx"
	if [ "$(id -u)" = 0 ]; then
		# Workers drop to nobody: let them through the 0700 mktemp directory.
		user_line="user nobody nogroup;"
		chmod 711 "$T"
		chmod 755 "$T/www"
		chmod 644 "$T/www"/*
	fi
	cat >"$T/nginx/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 256; }
http {
$extra    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    types { }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60s;
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
EOF
	"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" >"$T/nginx/out" 2>&1 &
	pids+=($!)
	NGINX_PID=$!
	for _ in $(seq 1 100); do
		kill -0 "$NGINX_PID" 2>/dev/null || break
		if curl -q -s -o /dev/null --max-time 2 --resolve "vendor.test:$OP:127.0.0.1" --cacert "$TESTCA" \
			-r 0-0 "https://vendor.test:$OP$probe"; then ready=1; break; fi
		sleep 0.1
	done
	[ $ready = 1 ] || die "nginx did not start on 127.0.0.1:$OP" "$T/nginx/out" "$T/nginx/error.log"
}

# ---------------------------------------------------------------- fwgate
# start_fwgate [LINE...]: `fwgate run` in front of the origin: the shipped
# rule card with OP allowed, vendor.test allow-listed, the proxy on a free
# port FP, the console on CP, [upstream] trusting TESTCA; config
# $T/fwgate.conf, the LINEs (more sections) before [log] ($T/events.log);
# waits until it serves; sets FWPID and FWCA (the CA it signs leaves with)
start_fwgate() {
	FP=$(free_port)
	CP=$(free_port)
	python3 - "$ROOT/etc/fwgate-policy.json" "$T/card.json" "$OP" <<'PY' || die "cannot write the rule card"
import json, sys
card = json.load(open(sys.argv[1]))
svc = card["rules"][0]["service"]
svc["ports"] = ["443", sys.argv[3]]
svc["app_default"] = False
json.dump(card, open(sys.argv[2], "w"))
PY
	printf '# bench allow-list\nvendor.test\n' >"$T/allow.txt"
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\n' "$FP"
		printf '[console]\nlisten = 127.0.0.1:%s\n' "$CP"
		printf '[state]\ndir = %s/state\n' "$T"
		printf '[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$T" "$T"
		printf '[upstream]\nca_file = %s\nresolve = vendor.test:%s:127.0.0.1\nallow_private = true\n' "$TESTCA" "$OP"
		[ $# = 0 ] || printf '%s\n' "$@"
		printf '[log]\nfile = %s/events.log\n' "$T"
	} >"$T/fwgate.conf"
	"$FW" run -c "$T/fwgate.conf" >"$T/fwgate.out" 2>"$T/fwgate.err" &
	pids+=($!)
	FWPID=$!
	for _ in $(seq 1 200); do
		grep -q "serving on" "$T/fwgate.err" && break
		kill -0 "$FWPID" 2>/dev/null || break
		sleep 0.05
	done
	grep -q "serving on" "$T/fwgate.err" || die "fwgate did not start" "$T/fwgate.err" "$T/fwgate.out"
	FWCA=$T/state/ca/ca.crt
	[ -s "$FWCA" ] || die "fwgate's CA $FWCA is missing" "$T/fwgate.err"
}

# ---------------------------------------------------------------- measuring
# client_args MODE: curl's arguments for direct (to the origin) or fwgate (through the proxy)
client_args() {
	if [ "$1" = direct ]; then
		echo "--resolve vendor.test:$OP:127.0.0.1 --cacert $TESTCA"
	else
		echo "--proxy http://127.0.0.1:$FP --cacert $FWCA"
	fi
}

# curl_cmp MODE MAXTIME URL FILE ERR WRITEOUT: one curl (fresh connection),
# MODE as client_args, its body piped straight into cmp against FILE (no
# client-side disk write); curl's stderr and its -w line, "W WRITEOUT", go
# to ERR; sets ST: the exit statuses of curl and cmp
curl_cmp() {
	# shellcheck disable=SC2046
	if curl -q -sS --http1.1 --connect-timeout 10 --max-time "$2" $(client_args "$1") \
		-o - -w "%{stderr}W $6" "$3" 2>"$5" | cmp -s - "$4"; then
		ST=("${PIPESTATUS[@]}")
	else
		ST=("${PIPESTATUS[@]}")
	fi
}

# hwm_kb PID: VmHWM in kB of a process and its descendants: "main total nprocs"
hwm_kb() {
	local main=$1 total=0 n=0 p pending=("$1") kids kb k
	while [ ${#pending[@]} -gt 0 ]; do
		p=${pending[0]}; pending=("${pending[@]:1}")
		kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
		[ -n "$kb" ] || continue
		total=$((total + kb)); n=$((n + 1))
		kids=$(cat /proc/"$p"/task/*/children 2>/dev/null || true)
		for k in $kids; do pending+=("$k"); done
	done
	echo "$(awk '/^VmHWM:/ {print $2}' "/proc/$main/status" 2>/dev/null || echo 0) $total $n"
}
# mb_of_kb KB: MB (10^6 bytes), one decimal
mb_of_kb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }
# rss_of "MAIN TOTAL N" (hwm_kb): main-process peak in MB, plus the descendants' when there are any
rss_of() {
	local m t n
	read -r m t n <<<"$1"
	if [ "$n" -gt 1 ]; then echo "$(mb_of_kb "$m") (+$((n - 1))p: $(mb_of_kb "$t"))"; else mb_of_kb "$m"; fi
}

# pick WHAT: of the numbers on stdin, one a line, the median (the mean of
# the middle two for an even count), min or max; nan when there are none
pick() {
	sort -g | awk -v w="$1" '
		{ a[NR] = $1 }
		END {
			if (NR == 0) { print "nan"; exit }
			if (w == "min") print a[1]
			else if (w == "max") print a[NR]
			else if (NR % 2) print a[(NR + 1) / 2]
			else print (a[NR / 2] + a[NR / 2 + 1]) / 2
		}'
}
# col FILE N WHAT: pick WHAT (median|min|max) of column N of FILE
col() { awk -v c="$2" '{ print $c }' "$1" | pick "$3"; }

# host_desc: "kernel machine, N CPU (model), X GB RAM", for the report's host line
host_desc() {
	echo "$(uname -srm), $(nproc) CPU ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/ {printf "%.1f GB RAM", $2 * 1024 / 1e9}' /proc/meminfo)"
}
