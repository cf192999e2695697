#!/usr/bin/env bash
# fwgate vetting benchmark (issue 16, "the scan as the only cost"): how close
# a cold, fully vetted download through `fwgate run` comes to the scan alone.
# A local nginx TLS origin serves firmware-like files (7-bit random bytes);
# for each case the same bytes are
#   direct  fetched from nginx by curl (reference: what the client sees without fwgate),
#   cold    fetched through `fwgate run` by curl: a cold miss (the file's last 16
#           bytes are new random ones before every run, so new content and a
#           new URL: fetch, spool, scan, commit to the store, delivery),
#   scan    inspected by `fwgate scan FILE...` (same configuration, same
#           signature database: the one-signature EICAR database the
#           integration tests use, tests/data/signatures/eicar.ndb, same
#           [scanner] workers), wall time of the whole command, engine load
#           and worker start included;
# and the ratio cold / scan is printed (target: at most 1.03). Cases:
#   big     one BENCH_BIG_MIB file;
#   small   one BENCH_SMALL_MIB file;
#   batch   BENCH_BATCH distinct BENCH_SMALL_MIB files: as many curl clients at
#           once (each its own cold file), wall time from the first start to
#           the last end; against ONE `fwgate scan F1 ... FN` invocation:
#           fwgate scan gives its files to one thread per [scanner] worker
#           (cli/cmd_scan.c), so one invocation scans them concurrently with
#           the same number of workers as the gateway, with one engine (N
#           `fwgate scan` processes would load N engines and start N worker
#           pools, which the gateway does not do).
# Every download is compared with cmp and must be a 200; every scan must
# say clean (exit 0). Runs: one discarded warm-up, then BENCH_RUNS timed
# runs; direct, cold and scan interleaved within each run (cold before scan
# in odd runs, after it in even ones); `sync` before each timed step;
# medians. The gateway's peak RSS (VmHWM) is read after each case.
#
# Where the time of the cold big download goes (median over the timed runs):
# the event log only carries the total (event.duration of the proxy-request
# event, request start to the end of delivery), so the parts are taken from
#   fetch     nginx's $request_time for that request (the origin's view),
#   scan      the growth of fwgate_scan_duration_seconds_sum (/metrics,
#             console, viewer token): hand-over to the scanner to verdict,
#   delivery  curl: time_total - time_starttransfer (fwgate is store and
#             forward: the first byte goes out once the object is committed),
#   rest      time_starttransfer - time_appconnect - fetch - scan: request
#             parsing, policy, store lookup, commit, response head,
#   setup     curl's time_appconnect (CONNECT and the TLS handshake with fwgate).
#
# Usage: bash bench/vet.sh [BUILD_DIR]     (default: build/ of this repository)
#
# Environment (defaults in brackets):
#   BENCH_RUNS        timed runs per case; the median is reported          [3]
#   BENCH_BIG_MIB     size of the big file, MiB                            [512]
#   BENCH_SMALL_MIB   size of the small file and of each batch file, MiB   [64]
#   BENCH_BATCH       files (and concurrent clients) in the batch          [8]
#   BENCH_MAX_TIME    curl --max-time for one transfer, seconds            [900]
#   BENCH_SIGDB       1 = run bench/sigdb.sh at the end (minutes)          [0]
#   BENCH_SIGDB_RUNS  BENCH_RUNS given to bench/sigdb.sh                   [1]
#   BENCH_OVERLAP     the gateway's [scanner] overlap_fetch (true/false)    [true]
#
# Talks only to 127.0.0.1. Everything lives in a mktemp directory under
# $TMPDIR (or /tmp), removed at exit with every process the script started.
# Disk: the inputs (BIG + (1 + BATCH) * SMALL) plus every cold run's object
# in the gateway's store: (RUNS + 1) times as much again.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build "${1:-}"

RUNS=${BENCH_RUNS:-3}
BIG_MIB=${BENCH_BIG_MIB:-512}
SMALL_MIB=${BENCH_SMALL_MIB:-64}
BATCH=${BENCH_BATCH:-8}
MAX_TIME=${BENCH_MAX_TIME:-900}
SIGDB=${BENCH_SIGDB:-0}
SIGDB_RUNS=${BENCH_SIGDB_RUNS:-1}
OVERLAP=${BENCH_OVERLAP:-true}

need_posint RUNS BIG_MIB SMALL_MIB BATCH MAX_TIME SIGDB_RUNS
[[ $SIGDB =~ ^[01]$ ]] || die "BENCH_SIGDB must be 0 or 1 (got \"$SIGDB\")"
[[ $OVERLAP =~ ^(true|false)$ ]] || die "BENCH_OVERLAP must be true or false (got \"$OVERLAP\")"
loopback_only
need_tools curl openssl python3 cmp awk
need_nginx
need_fw
SIGSRC=$ROOT/tests/data/signatures/eicar.ndb
[ -s "$SIGSRC" ] || die "$SIGSRC is missing"

bench_tmp vet
# now_us: the wall clock in microseconds
now_us() { echo "${EPOCHREALTIME/./}"; }
# secs T0 T1: seconds between two now_us readings
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", (b - a) / 1e6 }'; }
# sync_fs: flushes the temp dir's file system (the gateway's spool and store)
sync_fs() { sync -f "$T" 2>/dev/null || sync; }

# ---------------------------------------------------------------- PKI
# A test CA and a leaf for vendor.test (lib.sh: make_pki).
mkdir -p "$T/www" "$T/dl" "$T/res" "$T/state" "$T/sigs"
chmod 700 "$T/dl" "$T/res" "$T/state"
make_pki

# ---------------------------------------------------------------- files
# Firmware-like 7-bit random bytes (lib.sh: fwdata; fresh_tail before each run).
note "writing the inputs: $BIG_MIB MiB, $SMALL_MIB MiB and $BATCH x $SMALL_MIB MiB..."
fwdata $((BIG_MIB * 1024 * 1024)) "$T/www/big.bin"
fwdata $((SMALL_MIB * 1024 * 1024)) "$T/www/small.bin"
BATCH_FILES=()
for i in $(seq 1 "$BATCH"); do
	fwdata $((SMALL_MIB * 1024 * 1024)) "$T/www/batch$i.bin"
	BATCH_FILES+=("$T/www/batch$i.bin")
done
printf 'x' >"$T/one.bin"
cp "$SIGSRC" "$T/sigs/"

# ---------------------------------------------------------------- nginx origin
# The access log carries $request_time: the fetch part of the breakdown.
start_nginx "/small.bin?c=probe" \
	"log_format bench '\$connection \"\$request\" \$status \$body_bytes_sent \$request_time';" \
	"access_log $T/nginx/access.log bench;"

# ---------------------------------------------------------------- fwgate
# The shipped rule card with the origin's port added; one configuration for
# `fwgate run` and `fwgate scan` (the [scanner] section is what scan uses).
start_fwgate '[scanner]' "signatures = $T/sigs" 'watch_signatures = false' "overlap_fetch = $OVERLAP"
WORKERS=$("$FW" config check -c "$T/fwgate.conf" 2>/dev/null | awk -F' *= *' '$1 == "workers" { print $2; exit }' || true)
[ -n "$WORKERS" ] && [ "$WORKERS" != 0 ] || WORKERS="0 (one per CPU: $(nproc))"

# A viewer token for /metrics (the scan duration histogram).
TOKEN=$("$FW" token add bench --role viewer -c "$T/fwgate.conf" 2>"$T/token.err" | grep -o 'fwg_[A-Za-z0-9_-]*' | head -n 1 || true)
scan_sum() {
	[ -n "$TOKEN" ] || { echo nan; return; }
	curl -q -s --max-time 10 --cacert "$FWCA" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$CP/metrics" |
		awk '$1 == "fwgate_scan_duration_seconds_sum" { print $2; found = 1 } END { if (!found) print "nan" }'
}
[ "$(scan_sum)" != nan ] || note "no /metrics (token: $(cat "$T/token.err")): the breakdown will lack the scan part"

# ---------------------------------------------------------------- measuring
W='%{http_code} %{size_download} %{time_appconnect} %{time_starttransfer} %{time_total}'

# fetch TAG MODE FILE: one curl (fresh connection), body piped into cmp;
# leaves "code bytes appconnect starttransfer total" in dl/TAG.w, and the
# pipeline's exit statuses in dl/TAG.st. The URL is unique (query TAG).
fetch() {
	local tag=$1 mode=$2 file=$3
	curl_cmp "$mode" "$MAX_TIME" "https://vendor.test:$OP/$(basename "$file")?c=$tag" "$file" "$T/dl/$tag.err" "$W\n"
	echo "${ST[*]}" >"$T/dl/$tag.st"
	sed -n 's/^W //p' "$T/dl/$tag.err" >"$T/dl/$tag.w"
}
# fetch_check TAG FILE: dies unless the fetch was a whole, identical 200
fetch_check() {
	local tag=$1 file=$2 st fld
	read -r -a st <"$T/dl/$tag.st"
	read -r -a fld <"$T/dl/$tag.w" || true
	[ "${st[0]}" = 0 ] || [ "${st[0]}" = 23 ] ||
		die "$tag: curl exited ${st[0]}: $(grep -v '^W ' "$T/dl/$tag.err")" "$T/fwgate.err" "$T/nginx/error.log"
	[ "${fld[0]:-}" = 200 ] || die "$tag: HTTP status ${fld[0]:-none}" "$T/fwgate.err" "$T/events.log"
	{ [ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ]; } ||
		die "$tag: download differs from the origin's file (cmp exit ${st[1]}, ${fld[1]:-?} of $(stat -c %s "$file") bytes)"
}

# forget PID: the process has been waited for; the cleanup leaves it alone
forget() {
	local q keep=()
	for q in "${pids[@]}"; do [ "$q" = "$1" ] || keep+=("$q"); done
	pids=("${keep[@]}")
}

# scan TAG FILE...: one `fwgate scan` of the files; wall seconds in SECS
# (not on stdout: a die in a command substitution would not stop the run)
scan() {
	local tag=$1 t0 t1 rc=0 p
	shift
	t0=$(now_us)
	"$FW" scan -c "$T/fwgate.conf" "$@" >"$T/dl/$tag.scan" 2>"$T/dl/$tag.scanerr" &
	p=$!
	pids+=("$p")
	wait "$p" || rc=$?
	t1=$(now_us)
	forget "$p"
	[ "$rc" = 0 ] || die "$tag: fwgate scan exited $rc" "$T/dl/$tag.scan" "$T/dl/$tag.scanerr"
	[ "$(grep -c ': clean$' "$T/dl/$tag.scan")" = $# ] || die "$tag: fwgate scan did not say clean for every file" "$T/dl/$tag.scan"
	SECS=$(secs "$t0" "$t1")
}

# record CASE KIND SECONDS (+ KIND "extra" lines for the breakdown)
record() { [ "$REC" = 1 ] && echo "$3" >>"$T/res/$1-$2"; return 0; }

# one_case CASE FILE ORDER: direct, then cold and scan in ORDER (cs or sc)
one_case() {
	local c=$1 file=$2 order=$3 tag s0 s1 step
	fresh_tail "$file"
	sync_fs
	tag="$c-direct-$RUN-$RANDOM"
	fetch "$tag" direct "$file"
	fetch_check "$tag" "$file"
	record "$c" direct "$(awk '{ print $5 }' "$T/dl/$tag.w")"
	for step in ${order:0:1} ${order:1:1}; do
		sync_fs
		if [ "$step" = s ]; then
			scan "$c-scan-$RUN" "$file"
			record "$c" scan "$SECS"
			continue
		fi
		tag="$c-cold-$RUN-$RANDOM"
		s0=$(scan_sum)
		fetch "$tag" fwgate "$file"
		fetch_check "$tag" "$file"
		s1=$(scan_sum)
		record "$c" cold "$(awk '{ print $5 }' "$T/dl/$tag.w")"
		if [ "$REC" = 1 ] && [ "$c" = big ]; then
			echo "$tag $s0 $s1 $(cat "$T/dl/$tag.w")" >>"$T/res/big-parts"
		fi
	done
}

# batch_fetch TAG MODE: BATCH curls at once, one per batch file; wall seconds in SECS
batch_fetch() {
	local tag=$1 mode=$2 i t0 t1 bp=()
	t0=$(now_us)
	for i in $(seq 1 "$BATCH"); do
		fetch "$tag-$i" "$mode" "$T/www/batch$i.bin" &
		bp+=($!)
		pids+=($!)
	done
	for p in "${bp[@]}"; do wait "$p" || true; forget "$p"; done
	t1=$(now_us)
	for i in $(seq 1 "$BATCH"); do fetch_check "$tag-$i" "$T/www/batch$i.bin"; done
	SECS=$(secs "$t0" "$t1")
}

# one_batch ORDER: the batch direct, then cold and scan in ORDER (cs or sc)
one_batch() {
	local order=$1 step
	fresh_tail "${BATCH_FILES[@]}"
	sync_fs
	batch_fetch "batch-direct-$RUN-$RANDOM" direct
	record batch direct "$SECS"
	for step in ${order:0:1} ${order:1:1}; do
		sync_fs
		if [ "$step" = s ]; then
			scan "batch-scan-$RUN" "${BATCH_FILES[@]}"
			record batch scan "$SECS"
		else
			batch_fetch "batch-cold-$RUN-$RANDOM" fwgate
			record batch cold "$SECS"
		fi
	done
}

# med FILE [COLUMN]: median of a column (lib.sh: col)
med() { col "$1" "${2:-1}" median; }
# range FILE: "min..max" of the file's numbers, two decimals
range() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f..%.2f", lo, hi }'; }

declare -A RSS
read -r idle_main _ < <(hwm_kb "$FWPID")
note "origin nginx on 127.0.0.1:$OP, fwgate on 127.0.0.1:$FP; $RUNS timed runs per case after one warm-up"
ENGINE=()
for RUN in $(seq 0 "$RUNS"); do
	REC=1
	[ "$RUN" = 0 ] && REC=0
	order=cs
	[ $((RUN % 2)) = 0 ] && order=sc
	note "run $RUN of $RUNS$([ "$RUN" = 0 ] && echo " (warm-up, discarded)"): $BIG_MIB MiB..."
	one_case big "$T/www/big.bin" "$order"
	RSS[big]=$(hwm_kb "$FWPID")
	note "run $RUN: $SMALL_MIB MiB..."
	one_case small "$T/www/small.bin" "$order"
	RSS[small]=$(hwm_kb "$FWPID")
	note "run $RUN: batch of $BATCH x $SMALL_MIB MiB..."
	one_batch "$order"
	RSS[batch]=$(hwm_kb "$FWPID")
	# engine load and worker start of fwgate scan, on a 1-byte file
	sync_fs
	scan "one-$RUN" "$T/one.bin"
	ENGINE+=("$SECS")
done
kill -0 "$FWPID" 2>/dev/null || die "fwgate died during the runs" "$T/fwgate.err"
printf '%s\n' "${ENGINE[@]:1}" >"$T/res/engine"

# ---------------------------------------------------------------- breakdown
# For each timed cold big run: nginx's $request_time, the event's
# event.duration, curl's phases and the scan histogram's growth.
: >"$T/res/parts"
while read -r tag s0 s1 _ _ app start total; do
	fetch_s=$(awk -v t="c=$tag " 'index($0, t) { print $NF; exit }' "$T/nginx/access.log")
	ev_line=$(grep -F "c=$tag\"" "$T/events.log" | grep -F '"proxy-request"' | head -n 1)
	ev_s=$(sed -n 's/.*"event.duration":\([0-9]*\).*/\1/p' <<<"$ev_line")
	# Judged as it arrived ([scanner] overlap_fetch): the scan's clock
	# started with the body, so the fetch is inside the scan figure.
	ov_ms=$(sed -n 's/.*"fwgate.scan.overlap_ms":\([0-9]*\).*/\1/p' <<<"$ev_line")
	awk -v s0="$s0" -v s1="$s1" -v app="$app" -v st="$start" -v tot="$total" -v f="${fetch_s:-nan}" -v ev="${ev_s:-nan}" \
		-v ov="${ov_ms:-0}" '
		BEGIN {
			sc = (s0 == "nan" || s1 == "nan") ? "nan" : s1 - s0
			rest = (sc == "nan" || f == "nan") ? "nan" : st - app - sc - (ov > 0 ? 0 : f)
			printf "%s %s %s %s %s %s %s %s\n", app, f, sc, rest, tot - st, tot, (ev == "nan" ? "nan" : ev / 1e9), ov / 1e3
		}' >>"$T/res/parts"
done <"$T/res/big-parts"

# ---------------------------------------------------------------- report
fsline=$(findmnt -no FSTYPE -T "$T" 2>/dev/null || echo "?")
echo
echo "fwgate vetting benchmark (cold vetted download against fwgate scan), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host:    $(uname -srm), $(nproc) CPU ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/ {printf "%.1f GB RAM", $2 * 1024 / 1e9}' /proc/meminfo)"
echo "fwgate:  $("$FW" version 2>/dev/null | head -n 1) ($FW); [scanner] workers = $WORKERS, overlap_fetch = $OVERLAP"
echo "sigs:    tests/data/signatures/eicar.ndb (one signature), for fwgate run and fwgate scan alike"
echo "origin:  $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), TLS on 127.0.0.1:$OP; temp dir on $fsline"
echo "method:  $RUNS timed runs (+1 warm-up, discarded); direct, cold and scan interleaved per run;"
echo "         sync before each step; medians in seconds (min..max below); every download a 200 and"
echo "         identical to the origin's file (cmp); every scan clean"
echo
printf '%-28s %10s %10s %10s %12s %12s   %s\n' "case" "direct s" "cold s" "scan s" "cold/scan" "cold/direct" "fwgate RSS MB"
printf '%-28s %10s %10s %10s %12s %12s   %s\n' "----" "--------" "------" "------" "---------" "-----------" "-------------"
declare -A LABEL=([big]="$BIG_MIB MiB, one client" [small]="$SMALL_MIB MiB, one client"
	[batch]="$BATCH x $SMALL_MIB MiB, $BATCH clients")
for c in big small batch; do
	d=$(med "$T/res/$c-direct"); k=$(med "$T/res/$c-cold"); s=$(med "$T/res/$c-scan")
	printf '%-28s %10.2f %10.2f %10.2f %12s %12s   %s\n' "${LABEL[$c]}" "$d" "$k" "$s" \
		"$(awk -v a="$k" -v b="$s" 'BEGIN { printf "%.3f", a / b }')" \
		"$(awk -v a="$k" -v b="$d" 'BEGIN { printf "%.1fx", a / b }')" "$(rss_of "${RSS[$c]}")"
done
echo
echo "spread (min..max, s):"
for c in big small batch; do
	printf '  %-28s direct %-14s cold %-14s scan %s\n' "${LABEL[$c]}" "$(range "$T/res/$c-direct")" \
		"$(range "$T/res/$c-cold")" "$(range "$T/res/$c-scan")"
done
printf '  %-28s %.2f s median (engine load, worker start: part of every scan figure)\n' \
	"fwgate scan of a 1-byte file" "$(med "$T/res/engine")"
echo
echo "cold $BIG_MIB MiB download: where the time goes (median of each part over the $RUNS runs, s):"
P=$T/res/parts
printf '  %-58s %8.2f\n' "setup: CONNECT + TLS handshake with fwgate (curl appconnect)" "$(med "$P" 1)"
printf '  %-58s %8.2f\n' "fetch: origin -> fwgate spool (nginx \$request_time)" "$(med "$P" 2)"
printf '  %-58s %8.2f\n' "scan: hand-over to verdict (fwgate_scan_duration_seconds)" "$(med "$P" 3)"
printf '  %-58s %8.2f\n' "  of which beside the fetch (event fwgate.scan.overlap_ms)" "$(med "$P" 8)"
printf '  %-58s %8.2f\n' "rest: commit, store, headers (first byte - setup, scan, fetch not beside it)" "$(med "$P" 4)"
printf '  %-58s %8.2f\n' "delivery: first byte to last (curl)" "$(med "$P" 5)"
printf '  %-58s %8.2f\n' "total (curl time_total)" "$(med "$P" 6)"
printf '  %-58s %8.2f\n' "gateway's own total (event.duration of proxy-request)" "$(med "$P" 7)"
echo "  (the event log has only the total per request; the parts come from the origin's log,"
echo "   the gateway's /metrics and curl; a part that cannot be read shows nan)"
echo
echo "notes:"
echo "  - cold: the file's last 16 bytes are rewritten with random 7-bit bytes before each run"
echo "    (and the URL is new), so the gateway fetches, scans, commits and delivers new content;"
echo "    fwgate scan then reads the same bytes (or read them just before, in even runs)."
echo "  - batch: wall time from starting $BATCH curl clients at once to the last one's end; scan:"
echo "    one fwgate scan with the $BATCH files (it scans them concurrently, one thread per worker)."
echo "  - fwgate RSS: VmHWM of the gateway process (+Np: with its N descendants, summed),"
echo "    peak so far after each case (cases run top to bottom, every run). At idle: $(mb_of_kb "$idle_main") MB."
echo "  - The page cache is not dropped: the origin serves from memory, fwgate's spool and"
echo "    store go through the page cache of $fsline; curl's output is piped into cmp."
echo "  - Client, origin, gateway and scanner share the machine's $(nproc) CPUs."

rerun="BENCH_RUNS=$RUNS BENCH_BIG_MIB=$BIG_MIB BENCH_SMALL_MIB=$SMALL_MIB BENCH_BATCH=$BATCH BENCH_MAX_TIME=$MAX_TIME BENCH_SIGDB=$SIGDB BENCH_OVERLAP=$OVERLAP"
[ "$SIGDB" = 1 ] && rerun+=" BENCH_SIGDB_RUNS=$SIGDB_RUNS"
rerun+=" bash $ROOT/bench/vet.sh $BUILD"
if [ "$SIGDB" = 1 ]; then
	# The gateway and nginx are stopped first: sigdb.sh wants the CPUs.
	stop_all
	echo
	note "BENCH_SIGDB=1: running bench/sigdb.sh (minutes)..."
	BENCH_RUNS=$SIGDB_RUNS bash "$ROOT/bench/sigdb.sh" "$BUILD" || die "bench/sigdb.sh failed"
fi
echo
echo "rerun: $rerun"
