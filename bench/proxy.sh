#!/usr/bin/env bash
# fwgate proxy benchmark: one curl client fetches from a local nginx TLS origin,
# directly and through `fwgate run`, and compares throughput (big file), time to
# first byte (small file, fresh connection and warm tunnel) and fwgate's peak RSS.
# Every download is checked byte for byte against the origin's file.
#
# Usage: bash bench/proxy.sh [BUILD_DIR]     (default: build/ of this repository)
#
# Environment (defaults in brackets):
#   BENCH_RUNS          timed runs per case; the median is reported          [3]
#   BENCH_BIG_MIB       size of the big file, MiB                            [256]
#   BENCH_SMALL_KIB     size of the small file, KiB                          [4]
#   BENCH_WARM_REQS     requests per curl invocation in the warm-tunnel case [10]
#   BENCH_MAX_TIME      curl --max-time for one big transfer, seconds        [300]
#   BENCH_DIRECT_ONLY   1 = origin and direct cases only, no fwgate          [0]
#
# Talks only to 127.0.0.1. Everything lives in a mktemp directory under
# $TMPDIR (or /tmp), removed at exit with every process the script started.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build "${1:-}"

RUNS=${BENCH_RUNS:-3}
BIG_MIB=${BENCH_BIG_MIB:-256}
SMALL_KIB=${BENCH_SMALL_KIB:-4}
WARM_REQS=${BENCH_WARM_REQS:-10}
MAX_TIME=${BENCH_MAX_TIME:-300}
DIRECT_ONLY=${BENCH_DIRECT_ONLY:-0}

need_posint RUNS BIG_MIB SMALL_KIB WARM_REQS MAX_TIME
[ "$WARM_REQS" -ge 2 ] || die "BENCH_WARM_REQS must be at least 2"
loopback_only
need_tools curl openssl python3 cmp awk
need_nginx
[ "$DIRECT_ONLY" = 1 ] || need_fw

bench_tmp proxy

# ---------------------------------------------------------------- PKI
# A test CA and a leaf for vendor.test (lib.sh: make_pki).
mkdir -p "$T/www" "$T/dl" "$T/res" "$T/state"
chmod 700 "$T/dl" "$T/res" "$T/state"
make_pki

# ---------------------------------------------------------------- files
BIG=$T/www/big.bin
SMALL=$T/www/small.bin
# Firmware-like 7-bit random bytes (lib.sh: fwdata).
fwdata $((BIG_MIB * 1024 * 1024)) "$BIG"
fwdata $((SMALL_KIB * 1024)) "$SMALL"
BIG_BYTES=$(stat -c %s "$BIG")
SMALL_BYTES=$(stat -c %s "$SMALL")

# ---------------------------------------------------------------- nginx origin
# The access log names each request's connection: the origin-side table.
start_nginx /small.bin \
	"log_format bench '\$connection \$connection_requests \"\$request\" \$status \$body_bytes_sent';" \
	"access_log $T/nginx/access.log bench;" \
	"keepalive_requests 10000;"

# ---------------------------------------------------------------- fwgate
# lib.sh's start_fwgate sets these (below); BENCH_DIRECT_ONLY=1 leaves them empty.
FP="" ; FWPID="" ; FWCA=""

# ---------------------------------------------------------------- measuring
W='%{http_code} %{size_download} %{time_starttransfer} %{time_total} %{num_connects}\n'
# one_fetch CASE MODE FILE MAXTIME RECORD: one curl process (fresh connection).
# The body is piped straight into cmp (no client-side disk write, which only
# adds writeback noise); curl's -w line goes to stderr, tagged "W".
# Appends "bytes ttfb total" to res/CASE when RECORD=1 (0 = warm-up, discarded).
one_fetch() {
	local case=$1 mode=$2 file=$3 maxt=$4 rec=$5 err=$T/dl/$1.err st fld q="c=$1&r=$RANDOM"
	# Cache-hit cases ask for one fixed URL: the warm-up run stores it.
	case $case in *hit-*) q="c=${case%-*}" ;; esac
	curl_cmp "$mode" "$maxt" "https://vendor.test:$OP/$(basename "$file")?$q" "$file" "$err" "$W"
	st=("${ST[@]}")
	read -r -a fld <<<"$(sed -n 's/^W //p' "$err")"
	grep -v '^W ' "$err" >&2 || true
	if [ "${st[0]}" != 0 ] && [ "${st[0]}" != 23 ]; then
		die "$case: curl exited ${st[0]}" "$T/fwgate.err" "$T/nginx/error.log"
	fi
	[ "${fld[0]:-}" = 200 ] || die "$case: HTTP status ${fld[0]:-none}" "$T/fwgate.err"
	if [ "${st[1]}" != 0 ] || [ "${st[0]}" != 0 ]; then
		die "$case: download differs from the origin's file (cmp exit ${st[1]}, ${fld[1]:-?} of $(stat -c %s "$file") bytes received)"
	fi
	if [ "$rec" = 1 ]; then echo "${fld[1]} ${fld[2]} ${fld[3]}" >>"$T/res/$case"; fi
}

# warm_fetch CASE MODE RECORD: WARM_REQS URLs in one curl process; the first
# opens the connection (the tunnel, through fwgate), the later ones reuse it.
warm_fetch() {
	local case=$1 mode=$2 rec=$3 args=() i rc=0 n=0
	for i in $(seq 1 "$WARM_REQS"); do
		args+=(-o "$T/dl/$case.$i" --url "https://vendor.test:$OP/small.bin?c=$case&i=$i&r=$RANDOM")
	done
	# shellcheck disable=SC2046
	curl -q -sS --http1.1 --connect-timeout 10 --max-time 60 $(client_args "$mode") -w "$W" "${args[@]}" \
		>"$T/dl/$case.w" 2>"$T/dl/$case.err" || rc=$?
	[ $rc = 0 ] || die "$case: curl exited $rc: $(cat "$T/dl/$case.err")" "$T/fwgate.err" "$T/nginx/error.log"
	[ "$(wc -l <"$T/dl/$case.w")" = "$WARM_REQS" ] || die "$case: expected $WARM_REQS transfers" "$T/dl/$case.w"
	while read -r code size ttfb total conns; do
		n=$((n + 1))
		[ "$code" = 200 ] || die "$case: request $n: HTTP status $code" "$T/fwgate.err"
		cmp -s "$T/dl/$case.$n" "$SMALL" || die "$case: request $n: download differs from the origin's file"
		if [ "$n" -gt 1 ]; then
			if [ "$conns" != 0 ]; then echo "$n" >>"$T/res/$case.newconn"; fi
			if [ "$rec" = 1 ]; then echo "$size $ttfb $total" >>"$T/res/$case"; fi
		fi
	done <"$T/dl/$case.w"
	rm -f "$T/dl/$case".*
}

# Interleave direct and fwgate runs (d, f, d, f, ...) so drift hits both alike;
# one warm-up round first (page cache, fwgate's leaf cache, nginx), discarded.
# run_pair KIND: KIND small|warm|big
run_pair() {
	local kind=$1 r modes=(direct)
	[ "$DIRECT_ONLY" = 1 ] || modes+=(fwgate)
	for r in $(seq 0 "$RUNS"); do
		local rec=1
		[ "$r" = 0 ] && rec=0
		for m in "${modes[@]}"; do
			# Flush dirty pages (fwgate's spool of the previous run) so that their
			# writeback does not land in the next run's timing.
			sync -f "$T/state" 2>/dev/null || sync
			# New content for every fetch: no cache (ClamAV's clean-file cache
			# in the scanner workers, a store later) may answer from an earlier
			# run, so every fwgate figure is a cold, fully scanned download.
			case $kind in small) fresh_tail "$SMALL" ;; big) fresh_tail "$BIG" ;; esac
			case $kind in
			small) one_fetch "small-$m" "$m" "$SMALL" 30 $rec ;;
			warm) warm_fetch "warm-$m" "$m" $rec ;;
			big) one_fetch "big-$m" "$m" "$BIG" "$MAX_TIME" $rec ;;
			smallhit) one_fetch "smallhit-$m" "$m" "$SMALL" 30 $rec ;;
			bighit) one_fetch "bighit-$m" "$m" "$BIG" "$MAX_TIME" $rec ;;
			esac
		done
	done
}

# stat_col FILE COLUMN(1 bytes, 2 ttfb, 3 total) WHAT(median|min|max) (lib.sh: col)
stat_col() { col "$@"; }
# mbps_col FILE WHAT: MB/s per run (10^6 bytes/s), then WHAT of them (lib.sh: pick)
mbps_col() { awk '{ if ($3 > 0) printf "%.6f\n", $1 / $3 / 1e6 }' "$1" | pick "$2"; }
# ms SECONDS: milliseconds, two decimals
ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }

declare -A RSS
if [ "$DIRECT_ONLY" != 1 ]; then
	# shellcheck disable=SC2119 # no [scanner] section: its defaults
	start_fwgate
	read -r idle_main _ < <(hwm_kb "$FWPID")
fi
note "origin nginx on 127.0.0.1:$OP${FP:+, fwgate on 127.0.0.1:$FP}; $RUNS runs per case after one warm-up"
note "small file, fresh connection per request..."
run_pair small
[ "$DIRECT_ONLY" = 1 ] || RSS[small]=$(hwm_kb "$FWPID")
note "small file, warm connection ($WARM_REQS requests per curl)..."
run_pair warm
[ "$DIRECT_ONLY" = 1 ] || RSS[warm]=$(hwm_kb "$FWPID")
note "big file ($BIG_MIB MiB)..."
run_pair big
[ "$DIRECT_ONLY" = 1 ] || RSS[big]=$(hwm_kb "$FWPID")
note "small file, cache hit (the same URL again)..."
run_pair smallhit
[ "$DIRECT_ONLY" = 1 ] || RSS[smallhit]=$(hwm_kb "$FWPID")
note "big file, cache hit (the same URL again)..."
run_pair bighit
[ "$DIRECT_ONLY" = 1 ] || RSS[bighit]=$(hwm_kb "$FWPID")
if [ "$DIRECT_ONLY" != 1 ]; then
	kill -0 "$FWPID" 2>/dev/null || die "fwgate died during the runs" "$T/fwgate.err"
fi

# ---------------------------------------------------------------- report
fsline=$(findmnt -no FSTYPE -T "$T" 2>/dev/null || echo "?")
echo
echo "fwgate proxy benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host:    $(host_desc)"
echo "client:  $(curl --version | head -n 1 | cut -d' ' -f1-5)"
echo "origin:  $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), TLS on 127.0.0.1:$OP, EC P-256 leaf, sendfile on, keepalive"
if [ "$DIRECT_ONLY" != 1 ]; then
	echo "fwgate:  $("$FW" version 2>/dev/null | head -n 1) ($FW)"
fi
echo "files:   big $BIG_BYTES bytes ($BIG_MIB MiB), small $SMALL_BYTES bytes; temp dir on $fsline"
if [ "$DIRECT_ONLY" = 1 ]; then
	echo "method:  $RUNS timed runs per case (+1 warm-up, discarded), direct only (BENCH_DIRECT_ONLY=1);"
else
	echo "method:  $RUNS timed runs per case (+1 warm-up, discarded), direct and fwgate runs interleaved;"
fi
echo "         figures are medians; MB = 10^6 bytes; every download compared byte for byte (cmp): all identical"
echo
printf '%-40s %10s %10s %10s %16s %12s\n' "case" "MB/s" "TTFB ms" "total ms" "vs direct" "fwgate RSS"
printf '%-40s %10s %10s %10s %16s %12s\n' "----" "----" "-------" "--------" "---------" "----------"
row() { # row LABEL CASE RATIO RSS; MB/s only for the big file (noise for a small one)
	local f=$T/res/$2 mbps="-"
	case $2 in big-* | bighit-*) mbps=$(printf '%.2f' "$(mbps_col "$f" median)") ;; esac
	printf '%-40s %10s %10s %10s %16s %12s\n' "$1" "$mbps" \
		"$(ms "$(stat_col "$f" 2 median)")" "$(ms "$(stat_col "$f" 3 median)")" "$3" "$4"
}
ratio() { # ratio NUM DEN SUFFIX
	awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { if (b > 0) printf "%.2fx %s", a / b, s; else print "-" }'
}
declare -A LABEL=([small]="$SMALL_KIB KiB, fresh connection" [warm]="$SMALL_KIB KiB, warm (requests 2..$WARM_REQS)"
	[big]="$BIG_MIB MiB, fresh connection" [smallhit]="$SMALL_KIB KiB, cache hit"
	[bighit]="$BIG_MIB MiB, cache hit")
for k in small warm big smallhit bighit; do
	row "${LABEL[$k]}: direct" "$k-direct" "-" "-"
	if [ "$DIRECT_ONLY" != 1 ]; then
		if [ "$k" = big ] || [ "$k" = bighit ]; then
			rt=$(ratio "$(mbps_col "$T/res/$k-fwgate" median)" "$(mbps_col "$T/res/$k-direct" median)" "MB/s")
		else
			rt=$(ratio "$(stat_col "$T/res/$k-fwgate" 2 median)" "$(stat_col "$T/res/$k-direct" 2 median)" "TTFB")
		fi
		row "${LABEL[$k]}: fwgate" "$k-fwgate" "$rt" "$(rss_of "${RSS[$k]}")"
	fi
done
echo
echo "spread (min .. max) over the $RUNS runs; warm: over the $((RUNS * (WARM_REQS - 1))) pooled requests:"
for k in small warm big smallhit bighit; do
	for m in direct fwgate; do
		f=$T/res/$k-$m
		[ -s "$f" ] || continue
		mb="                        "
		case $k in big | bighit) mb=$(printf 'MB/s %8.2f .. %-8.2f' "$(mbps_col "$f" min)" "$(mbps_col "$f" max)") ;; esac
		printf '  %-13s %s  TTFB ms %8s .. %-8s  total ms %8s .. %s\n' "$k-$m" "$mb" \
			"$(ms "$(stat_col "$f" 2 min)")" "$(ms "$(stat_col "$f" 2 max)")" \
			"$(ms "$(stat_col "$f" 3 min)")" "$(ms "$(stat_col "$f" 3 max)")"
	done
done
for m in direct fwgate; do
	if [ -s "$T/res/warm-$m.newconn" ]; then
		echo "  WARNING: warm-$m: $(wc -l <"$T/res/warm-$m.newconn") later request(s) opened a new connection (no reuse)"
	fi
done
echo
echo "origin side (nginx access log): connections opened for the requests of each case, warm-up included"
for k in small warm big; do
	line="  "
	for m in direct fwgate; do
		[ -s "$T/res/$k-$m" ] || continue
		nreq=$(grep -c "c=$k-$m&" "$T/nginx/access.log" || true)
		ncon=$(grep "c=$k-$m&" "$T/nginx/access.log" | awk '{print $1}' | sort -u | wc -l)
		line+=$(printf '%-13s %3s requests on %3s connections   ' "$k-$m:" "$nreq" "$ncon")
	done
	echo "${line%"${line##*[! ]}"}"
done
if [ "$DIRECT_ONLY" != 1 ]; then
	for k in smallhit bighit; do
		n=$(grep -c "c=$k " "$T/nginx/access.log" || true)
		echo "  $k: $n origin requests for its URL in $((2 * (RUNS + 1))) fetches (direct every time; through fwgate only the warm-up's)"
	done
fi
echo
echo "notes:"
echo "  - cache hit rows: the same URL every run; the warm-up fetch through fwgate stores it,"
echo "    the timed ones are answered from fwgate's vetted store (the origin log shows it)."
echo "  - TTFB = curl %{time_starttransfer}; through fwgate it includes the CONNECT, both TLS"
echo "    handshakes and, fwgate being store-and-forward, the whole upstream fetch and spool."
echo "  - Cold: before every fetch the file's last 16 bytes are rewritten with random ones,"
echo "    so no cache (ClamAV's clean-file cache in fwgate's scanner) answers from an earlier"
echo "    run: each fresh-connection figure is a complete fetch, scan and delivery."
echo "  - warm rows: one curl per run fetching $WARM_REQS URLs over one connection (one tunnel);"
echo "    the first request is left out, the per-request times of the others are pooled."
if [ "$DIRECT_ONLY" != 1 ]; then
	echo "  - fwgate RSS: VmHWM (peak resident set) of the fwgate process read from /proc after"
	echo "    each case; cases run top to bottom, so each figure is the peak so far."
	echo "    At idle after start: $(mb_of_kb "$idle_main") MB. (+Np: total with N child processes.)"
fi
echo "  - The page cache cannot be dropped here: the files were just written, so the origin"
echo "    serves them from memory; fwgate's spool goes through the page cache of the temp"
echo "    dir's file system ($fsline); curl's output is piped into cmp, never written."
echo "    Before each run the file system is synced, so the writeback of a previous run's"
echo "    spool does not fall into the next one. Runs are interleaved and a warm-up run"
echo "    is discarded; the spread shows the remaining noise."
echo "  - nginx's sendfile does not apply to TLS without kernel TLS: the origin encrypts in"
echo "    user space, like fwgate does on both legs."
echo
env_line="BENCH_RUNS=$RUNS BENCH_BIG_MIB=$BIG_MIB BENCH_SMALL_KIB=$SMALL_KIB BENCH_WARM_REQS=$WARM_REQS BENCH_MAX_TIME=$MAX_TIME"
[ "$DIRECT_ONLY" = 1 ] && env_line+=" BENCH_DIRECT_ONLY=1"
echo "rerun: $env_line bash $ROOT/bench/proxy.sh $BUILD"
