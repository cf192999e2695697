#!/usr/bin/env bash
# fwgate scan benchmark: `fwgate scan` against `clamscan` (ClamAV) on the same
# files with the same signature directory (a generated .ndb: the EICAR body
# signature plus random hex body signatures), three inputs: one big random
# file, a zip of many members, and a nested package (tar.gz of zips of tars of
# zips ...). Prints MB/s for both (input bytes / median wall time), the ratio
# and each tool's peak RSS. Both tools must call every input clean, and both
# must find EICAR (alone, inside a zip, three containers down) and one of the
# random signatures before anything is timed.
#
# Usage: bash bench/scan.sh [BUILD_DIR]      (default: build/ of this repository)
#
# Environment (defaults in brackets):
#   BENCH_RUNS          timed runs per tool and input; the median is reported [3]
#   BENCH_BIG_MIB       size of the big random file, MiB                       [512]
#   BENCH_MEMBERS       members of the zip package (4 KiB..1 MiB, mixed)       [2000]
#   BENCH_NEST_DEPTH    container levels below the outer tar.gz                [4]
#   BENCH_NEST_FANOUT   containers (and extra files) per container level       [3]
#   BENCH_SIGS          random hex body signatures besides EICAR               [48]
#   BENCH_TIMEOUT       limit for one scan (either tool), seconds              [1800]
#   BENCH_FW_WORKERS    [scanner] workers for fwgate (empty: fwgate's default) []
#   BENCH_SEED          seed of the generated data and signatures              [1]
#   BENCH_CLAMSCAN_ONLY 1 = clamscan only, no fwgate needed                    [0]
#
# clamscan runs with: --no-summary -d SIGDIR --alert-exceeds-max=yes
#   --max-filesize=2047M --max-scansize=2047M (libclamav's ceiling: 2 GiB - 1)
#   --max-files=1000000 --max-recursion=64 --max-scantime=0 (no time limit)
# so that it unpacks and scans everything, and says so if a limit still bites
# (Heuristics.Limits.Exceeded.* is then reported as FOUND and the bench fails).
# fwgate runs with a [scanner] config raising its limits to cover the inputs.
#
# Talks to no network. Everything lives in a mktemp directory under $TMPDIR
# (or /tmp), removed at exit with every process the script started.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build "${1:-}"

RUNS=${BENCH_RUNS:-3}
BIG_MIB=${BENCH_BIG_MIB:-512}
MEMBERS=${BENCH_MEMBERS:-2000}
NEST_DEPTH=${BENCH_NEST_DEPTH:-4}
NEST_FANOUT=${BENCH_NEST_FANOUT:-3}
SIGS=${BENCH_SIGS:-48}
TIMEOUT=${BENCH_TIMEOUT:-1800}
FW_WORKERS=${BENCH_FW_WORKERS:-}
SEED=${BENCH_SEED:-1}
CLAM_ONLY=${BENCH_CLAMSCAN_ONLY:-0}

need_posint RUNS BIG_MIB MEMBERS NEST_DEPTH NEST_FANOUT TIMEOUT
[[ $SIGS =~ ^[0-9]+$ ]] || die "BENCH_SIGS must be a non-negative integer (got \"$SIGS\")"
[[ $SEED =~ ^[0-9]+$ ]] || die "BENCH_SEED must be a non-negative integer (got \"$SEED\")"
[ -z "$FW_WORKERS" ] || [[ $FW_WORKERS =~ ^[1-9][0-9]*$ ]] || die "BENCH_FW_WORKERS must be a positive integer"
[ "$NEST_DEPTH" -le 12 ] || die "BENCH_NEST_DEPTH above 12 makes no sense here"
[ "$NEST_FANOUT" -le 8 ] || die "BENCH_NEST_FANOUT above 8 makes the nested package explode"

need_tools python3 awk timeout date
command -v clamscan >/dev/null || die "clamscan is needed (apt-get install clamav)"
GNUTIME=/usr/bin/time
if [ ! -x "$GNUTIME" ]; then
	note "/usr/bin/time missing: installing package time with apt-get"
	apt_install time || die "cannot install time (apt-get install -y time)"
	[ -x "$GNUTIME" ] || die "$GNUTIME still missing after apt-get"
fi
if [ "$CLAM_ONLY" != 1 ]; then
	need_fw
	timeout 20 "$FW" help scan >/dev/null 2>&1 || die "$FW has no working scan command (\`$FW help scan\` fails)"
fi

# The processes run under GNU time and timeout: stopped tree first at exit.
bench_tmp scan tree
mkdir -p "$T/sigs" "$T/in" "$T/sanity" "$T/res" "$T/out" "$T/state"

# ---------------------------------------------------------------- signatures
# shellcheck disable=SC2016 # the EICAR test string, literally
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
python3 - "$T/sigs/fwgate-bench.ndb" "$SIGS" "$SEED" "$EICAR" <<'PY' || die "cannot write the signatures"
import random, sys
path, n, seed, eicar = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rnd = random.Random("sigs-%d" % seed)
lines = ["Fwgate.Test.EICAR:0:*:" + eicar.encode().hex()]
for i in range(n):
    body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(16, 32))).hex()
    if i % 4 == 3:  # every fourth one with a one-byte wildcard in the middle
        mid = (len(body) // 4) * 2
        body = body[:mid] + "??" + body[mid + 2:]
    lines.append("Fwgate.Bench.Random%03d:0:*:%s" % (i, body))
open(path, "w").write("\n".join(lines) + "\n")
PY
NSIG=$(wc -l <"$T/sigs/fwgate-bench.ndb")

# ---------------------------------------------------------------- inputs
note "generating inputs in $T/in ..."
# 7-bit random bytes: firmware-like (uniformly random bytes look encrypted
# to the coverage check and are held)
fwdata $((BIG_MIB * 1024 * 1024)) "$T/in/big.bin"
python3 - "$T/in" "$MEMBERS" "$NEST_DEPTH" "$NEST_FANOUT" "$SEED" "$T/sanity" "$EICAR" <<'PY' || die "cannot generate the inputs"
import io, os, random, sys, tarfile, zipfile
out, members, depth, fanout, seed, sanity, eicar = sys.argv[1:8]
SEVEN = bytes(i & 0x7F for i in range(256))


def rnd7(n):
    """Random 7-bit bytes: firmware-like, under the coverage check's bound."""
    return os.urandom(n).translate(SEVEN)

members, depth, fanout, seed = int(members), int(depth), int(fanout), int(seed)
rnd = random.Random("data-%d" % seed)

# compressible text: a 4 MiB pool of pseudo-words; members are slices of it
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10)))
         for _ in range(5000)]
pool = bytearray()
while len(pool) < 4 << 20:
    line = " ".join(rnd.choice(words) for _ in range(rnd.randint(4, 16)))
    pool += line.encode() + b"\n"
pool = bytes(pool)

def blob(lo, hi):
    """(name suffix, bytes): log-uniform size in [lo, hi], half text, half random"""
    size = int(lo * (hi / lo) ** rnd.random())
    if rnd.random() < 0.5:
        off = rnd.randrange(0, len(pool) - size)
        return ".txt", pool[off:off + size]
    return ".bin", rnd7(size)

# (b) a zip of many members, deflated (random members barely shrink)
unpacked = 0
with zipfile.ZipFile(os.path.join(out, "package.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    for i in range(members):
        ext, data = blob(4096, 1 << 20)
        unpacked += len(data)
        z.writestr("pkg/dir%02d/member%05d%s" % (i % 50, i, ext), data)
open(os.path.join(out, "package.zip.unpacked"), "w").write("%d %d\n" % (unpacked, members))

# (c) nested: tar.gz -> zip -> tar -> zip -> ... ; every container holds
# FANOUT inner containers (down to DEPTH levels) and FANOUT small files.
stats = {"files": 0, "containers": 0, "bytes": 0}

def leafs(prefix):
    res = []
    for j in range(fanout):
        ext, data = blob(4096, 256 << 10)
        stats["files"] += 1
        stats["bytes"] += len(data)
        res.append(("%s-file%d%s" % (prefix, j, ext), data))
    return res

def container(level, prefix):
    """bytes of a container at LEVEL (1 = just below the outer tar.gz)"""
    entries = leafs(prefix)
    if level < depth:
        for j in range(fanout):
            name, data = container(level + 1, "%s.%d" % (prefix, j))
            entries.append((name, data))
    stats["containers"] += 1
    buf = io.BytesIO()
    if level % 2 == 1:
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for n, d in entries:
                z.writestr(n, d)
        return "%s.zip" % prefix, buf.getvalue()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for n, d in entries:
            ti = tarfile.TarInfo(n)
            ti.size, ti.mtime, ti.mode = len(d), 1700000000, 0o644
            t.addfile(ti, io.BytesIO(d))
    return "%s.tar" % prefix, buf.getvalue()

with tarfile.open(os.path.join(out, "nested.tar.gz"), "w:gz") as t:
    entries = leafs("top")
    for j in range(fanout):
        entries.append(container(1, "l1-%d" % j))
    for n, d in entries:
        ti = tarfile.TarInfo(n)
        ti.size, ti.mtime, ti.mode = len(d), 1700000000, 0o644
        t.addfile(ti, io.BytesIO(d))
open(os.path.join(out, "nested.tar.gz.unpacked"), "w").write(
    "%d %d %d\n" % (stats["bytes"], stats["files"], stats["containers"]))

# sanity inputs: EICAR alone and inside a zip among clean members
open(os.path.join(sanity, "eicar.com"), "wb").write(eicar.encode())
with zipfile.ZipFile(os.path.join(sanity, "eicar-package.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("docs/readme.txt", pool[:20000])
    z.writestr("tools/eicar.com", eicar.encode())
    z.writestr("fw/image.bin", rnd7(50000))
# ... and three levels down: tar.gz > zip > tar > eicar.com
tbuf = io.BytesIO()
with tarfile.open(fileobj=tbuf, mode="w") as t:
    ti = tarfile.TarInfo("deep/eicar.com")
    ti.size, ti.mtime = len(eicar), 1700000000
    t.addfile(ti, io.BytesIO(eicar.encode()))
zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("inner.tar", tbuf.getvalue())
with tarfile.open(os.path.join(sanity, "eicar-nested.tar.gz"), "w:gz") as t:
    ti = tarfile.TarInfo("outer/inner.zip")
    ti.size, ti.mtime = len(zbuf.getvalue()), 1700000000
    t.addfile(ti, io.BytesIO(zbuf.getvalue()))
PY
# one random signature (the first: no wildcard) planted in random data: both
# tools must name it, i.e. they loaded the whole .ndb, not just EICAR
python3 - "$T/sigs/fwgate-bench.ndb" "$T/sanity/random-sig.bin" <<'PY' || die "cannot write random-sig.bin"
import os, sys
SEVEN = bytes(i & 0x7F for i in range(256))
rnd7 = lambda n: os.urandom(n).translate(SEVEN)  # noqa: E731 (7-bit: firmware-like)
name, _, _, body = open(sys.argv[1]).read().splitlines()[1].split(":")
open(sys.argv[2], "wb").write(rnd7(100000) + bytes.fromhex(body) + rnd7(100000))
print(name, file=open(sys.argv[2] + ".name", "w"))
PY
RANDSIG=$(cat "$T/sanity/random-sig.bin.name")

CASES=(big package nested)
declare -A FILE=([big]=$T/in/big.bin [package]=$T/in/package.zip [nested]=$T/in/nested.tar.gz)
declare -A BYTES
for c in "${CASES[@]}"; do BYTES[$c]=$(stat -c %s "${FILE[$c]}"); done
read -r PKG_UNPACKED PKG_N <"$T/in/package.zip.unpacked"
read -r NEST_UNPACKED NEST_FILES NEST_CONT <"$T/in/nested.tar.gz.unpacked"
MAXB=$(( BYTES[big] > PKG_UNPACKED ? BYTES[big] : PKG_UNPACKED ))

CLAM=(clamscan --no-summary -d "$T/sigs" --alert-exceeds-max=yes --max-filesize=2047M --max-scansize=2047M
	--max-files=1000000 --max-recursion=64 --max-scantime=0)

{
	printf '[state]\ndir = %s/state\n' "$T"
	printf '[scanner]\nsignatures = %s/sigs\n' "$T"
	printf 'max_depth = 32\n'
	printf 'max_members = %s\n' $((MEMBERS + NEST_FILES + NEST_CONT + 1000))
	printf 'max_member_bytes = %s\n' $((MAXB + (64 << 20)))
	printf 'max_total_bytes = %s\n' $((MAXB * 2 + (256 << 20)))
	printf 'max_ratio = 1000\n'
	printf 'max_seconds = %s\n' "$TIMEOUT"
	printf 'timeout_seconds = %s\n' "$((TIMEOUT + 60))"
	[ -z "$FW_WORKERS" ] || printf 'workers = %s\n' "$FW_WORKERS"
} >"$T/fwgate.conf"
FWSCAN=("$FW" scan)

# ---------------------------------------------------------------- measuring
# RSS in kB summed over the process tree of PID, wrappers (time, timeout) left out
tree_rss_kb() {
	local total=0 p kb kids pending_pids=("$1")
	while [ ${#pending_pids[@]} -gt 0 ]; do
		p=${pending_pids[0]}; pending_pids=("${pending_pids[@]:1}")
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		time | timeout) ;;
		*)
			kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
			[ -z "$kb" ] || total=$((total + kb))
			;;
		esac
		kids=$(cat /proc/"$p"/task/*/children 2>/dev/null || true)
		for k in $kids; do pending_pids+=("$k"); done
	done
	echo "$total"
}

# run TAG OUT -- CMD...: runs CMD under GNU time and timeout, in the background,
# sampling the tree RSS every 0.2 s. Sets RC, SECS (wall), MAXRSS (kB, largest
# process: ru_maxrss of CMD and its children), TREERSS (kB, sampled tree peak).
run() {
	local tag=$1 out=$2 t0 t1 pid peak=0 s
	shift 3
	t0=$(date +%s%N)
	set +e
	"$GNUTIME" -f '%M' -o "$T/res/$tag.time" timeout -k 10 "$TIMEOUT" "$@" >"$out" 2>"$out.err" &
	pid=$!
	pids+=("$pid")
	while kill -0 "$pid" 2>/dev/null; do
		s=$(tree_rss_kb "$pid")
		[ "$s" -le "$peak" ] || peak=$s
		sleep 0.2
	done
	wait "$pid"
	RC=$?
	set -e
	t1=$(date +%s%N)
	unset 'pids[-1]'
	SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	MAXRSS=$(grep -E '^[0-9]+$' "$T/res/$tag.time" | tail -n 1 || echo 0)
	TREERSS=$peak
	if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then die "$tag: timed out after $TIMEOUT s" "$out.err"; fi
}

# checks of the outputs
clam_clean() { # OUT FILE
	[ "$RC" = 0 ] || die "clamscan on $2 exited $RC (expected 0, clean)" "$1" "$1.err"
	grep -qxF "$2: OK" "$1" || die "clamscan did not report $2 OK" "$1"
	! grep -q 'FOUND$' "$1" || die "clamscan found something in $2" "$1"
}
fw_clean() { # OUT FILE
	[ "$RC" = 0 ] || die "fwgate scan on $2 exited $RC (expected 0, clean)" "$1" "$1.err"
	# "FILE: clean", or "FILE: clean; N member(s) for the sandbox ..." (a
	# YARA rule of the shipped analyzer set can weigh a random member)
	awk -v p="$2: clean" 'index($0, p) == 1 && (length($0) == length(p) || substr($0, length(p) + 1, 1) == ";") { ok = 1 }
		END { exit !ok }' "$1" || die "fwgate scan did not report $2 clean" "$1" "$1.err"
}

# ---------------------------------------------------------------- sanity: EICAR
note "sanity: EICAR (alone, in a zip, three levels down) and $RANDSIG must be found by both"
SANITY=(eicar.com eicar-package.zip eicar-nested.tar.gz random-sig.bin)
declare -A WANT=([eicar.com]=Fwgate.Test.EICAR [eicar-package.zip]=Fwgate.Test.EICAR
	[eicar-nested.tar.gz]=Fwgate.Test.EICAR [random-sig.bin]=$RANDSIG)
run clam-eicar "$T/out/clam-eicar" -- "${CLAM[@]}" "${SANITY[@]/#/$T/sanity/}"
[ "$RC" = 1 ] || die "clamscan on the sanity files exited $RC (expected 1)" "$T/out/clam-eicar" "$T/out/clam-eicar.err"
for f in "${SANITY[@]}"; do
	grep -qE "^$T/sanity/$f: ${WANT[$f]//./\\.}(\.UNOFFICIAL)? FOUND$" "$T/out/clam-eicar" ||
		die "clamscan did not find ${WANT[$f]} in $f" "$T/out/clam-eicar"
done
CLAM_EICAR=$(sed "s|$T/sanity/||; s/^/        /" "$T/out/clam-eicar")
if [ "$CLAM_ONLY" != 1 ]; then
	run fw-eicar "$T/out/fw-eicar" -- "${FWSCAN[@]}" "${SANITY[@]/#/$T/sanity/}" -c "$T/fwgate.conf"
	[ "$RC" = 1 ] || die "fwgate scan on the sanity files exited $RC (expected 1)" "$T/out/fw-eicar" "$T/out/fw-eicar.err"
	for f in "${SANITY[@]}"; do
		grep -qE "^$T/sanity/$f: infected" "$T/out/fw-eicar" || die "fwgate did not call $f infected" "$T/out/fw-eicar"
		# the signature's name on the file's line or its indented member lines
		awk -v f="$T/sanity/$f: " 'index($0, f) == 1 { on = 1; print; next } /^  / { if (on) print; next } { on = 0 }' \
			"$T/out/fw-eicar" | grep -qF "${WANT[$f]}" || die "fwgate did not name ${WANT[$f]} for $f" "$T/out/fw-eicar"
	done
	FW_EICAR=$(sed "s|$T/sanity/||; s/^/        /" "$T/out/fw-eicar")
	# the JSON view must name the member in the zip
	run fw-eicar-json "$T/out/fw-eicar.json" -- "${FWSCAN[@]}" "$T/sanity/eicar-package.zip" --json -c "$T/fwgate.conf"
	python3 - "$T/out/fw-eicar.json" <<'PY' || die "fwgate --json on eicar-package.zip: unexpected" "$T/out/fw-eicar.json"
import json, sys
doc = json.loads(open(sys.argv[1]).read().strip().splitlines()[0])
assert doc["verdict"] == "infected", doc["verdict"]
assert any(s["name"].startswith("Fwgate.Test.EICAR") and s["member"].endswith("tools/eicar.com")
           for s in doc["signatures"]), doc["signatures"]
PY
fi

# ---------------------------------------------------------------- timed runs
# Per input: one verification round (not timed: fwgate with --json to count the
# members it inspected), then RUNS rounds, clamscan and fwgate interleaved.
declare -A FWMEMBERS
for c in "${CASES[@]}"; do
	f=${FILE[$c]}
	note "$c ($(awk -v b="${BYTES[$c]}" 'BEGIN { printf "%.1f", b / 1e6 }') MB): verification round..."
	run "clam-$c-0" "$T/out/clam-$c" -- "${CLAM[@]}" "$f"
	clam_clean "$T/out/clam-$c" "$f"
	if [ "$CLAM_ONLY" != 1 ]; then
		run "fw-$c-0" "$T/out/fw-$c.json" -- "${FWSCAN[@]}" "$f" --json -c "$T/fwgate.conf"
		[ "$RC" = 0 ] || die "fwgate scan --json on $f exited $RC (expected 0, clean)" "$T/out/fw-$c.json" "$T/out/fw-$c.json.err"
		FWMEMBERS[$c]=$(python3 -c '
import json, sys
doc = json.loads(open(sys.argv[1]).read().strip().splitlines()[0])
assert doc["verdict"] == "clean", (doc["verdict"], doc.get("reasons"))
print(doc.get("members_total", "?"))' "$T/out/fw-$c.json") || die "fwgate --json on $f: not clean or unreadable" "$T/out/fw-$c.json"
	fi
	for r in $(seq 1 "$RUNS"); do
		note "$c: run $r/$RUNS"
		sync -f "$f" 2>/dev/null || sync
		run "clam-$c-$r" "$T/out/clam-$c" -- "${CLAM[@]}" "$f"
		clam_clean "$T/out/clam-$c" "$f"
		echo "$SECS $MAXRSS $TREERSS" >>"$T/res/clam-$c"
		if [ "$CLAM_ONLY" != 1 ]; then
			sync -f "$T/state" 2>/dev/null || sync
			run "fw-$c-$r" "$T/out/fw-$c" -- "${FWSCAN[@]}" "$f" -c "$T/fwgate.conf"
			fw_clean "$T/out/fw-$c" "$f"
			echo "$SECS $MAXRSS $TREERSS" >>"$T/res/fw-$c"
		fi
	done
done

# ---------------------------------------------------------------- report
# mbps BYTES SECONDS: MB/s (10^6 bytes), one decimal
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / s / 1e6; else print "-" }'; }
# mb KB: MB (10^6 bytes), one decimal
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }
fsline=$(findmnt -no FSTYPE -T "$T" 2>/dev/null || echo "?")
echo
echo "fwgate scan benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host:      $(host_desc)"
echo "clamscan:  $(clamscan --version | cut -d/ -f1) ($(command -v clamscan)), single-threaded"
if [ "$CLAM_ONLY" != 1 ]; then
	echo "fwgate:    $("$FW" version 2>/dev/null | head -n 1) ($FW), workers: ${FW_WORKERS:-default}"
fi
echo "signatures: $NSIG .ndb body signatures in one file (Fwgate.Test.EICAR + $SIGS random, 16..32 bytes,"
echo "           every fourth with a ?? wildcard), the same directory for both tools"
echo "inputs:    big      ${BYTES[big]} bytes of random data ($BIG_MIB MiB)"
echo "           package  ${BYTES[package]} bytes: zip (deflate) of $PKG_N members, $PKG_UNPACKED bytes unpacked,"
echo "                    4 KiB..1 MiB log-uniform, half compressible text, half random"
echo "           nested   ${BYTES[nested]} bytes: tar.gz > zip > tar > zip ... $NEST_DEPTH levels below the tar.gz,"
echo "                    fanout $NEST_FANOUT; $NEST_CONT inner containers, $NEST_FILES files, $NEST_UNPACKED bytes in the files"
echo "           (temp dir on $fsline; inputs just written, so read from the page cache)"
echo "method:    per input one untimed verification round, then $RUNS timed rounds, clamscan and"
echo "           fwgate interleaved; wall time of the whole process (load of the signatures included);"
echo "           figures are medians; MB/s = input bytes (the file as given) / seconds, MB = 10^6 bytes"
echo
printf '%-9s %10s | %9s %9s %10s | %9s %9s %10s %14s | %9s\n' "input" "MB" "clam s" "clam MB/s" "clam RSS" \
	"fwgate s" "fw MB/s" "fw RSS" "fw/clam MB/s" "fw tree"
printf '%-9s %10s | %9s %9s %10s | %9s %9s %10s %14s | %9s\n' "-----" "--" "------" "---------" "--------" \
	"--------" "-------" "------" "------------" "-------"
for c in "${CASES[@]}"; do
	cs=$(col "$T/res/clam-$c" 1 median)
	crss=$(mb "$(col "$T/res/clam-$c" 2 max)")
	fs="-" fm="-" frss="-" ratio="-" ftree="-"
	if [ "$CLAM_ONLY" != 1 ]; then
		fs=$(col "$T/res/fw-$c" 1 median)
		fm=$(mbps "${BYTES[$c]}" "$fs")
		frss=$(mb "$(col "$T/res/fw-$c" 2 max)")
		ftree=$(mb "$(col "$T/res/fw-$c" 3 max)")
		ratio=$(awk -v a="$cs" -v b="$fs" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
	fi
	printf '%-9s %10s | %9.2f %9s %10s | %9s %9s %10s %14s | %9s\n' "$c" \
		"$(awk -v b="${BYTES[$c]}" 'BEGIN { printf "%.1f", b / 1e6 }')" "$cs" "$(mbps "${BYTES[$c]}" "$cs")" "$crss" \
		"$fs" "$fm" "$frss" "$ratio" "$ftree"
done
echo
echo "spread (min .. max seconds over the $RUNS runs):"
for c in "${CASES[@]}"; do
	line=$(printf '  %-9s clamscan %8s .. %-8s' "$c" "$(col "$T/res/clam-$c" 1 min)" "$(col "$T/res/clam-$c" 1 max)")
	if [ "$CLAM_ONLY" != 1 ]; then
		line+=$(printf '  fwgate %8s .. %-8s  fwgate members inspected (--json members_total): %s' \
			"$(col "$T/res/fw-$c" 1 min)" "$(col "$T/res/fw-$c" 1 max)" "${FWMEMBERS[$c]}")
	fi
	echo "$line"
done
echo
echo "verified:"
echo "  - detection (sanity files, before timing):"
echo "      clamscan:"
echo "$CLAM_EICAR"
if [ "$CLAM_ONLY" != 1 ]; then
	echo "      fwgate:"
	echo "$FW_EICAR"
fi
echo "  - every run of both tools on every input: exit 0 and the file reported clean"
echo "    (clamscan \"FILE: OK\" with --alert-exceeds-max=yes, so no limit was hit;"
[ "$CLAM_ONLY" = 1 ] || echo "    fwgate \"FILE: clean\", and verdict clean in the --json verification round)"
[ "$CLAM_ONLY" != 1 ] || echo "    fwgate not run: BENCH_CLAMSCAN_ONLY=1)"
echo
echo "notes:"
echo "  - fw/clam MB/s: fwgate's throughput over clamscan's (above 1: fwgate faster)."
echo "  - RSS: peak resident set of the largest single process (ru_maxrss via GNU time, max over"
echo "    the runs); fw tree: peak of the sum of VmRSS over fwgate's process tree, sampled"
echo "    every 0.2 s (counts worker processes, may miss short peaks)."
echo "  - clamscan options: ${CLAM[*]:1:1} -d SIGDIR ${CLAM[*]:4}"
echo "  - fwgate config ([scanner]): $(sed -n '/^\[scanner\]/,$p' "$T/fwgate.conf" | sed 1d | sed "s|$T|TMP|" | paste -sd';' | sed 's/;/; /g')"
echo
env_line="BENCH_RUNS=$RUNS BENCH_BIG_MIB=$BIG_MIB BENCH_MEMBERS=$MEMBERS BENCH_NEST_DEPTH=$NEST_DEPTH BENCH_NEST_FANOUT=$NEST_FANOUT"
env_line+=" BENCH_SIGS=$SIGS BENCH_TIMEOUT=$TIMEOUT BENCH_SEED=$SEED"
[ -z "$FW_WORKERS" ] || env_line+=" BENCH_FW_WORKERS=$FW_WORKERS"
[ "$CLAM_ONLY" != 1 ] || env_line+=" BENCH_CLAMSCAN_ONLY=1"
echo "rerun: $env_line bash $ROOT/bench/scan.sh $BUILD"
