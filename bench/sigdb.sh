#!/usr/bin/env bash
# Full-size signature database benchmark: what a ClamAV database of the size
# and shape of main + daily costs fwgate and clamd, against a one-signature
# database (EICAR), on the same files. bench/sigdb_gen.py generates the
# database (body signatures drawn from code, strings, structure and data,
# about a quarter with wildcards; .ldb; millions of .hdb/.hsb/.mdb hashes;
# .fp and .ign2): see its header for how its shape was chosen.
#
# Measured, per database:
#   fwgate  - engine load: wall time of `fwgate scan` of a 1-byte file, and of
#             `fwgate run` from start to "serving on";
#           - memory: VmRSS, VmHWM and Pss (/proc/PID/smaps_rollup) of the
#             gateway, the scanner supervisor and each worker of `fwgate run`:
#             Pss well under RSS in the workers = the engine shared copy-on-write;
#           - reload: `fwgate reload` (SIGHUP), its duration (until the log says
#             "signatures reloaded") and the peak of the process tree's summed
#             RSS, sampled every 0.1 s, and the supervisor's VmHWM after it;
#           - scan MB/s: input bytes / (wall time of `fwgate scan FILE` - wall
#             time of `fwgate scan` of the 1-byte file), i.e. the load taken out.
#   clamd   - run in the foreground with its own config (LocalSocket in the
#             temp dir, DatabaseDirectory = the generated directory): load =
#             start to the first PONG; RSS/HWM/Pss of the one process; reload =
#             RELOAD on the socket until its log says "Database correctly
#             reloaded" (ConcurrentDatabaseReload: old and new engine coexist);
#             scan MB/s = bytes / wall time of `clamdscan --no-summary FILE`
#             (the engine is loaded already).
# Inputs: random.bin (7-bit random bytes: firmware-like; uniformly random
# bytes look encrypted and fwgate holds them), text.txt (log/config-like
# text), package.zip (deflated zip of many members, half text, half 7-bit
# random). Before anything is timed both must find the two planted files
# (a generated .ndb body signature inside random data, a generated .hdb hash)
# with the full database, and call every input clean with both databases.
#
# Usage: bash bench/sigdb.sh [BUILD_DIR]      (default: build/ of this repository)
#
# Environment (defaults in brackets):
#   BENCH_SIGDB_SCALE  size of the generated database; 1.0 = 300k .ndb, 20k .ldb,
#                      1.5M .hdb, 1.5M .hsb, 1M .mdb (about 4.3M signatures,
#                      half of main + daily); 0.25 takes about a quarter    [1.0]
#   BENCH_RUNS         timed runs per tool, database and input (median)     [1]
#   BENCH_RANDOM_MIB   size of random.bin, MiB                              [64]
#   BENCH_TEXT_MIB     size of text.txt, MiB                                [16]
#   BENCH_MEMBERS      members of package.zip (4..128 KiB each)             [1000]
#   BENCH_FW_WORKERS   [scanner] workers for fwgate run/scan (empty: its default) []
#   BENCH_TIMEOUT      limit for one step (a scan, a load, a reload), s     [600]
#   BENCH_SEED         seed of the database and inputs                      [1]
#
# Talks only to 127.0.0.1 and unix sockets in its temp dir. Everything lives
# in a mktemp directory under $TMPDIR (or /tmp), removed at exit with every
# process the script started. No timing assertions: it prints figures.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build "${1:-}"

SCALE=${BENCH_SIGDB_SCALE:-1.0}
RUNS=${BENCH_RUNS:-1}
RANDOM_MIB=${BENCH_RANDOM_MIB:-64}
TEXT_MIB=${BENCH_TEXT_MIB:-16}
MEMBERS=${BENCH_MEMBERS:-1000}
FW_WORKERS=${BENCH_FW_WORKERS:-}
TIMEOUT=${BENCH_TIMEOUT:-600}
SEED=${BENCH_SEED:-1}

need_posint RUNS RANDOM_MIB TEXT_MIB MEMBERS TIMEOUT
if ! [[ $SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v s="$SCALE" 'BEGIN { exit !(s > 0 && s <= 4) }'; then
	die "BENCH_SIGDB_SCALE must be a number in (0, 4] (got \"$SCALE\")"
fi
[[ $SEED =~ ^[0-9]+$ ]] || die "BENCH_SEED must be a non-negative integer (got \"$SEED\")"
[ -z "$FW_WORKERS" ] || [[ $FW_WORKERS =~ ^[1-9][0-9]*$ ]] || die "BENCH_FW_WORKERS must be a positive integer"
need_fw
need_tools python3 awk timeout date
if ! command -v clamd >/dev/null && [ ! -x /usr/sbin/clamd ] || ! command -v clamdscan >/dev/null; then
	# Debian's post-install may try to start the system clamd and freshclam;
	# without an init system (containers) policy-rc.d or invoke-rc.d refuse.
	note "clamd/clamdscan missing: installing clamav-daemon and clamdscan with apt-get"
	apt_install --no-install-recommends clamav clamav-daemon clamdscan || die "cannot install clamav-daemon clamdscan"
fi
CLAMD=$(command -v clamd || echo /usr/sbin/clamd)
[ -x "$CLAMD" ] || die "clamd not found"

# Processes run under timeout: stopped tree first at exit.
bench_tmp sigdb tree
mkdir -p "$T/db/one" "$T/in" "$T/sanity" "$T/res" "$T/out"

# now: the wall clock in nanoseconds
now() { date +%s%N; }
# secs T0 T1: seconds between two now readings, two decimals
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

# ---------------------------------------------------------------- database
note "generating the database (scale $SCALE) in $T/db/full ..."
t0=$(now)
python3 "$ROOT/bench/sigdb_gen.py" "$T/db/full" --scale "$SCALE" --seed "$SEED" --plant "$T/sanity" \
	>"$T/res/gen.out" 2>"$T/res/gen.err" || die "sigdb_gen.py failed" "$T/res/gen.err"
GEN_S=$(secs "$t0" "$(now)")
DB_BYTES=$(du -sb "$T/db/full" | cut -f1)
# shellcheck disable=SC2016 # the EICAR test string, literally
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf 'Fwgate.Test.EICAR:0:*:%s\n' "$(printf '%s' "$EICAR" | od -An -tx1 | tr -d ' \n')" >"$T/db/one/one.ndb"

# ---------------------------------------------------------------- inputs
note "generating the inputs ..."
fwdata $((RANDOM_MIB << 20)) "$T/in/random.bin"
head -c 1 /dev/zero | tr '\0' 'x' >"$T/in/tiny.txt"
python3 - "$T/in" "$TEXT_MIB" "$MEMBERS" "$SEED" <<'PY' || die "cannot generate the inputs"
import io, os, random, sys, zipfile
out, text_mib, members, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
R = random.Random("inputs-%d" % seed)
SEVEN = bytes(i & 0x7F for i in range(256))
WORDS = ("the of and to in is for on with as by at from this that be are was it an or not "
         "firmware update version build module driver device vendor package image signed "
         "checksum region offset length status error warning info debug config option value "
         "enable disable true false default service interface memory flash boot loader").split()


def text(n):
    """Log- and config-like lines (timestamps, keys, words, numbers)."""
    lines, size = [], 0
    while size < n:
        k = R.random()
        if k < 0.5:
            l = "2026-%02d-%02d %02d:%02d:%02d %s %s: %s" % (
                R.randint(1, 12), R.randint(1, 28), R.randrange(24), R.randrange(60), R.randrange(60),
                R.choice(["INFO", "WARN", "DEBUG", "ERROR"]), R.choice(WORDS),
                " ".join(R.choice(WORDS) for _ in range(R.randint(4, 14))))
        elif k < 0.8:
            l = "%s_%s = %s" % (R.choice(WORDS), R.choice(WORDS), R.choice([str(R.randrange(1 << 16)),
                                "0x%08x" % R.getrandbits(32), R.choice(WORDS)]))
        else:
            l = " ".join(R.choice(WORDS) for _ in range(R.randint(6, 18))).capitalize() + "."
        lines.append(l)
        size += len(l) + 1
    return ("\n".join(lines) + "\n").encode()[:n]


with open(os.path.join(out, "text.txt"), "wb") as f:
    for _ in range(text_mib):
        f.write(text(1 << 20))
unpacked = 0
with zipfile.ZipFile(os.path.join(out, "package.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(members):
        n = int(4096 * 2 ** R.uniform(0, 5))
        data = text(n) if i % 2 else os.urandom(n).translate(SEVEN)
        z.writestr("pkg/%s/%04d.%s" % (R.choice(WORDS), i, "txt" if i % 2 else "bin"), data)
        unpacked += n
open(os.path.join(out, "package.zip.unpacked"), "w").write("%d %d\n" % (unpacked, members))
PY
INPUTS=(random.bin text.txt package.zip)
declare -A BYTES
for f in "${INPUTS[@]}"; do BYTES[$f]=$(stat -c %s "$T/in/$f"); done
read -r PKG_UNPACKED PKG_N <"$T/in/package.zip.unpacked"

# ---------------------------------------------------------------- process figures
# mem PID: "RSS HWM PSS" in kB (0 when unreadable)
mem() {
	local r h p
	r=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
	h=$(awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
	p=$(awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || true)
	echo "${r:-0} ${h:-0} ${p:-0}"
}
children() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }
# fw_procs GW: "gateway supervisor worker..." pids
fw_procs() {
	local sup="" k w=()
	for k in $(children "$1"); do [ "$(cat /proc/"$k"/comm 2>/dev/null)" = fwgate-scan ] && sup=$k; done
	[ -n "$sup" ] || { echo "$1"; return; }
	for k in $(children "$sup"); do [ "$(cat /proc/"$k"/comm 2>/dev/null)" = fwgate-worker ] && w+=("$k"); done
	echo "$1 $sup ${w[*]}"
}
tree_mem() { # PIDS...: "summed VmRSS summed Pss", kB
	local t=0 u=0 p r
	for p in "$@"; do
		r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
		t=$((t + ${r:-0}))
		r=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
		u=$((u + ${r:-0}))
	done
	echo "$t $u"
}
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k * 1024 / 1e6 }'; }
# median: of the numbers on stdin, one a line (lib.sh: pick)
median() { pick median; }
# wait_log FILE REGEX SECONDS: 0 when a line matches in time
wait_log() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# clamd_cmd SOCKET CMD: one z-command on clamd's socket, prints the answer
clamd_cmd() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall(b"z" + sys.argv[2].encode() + b"\0")
data = b""
while not data.endswith(b"\0"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.rstrip(b"\0").decode())
PY
}

# ---------------------------------------------------------------- fwgate
fw_conf() { # DB FILE [PORT CONSOLE]
	{
		[ -z "${3:-}" ] || printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$3" "$4"
		printf '[state]\ndir = %s/state-%s\n' "$T" "$1"
		printf '[log]\nfile = %s/out/events-%s.log\n' "$T" "$1"
		printf '[scanner]\nsignatures = %s/db/%s\nwatch_signatures = false\n' "$T" "$1"
		printf 'max_members = %s\nmax_member_bytes = %s\nmax_total_bytes = %s\n' $((MEMBERS + 100)) \
			$(((RANDOM_MIB + TEXT_MIB + 64) * 1048576)) $(((RANDOM_MIB + TEXT_MIB) * 3 * 1048576 + 268435456))
		printf 'max_seconds = %s\ntimeout_seconds = %s\n' "$TIMEOUT" $((TIMEOUT + 60))
		[ -z "$FW_WORKERS" ] || printf 'workers = %s\n' "$FW_WORKERS"
	} >"$2"
}

# fw_scan DB FILE...: one `fwgate scan`; sets FWRC and FWSECS (wall); output in $T/out/fwscan
fw_scan() {
	local db=$1 t0
	shift
	t0=$(now)
	set +e
	timeout -k 10 "$TIMEOUT" "$FW" scan "$@" -c "$T/fw-$db.conf" >"$T/out/fwscan" 2>"$T/out/fwscan.err"
	FWRC=$?
	set -e
	FWSECS=$(secs "$t0" "$(now)")
}

for db in one full; do fw_conf "$db" "$T/fw-$db.conf"; done

note "sanity: fwgate must find the planted signatures with the full database"
fw_scan full "$T/sanity/planted-ndb.bin" "$T/sanity/planted-hdb.bin"
[ "$FWRC" = 1 ] || die "fwgate scan of the planted files exited $FWRC (expected 1)" "$T/out/fwscan" "$T/out/fwscan.err"
while read -r f name; do
	grep -A3 -F "$T/sanity/$f: infected" "$T/out/fwscan" | grep -qF "$name" ||
		die "fwgate did not name $name in $f" "$T/out/fwscan"
done <"$T/sanity/planted.names"
FW_SANITY=$(sed "s|$T/sanity/||; s/^/    /" "$T/out/fwscan")

declare -A R
for db in one full; do
	for f in tiny.txt "${INPUTS[@]}"; do
		: >"$T/res/fwscan-$db-$f"
		for r in $(seq 1 "$RUNS"); do
			note "fwgate scan, $db database: $f ($r/$RUNS)"
			sync
			fw_scan "$db" "$T/in/$f"
			[ "$FWRC" = 0 ] || die "fwgate scan ($db) of $f exited $FWRC (expected 0, clean)" "$T/out/fwscan" "$T/out/fwscan.err"
			echo "$FWSECS" >>"$T/res/fwscan-$db-$f"
		done
		R[fwscan-$db-$f]=$(median <"$T/res/fwscan-$db-$f")
	done
done

# fw_run DB: `fwgate run`, its memory, a reload, its memory after
fw_run() {
	local db=$1
	local port cport t0 gw procs n want peak=0 peakp=0 s p log=$T/out/fwrun-$db.log
	port=$(free_port)
	cport=$(free_port)
	fw_conf "$db" "$T/fwrun-$db.conf" "$port" "$cport"
	note "fwgate run, $db database: start"
	t0=$(now)
	"$FW" run -c "$T/fwrun-$db.conf" >"$log" 2>&1 &
	gw=$!
	pids+=("$gw")
	wait_log "$log" '^fwgate [^ ]*: serving on' "$TIMEOUT" || die "fwgate run ($db) did not come up" "$log"
	R[fwrun-load-$db]=$(secs "$t0" "$(now)")
	want=${FW_WORKERS:-$(nproc)}
	for ((n = 0; n < 300; n++)); do
		read -ra procs <<<"$(fw_procs "$gw")"
		[ "${#procs[@]}" -ge $((want + 2)) ] && break
		sleep 0.1
	done
	[ "${#procs[@]}" -ge 3 ] || die "fwgate run ($db): no scanner workers found" "$log"
	sleep 1 # let the workers settle
	fw_mem_snapshot "$db" before "${procs[@]}"
	note "fwgate run, $db database: reload"
	t0=$(now)
	"$FW" reload -c "$T/fwrun-$db.conf" >"$T/out/fwreload-$db" 2>&1 || die "fwgate reload failed" "$T/out/fwreload-$db"
	for ((n = 0; n < TIMEOUT * 10; n++)); do
		read -ra procs <<<"$(fw_procs "$gw")"
		read -r s p <<<"$(tree_mem "${procs[@]}")"
		[ "$s" -le "$peak" ] || peak=$s
		[ "$p" -le "$peakp" ] || peakp=$p
		grep -qE 'signature reload \(sighup\) failed|signatures reloaded \(sighup\)' "$log" && break
		sleep 0.1
	done
	grep -q 'signatures reloaded (sighup)' "$log" || die "fwgate run ($db): the reload did not succeed" "$log"
	R[fwreload-s-$db]=$(secs "$t0" "$(now)")
	R[fwreload-peak-$db]=$peak
	R[fwreload-peakp-$db]=$peakp
	sleep 1
	read -ra procs <<<"$(fw_procs "$gw")"
	fw_mem_snapshot "$db" after "${procs[@]}"
	R[fwsig-$db]=$(grep -oE '[0-9]+ signatures in all' "$log" | head -n 1 | cut -d' ' -f1)
	kill -TERM "$gw"
	wait "$gw" 2>/dev/null || true
	unset 'pids[-1]'
}
# fw_mem_snapshot DB WHEN GW SUP WORKER...: R[fwmem-DB-WHEN-ROLE] = "RSS HWM PSS"
fw_mem_snapshot() {
	local db=$1 when=$2 i=0 w m a c tot_rss=0 tot_pss=0
	shift 2
	R[fwmem-$db-$when-gateway]=$(mem "$1")
	R[fwmem-$db-$when-supervisor]=$(mem "$2")
	for m in gateway supervisor; do
		read -r a _ c <<<"${R[fwmem-$db-$when-$m]}"
		tot_rss=$((tot_rss + a)) tot_pss=$((tot_pss + c))
	done
	shift 2
	R[fwmem-$db-$when-nworkers]=$#
	for w in "$@"; do
		i=$((i + 1))
		R[fwmem-$db-$when-worker$i]=$(mem "$w")
		read -r a _ c <<<"${R[fwmem-$db-$when-worker$i]}"
		tot_rss=$((tot_rss + a)) tot_pss=$((tot_pss + c))
	done
	R[fwmem-$db-$when-total]="$tot_rss 0 $tot_pss"
}
for db in one full; do fw_run "$db"; done

# ---------------------------------------------------------------- clamd
clamd_run() {
	local db=$1
	local conf=$T/clamd-$db.conf sock=$T/clamd-$db.sock log=$T/out/clamd-$db.log t0 pid n peak=0 s f r
	{
		echo "Foreground yes"
		echo "LocalSocket $sock"
		echo "LogFile $log"
		echo "LogTime yes"
		echo "PidFile $T/clamd-$db.pid"
		echo "DatabaseDirectory $T/db/$db"
		echo "TemporaryDirectory $T"
		echo "MaxThreads 2"
		# fwgate scans with ClamAV's cache off; so does clamd here, or a
		# repeated run would be answered from the cache
		echo "DisableCache yes"
		echo "SelfCheck 3600"
		echo "ConcurrentDatabaseReload yes"
		echo "AlertExceedsMax yes"
		echo "MaxScanSize 2000M"
		echo "MaxFileSize 2000M"
		echo "MaxFiles $((MEMBERS + 100))"
		echo "MaxScanTime 0"
		echo "StreamMaxLength 2000M"
	} >"$conf"
	note "clamd, $db database: start"
	t0=$(now)
	"$CLAMD" -c "$conf" >"$T/out/clamd-$db.out" 2>&1 &
	pid=$!
	pids+=("$pid")
	for ((n = 0; n < TIMEOUT * 10; n++)); do
		kill -0 "$pid" 2>/dev/null || die "clamd ($db) exited" "$T/out/clamd-$db.out" "$log"
		[ -S "$sock" ] && [ "$(clamd_cmd "$sock" PING 2>/dev/null || true)" = PONG ] && break
		sleep 0.1
	done
	R[clamd-load-$db]=$(secs "$t0" "$(now)")
	R[clamd-mem-$db-before]=$(mem "$pid")
	R[clamd-sig-$db]=$(grep -oE 'Loaded [0-9]+ signatures' "$log" | tail -n 1 | cut -d' ' -f2)
	if [ "$db" = full ]; then
		note "sanity: clamd must find the planted signatures"
		clamdscan --no-summary --config-file="$conf" "$T/sanity/planted-ndb.bin" "$T/sanity/planted-hdb.bin" \
			>"$T/out/clamd-sanity" 2>&1 && die "clamdscan found nothing in the planted files" "$T/out/clamd-sanity"
		while read -r f r; do
			grep -qE "^$T/sanity/$f: ${r//./\\.}(\.UNOFFICIAL)? FOUND$" "$T/out/clamd-sanity" ||
				die "clamd did not find $r in $f" "$T/out/clamd-sanity"
		done <"$T/sanity/planted.names"
		CLAMD_SANITY=$(sed "s|$T/sanity/||; s/^/    /" "$T/out/clamd-sanity")
	fi
	for f in "${INPUTS[@]}"; do
		: >"$T/res/clamd-$db-$f"
		for r in $(seq 1 "$RUNS"); do
			note "clamdscan, $db database: $f ($r/$RUNS)"
			sync
			t0=$(now)
			timeout -k 10 "$TIMEOUT" clamdscan --no-summary --config-file="$conf" "$T/in/$f" >"$T/out/clamdscan" 2>&1 ||
				die "clamdscan ($db) of $f: not clean" "$T/out/clamdscan" "$log"
			secs "$t0" "$(now)" >>"$T/res/clamd-$db-$f"
			grep -qxF "$T/in/$f: OK" "$T/out/clamdscan" || die "clamdscan did not report $f OK" "$T/out/clamdscan"
		done
		R[clamd-$db-$f]=$(median <"$T/res/clamd-$db-$f")
	done
	note "clamd, $db database: reload"
	t0=$(now)
	n=$(grep -c 'Database correctly reloaded' "$log" || true)
	clamd_cmd "$sock" RELOAD >"$T/out/clamd-reload" || die "RELOAD failed" "$log"
	for ((s = 0; s < TIMEOUT * 10; s++)); do
		r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
		[ "$r" -le "$peak" ] || peak=$r
		[ "$(grep -c 'Database correctly reloaded' "$log" || true)" -gt "$n" ] && break
		sleep 0.1
	done
	[ "$(grep -c 'Database correctly reloaded' "$log" || true)" -gt "$n" ] || die "clamd ($db): no reload" "$log"
	R[clamd-reload-s-$db]=$(secs "$t0" "$(now)")
	R[clamd-reload-peak-$db]=$peak
	sleep 1
	R[clamd-mem-$db-after]=$(mem "$pid")
	clamd_cmd "$sock" SHUTDOWN >/dev/null 2>&1 || kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	unset 'pids[-1]'
}
for db in one full; do clamd_run "$db"; done

# ---------------------------------------------------------------- report
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
scan_mbps() { # BYTES SECONDS
	awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0.05) printf "%.1f", b / s / 1e6; else print "n/a" }'
}
memcol() { # "RSS HWM PSS" -> "RSS/HWM/PSS" in MB
	local a b c
	read -r a b c <<<"$1"
	printf '%s/%s/%s' "$(mb "$a")" "$(mb "$b")" "$(mb "$c")"
}
echo
echo "full-size signature database benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host:     $(host_desc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fwgate:   $("$FW" version 2>/dev/null | head -n 1) ($FW), workers: ${FW_WORKERS:-default ($(nproc))}"
echo "clamd:    $("$CLAMD" --version | cut -d/ -f1), MaxThreads 2, ConcurrentDatabaseReload yes"
echo "database: scale $SCALE, generated in $GEN_S s, $(mb $((DB_BYTES / 1024))) MB on disk:"
sed 's/^/          /' "$T/res/gen.out"
echo "          loaded: fwgate ${R[fwsig-full]:-?} signatures, clamd ${R[clamd-sig-full]:-?} (one-signature database: ${R[fwsig-one]:-?} / ${R[clamd-sig-one]:-?})"
echo "inputs:   random.bin ${BYTES[random.bin]} B (7-bit random), text.txt ${BYTES[text.txt]} B (log/config text),"
echo "          package.zip ${BYTES[package.zip]} B (deflate, $PKG_N members, $PKG_UNPACKED B unpacked)"
echo
echo "engine load and memory (MB = 10^6 B; RSS/HWM/PSS from /proc/PID/status VmRSS/VmHWM and smaps_rollup Pss)"
printf '%-44s | %-16s | %-16s\n' "" "one signature" "full database"
printf '%-44s | %-16s | %-16s\n' "--" "--" "--"
printf '%-44s | %-16s | %-16s\n' "fwgate scan of a 1-byte file, s (load)" "${R[fwscan-one-tiny.txt]}" "${R[fwscan-full-tiny.txt]}"
printf '%-44s | %-16s | %-16s\n' "fwgate run, start to serving, s" "${R[fwrun-load-one]}" "${R[fwrun-load-full]}"
printf '%-44s | %-16s | %-16s\n' "clamd, start to first PONG, s" "${R[clamd-load-one]}" "${R[clamd-load-full]}"
for role in gateway supervisor; do
	printf '%-44s | %-16s | %-16s\n' "fwgate $role RSS/HWM/PSS" "$(memcol "${R[fwmem-one-before-$role]}")" "$(memcol "${R[fwmem-full-before-$role]}")"
done
for ((i = 1; i <= ${R[fwmem-full-before-nworkers]}; i++)); do
	printf '%-44s | %-16s | %-16s\n' "fwgate worker $i RSS/HWM/PSS" "$(memcol "${R[fwmem-one-before-worker$i]:-0 0 0}")" "$(memcol "${R[fwmem-full-before-worker$i]}")"
done
printf '%-44s | %-16s | %-16s\n' "fwgate tree, sum of RSS / sum of PSS" \
	"$(mb "$(cut -d' ' -f1 <<<"${R[fwmem-one-before-total]}")")/$(mb "$(cut -d' ' -f3 <<<"${R[fwmem-one-before-total]}")")" \
	"$(mb "$(cut -d' ' -f1 <<<"${R[fwmem-full-before-total]}")")/$(mb "$(cut -d' ' -f3 <<<"${R[fwmem-full-before-total]}")")"
printf '%-44s | %-16s | %-16s\n' "fwgate reload: seconds" "${R[fwreload-s-one]}" "${R[fwreload-s-full]}"
printf '%-44s | %-16s | %-16s\n' "fwgate reload: peak tree sum RSS / sum PSS" "$(mb "${R[fwreload-peak-one]}")/$(mb "${R[fwreload-peakp-one]}")" \
	"$(mb "${R[fwreload-peak-full]}")/$(mb "${R[fwreload-peakp-full]}")"
printf '%-44s | %-16s | %-16s\n' "fwgate supervisor after reload RSS/HWM/PSS" "$(memcol "${R[fwmem-one-after-supervisor]}")" "$(memcol "${R[fwmem-full-after-supervisor]}")"
printf '%-44s | %-16s | %-16s\n' "fwgate worker 1 after reload RSS/HWM/PSS" "$(memcol "${R[fwmem-one-after-worker1]:-0 0 0}")" "$(memcol "${R[fwmem-full-after-worker1]:-0 0 0}")"
printf '%-44s | %-16s | %-16s\n' "clamd RSS/HWM/PSS (loaded)" "$(memcol "${R[clamd-mem-one-before]}")" "$(memcol "${R[clamd-mem-full-before]}")"
printf '%-44s | %-16s | %-16s\n' "clamd reload: seconds" "${R[clamd-reload-s-one]}" "${R[clamd-reload-s-full]}"
printf '%-44s | %-16s | %-16s\n' "clamd reload: peak RSS (0.1 s samples)" "$(mb "${R[clamd-reload-peak-one]}")" "$(mb "${R[clamd-reload-peak-full]}")"
printf '%-44s | %-16s | %-16s\n' "clamd after reload RSS/HWM/PSS" "$(memcol "${R[clamd-mem-one-after]}")" "$(memcol "${R[clamd-mem-full-after]}")"
echo
echo "scan throughput, MB/s (input bytes / seconds; fwgate: scan wall time minus the 1-byte scan's; median of $RUNS)"
printf '%-12s %10s | %14s %14s %8s | %14s %14s %8s\n' input MB "fwgate one" "fwgate full" "full/one" "clamd one" "clamd full" "full/one"
printf '%-12s %10s | %14s %14s %8s | %14s %14s %8s\n' ----- -- ---------- ----------- -------- --------- ---------- --------
for f in "${INPUTS[@]}"; do
	fo=$(scan_mbps "${BYTES[$f]}" "$(awk -v a="${R[fwscan-one-$f]}" -v b="${R[fwscan-one-tiny.txt]}" 'BEGIN { print a - b }')")
	ff=$(scan_mbps "${BYTES[$f]}" "$(awk -v a="${R[fwscan-full-$f]}" -v b="${R[fwscan-full-tiny.txt]}" 'BEGIN { print a - b }')")
	co=$(scan_mbps "${BYTES[$f]}" "${R[clamd-one-$f]}")
	cf=$(scan_mbps "${BYTES[$f]}" "${R[clamd-full-$f]}")
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", b / a; else print "-" }'; }
	printf '%-12s %10s | %14s %14s %8s | %14s %14s %8s\n' "$f" "$(awk -v b="${BYTES[$f]}" 'BEGIN { printf "%.1f", b / 1e6 }')" \
		"$fo" "$ff" "$(ratio "$fo" "$ff")" "$co" "$cf" "$(ratio "$co" "$cf")"
done
echo
echo "raw wall seconds (median): fwgate scan one/full: $(for f in tiny.txt "${INPUTS[@]}"; do printf '%s %s/%s; ' "$f" "${R[fwscan-one-$f]}" "${R[fwscan-full-$f]}"; done)"
echo "                           clamdscan one/full:   $(for f in "${INPUTS[@]}"; do printf '%s %s/%s; ' "$f" "${R[clamd-one-$f]}" "${R[clamd-full-$f]}"; done)"
echo
echo "verified (full database, before timing): both found the planted signatures"
echo "  fwgate scan:"
echo "$FW_SANITY"
echo "  clamdscan:"
echo "$CLAMD_SANITY"
echo "  and every timed scan of every input, both tools, both databases: clean"
echo
echo "notes:"
echo "  - fwgate workers are forked from the supervisor after the engine is compiled: a worker's"
echo "    PSS far below its RSS is the engine shared copy-on-write; sum of PSS = real footprint"
echo "    (sum of RSS counts the shared engine once per process)."
echo "  - reload: the supervisor compiles the new engine while the old one serves, then replaces"
echo "    the workers; clamd likewise (ConcurrentDatabaseReload): the supervisor's and clamd's"
echo "    VmHWM after the reload is the two-engine peak. Tree peaks are 0.1 s samples."
echo "  - fwgate scan includes typing, unpacking and the coverage check over every node, clamd"
echo "    only ClamAV; the machine's CPUs are shared with whatever else runs (see load average)."
echo
env_line="BENCH_SIGDB_SCALE=$SCALE BENCH_RUNS=$RUNS BENCH_RANDOM_MIB=$RANDOM_MIB BENCH_TEXT_MIB=$TEXT_MIB"
env_line+=" BENCH_MEMBERS=$MEMBERS BENCH_TIMEOUT=$TIMEOUT BENCH_SEED=$SEED"
[ -z "$FW_WORKERS" ] || env_line+=" BENCH_FW_WORKERS=$FW_WORKERS"
echo "rerun: $env_line bash $ROOT/bench/sigdb.sh $BUILD"
