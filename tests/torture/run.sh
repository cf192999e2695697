#!/usr/bin/env bash
# The allocation-failure run: each cmocka unit test binary of BUILD_DIR is
# run once to count its allocations, then again with the Nth allocation
# failing (tests/torture/failmalloc.c, LD_PRELOAD) for N = 1..count. A
# failed assertion is acceptable (an allocation failure makes an operation
# fail); a crash is not: a signal (SIGSEGV, SIGABRT...), cmocka's "Test
# failed with exception", a hang past the per-run timeout, or a glibc heap
# check. Each crash is reported with its binary, N, the cmocka test that
# ran and a gdb backtrace (when gdb is installed), and the run fails;
# unless the backtrace's innermost frames are a known crash inside a
# library's own failure path (known.txt), which is reported as known.
#
# Bounded: at most MAX_RUNS runs per binary (N steps by count / MAX_RUNS
# when the count is larger: every N below it, otherwise a stride) and at
# most SECONDS per binary; the summary says which N were covered.
#
# Binaries run two at a time (FWGATE_TORTURE_JOBS); FWGATE_TORTURE_FROM=N
# starts at N (to reproduce a finding: MAX_RUNS large makes the step 1).
#
# Usage: tests/torture/run.sh BUILD_DIR [SECONDS=20] [MAX_RUNS=200] [TEST...]
set -u
build=$(cd "$1" && pwd)
budget=${2:-20}
max_runs=${3:-200}
jobs=${FWGATE_TORTURE_JOBS:-2}
shift $(($# < 3 ? $# : 3))
tests=("$@")
# By default every unit test binary the build has (tests/test_*), so that a
# new or renamed test is never left out.
if [ ${#tests[@]} -eq 0 ]; then
	for f in "$build"/tests/test_*; do
		[ -f "$f" ] && [ -x "$f" ] && tests+=("${f##*/test_}")
	done
fi
[ ${#tests[@]} -gt 0 ] || { echo "torture: no unit test binary in $build/tests" >&2; exit 2; }
shim=$build/tests/torture/libfailmalloc.so
[ -f "$shim" ] || { echo "torture: $shim is missing (a build without sanitizers, not -Dfuzz)" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-torture-XXXXXX")
trap 'rm -rf "$T"' EXIT
export CMOCKA_MESSAGE_OUTPUT=stdout
logs=$build/meson-logs
mkdir -p "$logs"
crashes=0 failed_start=0

# run EXE N OUT REPORT: the test with allocation N failing; its exit status
run() {
	rm -f "$4.trace"
	(cd "$build" && timeout -k 5 30 env FWGATE_FAILALLOC_N="$2" FWGATE_FAILALLOC_REPORT="$4" \
		FWGATE_FAILALLOC_TRACE="$4.trace" \
		LD_PRELOAD="$shim" "$1" >"$3" 2>&1)
}

# crashed RC OUT: a hang (timeout's 124), a death by signal (128 + 1..64),
# or a crash cmocka or glibc caught and reported
crashed() {
	local rc=$1 out=$2
	[ "$rc" = 124 ] || { [ "$rc" -gt 128 ] && [ "$rc" -le 192 ]; } && return 0
	# (glibc's heap checks abort: cmocka reports the SIGABRT as an exception)
	grep -qE "Test failed with exception|AddressSanitizer|runtime error:" "$out"
}

backtrace() {
	command -v gdb >/dev/null || return 0
	(cd "$build" && timeout 120 gdb -q -batch -ex 'set pagination off' -ex 'set print thread-events off' \
		-ex "set exec-wrapper env FWGATE_FAILALLOC_N=$2 LD_PRELOAD=$shim" -ex run -ex 'bt 12' "$1" 2>&1 |
		grep -E '^#[0-9]+ ' | head -n 12 | sed 's/^/        /')
}

# torture TEST: the runs of one binary; prints its report, ends with
# "RESULT crashes broken" (broken: 1 when it fails with no injected failure)
torture() {
	local t=$1 exe=$build/tests/test_$1 w=$T/$1 count stride start runs=0 last=0 bad=0 known_n=0 n rc name bt why site
	mkdir -p "$w"
	[ -x "$exe" ] || { echo "torture: $exe is missing"; echo "RESULT 0 1"; return; }
	if ! run "$exe" 0 "$w/out.0" "$w/report"; then
		echo "not ok - $t: fails without any injected failure"; sed 's/^/    /' "$w/out.0" | tail -n 20
		echo "RESULT 0 1"
		return
	fi
	count=$(cut -d' ' -f1 "$w/report")
	stride=$(((count + max_runs - 1) / max_runs))
	[ "$stride" -ge 1 ] || stride=1
	start=$SECONDS
	for ((n = ${FWGATE_TORTURE_FROM:-1}; n <= count; n += stride)); do
		[ $((SECONDS - start)) -lt "$budget" ] || break
		run "$exe" "$n" "$w/out" "$w/report"
		rc=$?
		runs=$((runs + 1)) last=$n
		crashed "$rc" "$w/out" || continue
		# the test that ran when it crashed: the last one started before the report
		name=$(awk '/^\[ RUN      \]/ { t = $NF } /exception|AddressSanitizer|runtime error/ { print t; exit }' "$w/out")
		[ -n "$name" ] || name=$(grep -oE '^\[ RUN      \] [A-Za-z0-9_]+' "$w/out" | tail -n 1 | awk '{print $NF}')
		cp "$w/out" "$logs/torture-$t-$n.log" 2>/dev/null
		site=$(failsite "$w/report.trace" "$exe")
		bt=$(backtrace "$exe" "$n")
		why=$(known "$site" "$w/out")
		[ -n "$why" ] || why=$(known "$bt" "$w/out")
		if [ -n "$why" ]; then
			echo "known - $t: allocation $n failing crashes in a library, in test ${name:-?}: $why"
			known_n=$((known_n + 1))
			continue
		fi
		echo "not ok - $t: allocation $n failing crashes (exit $rc) in test ${name:-?}"
		grep -E "exception|AddressSanitizer|runtime error|memory allocation of" "$w/out" | head -n 3 | sed 's/^/    /'
		echo "    output: $logs/torture-$t-$n.log"
		echo "    the allocation that failed:"
		printf '%s\n' "$site" | sed 's/^/        /'
		[ -n "$bt" ] && echo "    the crash (gdb, a second run; threads may make it land elsewhere):" &&
			printf '%s\n' "$bt"
		bad=$((bad + 1))
	done
	echo "# $t: $count allocations; $runs runs, N = ${FWGATE_TORTURE_FROM:-1}..$last step $stride$([ "$last" -lt $((count - stride + 1)) ] && echo ", stopped at the ${budget} s cap"); $((SECONDS - start)) s; $bad crash(es), $known_n known in libraries"
	echo "RESULT $bad 0"
}

# failsite TRACE EXE: the stack of the allocation made to fail, innermost
# first, without the shim's own frames: "LIBRARY FUNCTION" for a library
# frame, "FUNCTION at FILE:LINE" (addr2line) for one of the test binary
failsite() {
	local line obj sym off
	[ -s "$1" ] || return 0
	while IFS= read -r line; do
		obj=${line%%(*}
		sym=${line#*(}
		sym=${sym%%)*}
		case $obj in *libfailmalloc.so) continue ;; esac
		if [ "$obj" -ef "$2" ] || [ "$build/$obj" -ef "$2" ]; then
			off=${sym#*+}
			if command -v addr2line >/dev/null; then
				addr2line -f -s -e "$2" "$off" 2>/dev/null | paste -sd' ' | sed 's/ / at /'
			else
				echo "${obj##*/} $sym"
			fi
		else
			echo "${obj##*/} ${sym%%+*}"
		fi
	done <"$1" | head -n 16
}

# known BACKTRACE OUT: the reason from known.txt when the crash is a known
# one inside a library: a FUNCTION entry names a frame of the backtrace
# before its first frame in fwgate's own sources; an "output:REGEX" entry
# matches a line of the run's output. Else nothing.
known() {
	local fn why lib
	lib=$(printf '%s\n' "$1" | awk '/ at / && !/failmalloc\.c/ && !/ at \.\/|sysdeps/ { exit } { print }')
	while IFS='|' read -r fn why; do
		case $fn in
		'' | '#'*) continue ;;
		output:*) grep -qE -- "${fn#output:}" "$2" || continue ;;
		*) [ -n "$lib" ] && printf '%s\n' "$lib" | grep -qw -- "$fn" || continue ;;
		esac
		echo "$why"
		return 0
	done <"$(dirname "${BASH_SOURCE[0]}")/known.txt"
}

for t in "${tests[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
	torture "$t" >"$T/$t.log" 2>&1 &
done
wait
for t in "${tests[@]}"; do
	# (without bash's own notes of the runs a signal killed: reported above)
	grep -v '^RESULT ' "$T/$t.log" | grep -vE '^[^ ]*run[.]sh: line [0-9]+: +[0-9]+ [A-Z].* timeout -k'
	read -r _ c b < <(grep '^RESULT ' "$T/$t.log")
	crashes=$((crashes + ${c:-0})) failed_start=$((failed_start + ${b:-1}))
done
echo "torture: $crashes crash(es), $failed_start binary(ies) failing without an injected failure"
[ "$crashes" = 0 ] && [ "$failed_start" = 0 ]
