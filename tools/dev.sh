#!/usr/bin/env bash
# One-command set-up for fwgate on Debian 12: installs the Debian packages
# that are missing, builds with meson + ninja, then runs the gateway or the
# test suite.
#
#   tools/dev.sh run [ARGS...]   build, then `fwgate run ARGS` (embedded default without -c)
#   tools/dev.sh test            build, then run every test (unit, integration, lint)
#   tools/dev.sh test --sanitize the same suite in a separate ASan+UBSan build (build-asan/) only
#   tools/dev.sh fuzz [SECONDS]  clang libFuzzer build (build-fuzz/, ASan+UBSan), then each
#                                target for SECONDS (25) from its seed corpus
#   tools/dev.sh torture [SECONDS] [RUNS]  every unit test with its Nth allocation failing,
#                                for each N (at most RUNS runs, SECONDS per test binary)
#   tools/dev.sh analyze         gcc -fanalyzer build (build-analyzer/), warnings are errors
#   tools/dev.sh deb             the Debian package (build-deb/fwgate_VERSION_ARCH.deb),
#                                built without tests, then lintian
#   tools/dev.sh build           install and build only
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

# Everything fwgate builds, links and tests with, by Debian package name.
packages=(
	meson ninja-build pkg-config gcc libc6-dev python3
	libssl-dev libcurl4-openssl-dev libmicrohttpd-dev libclamav-dev libarchive-dev
	libmagic-dev libsqlite3-dev libjansson-dev libinih-dev libseccomp-dev libcmocka-dev
	liblzma-dev libbrotli-dev libsystemd-dev libyara-dev
	file libmagic-mgc
	curl openssl procps
	# ss (waits on accepted connections in the integration tests); gdb
	# (backtraces of crashes in the allocation-failure run)
	iproute2 gdb
	# the tests' corpus is made with real tools, and real firmware and
	# ClamAV's own samples come from Debian packages
	zip unzip p7zip-full xorriso zstd lz4 lzip cpio xz-utils bzip2 brotli makeself gcab rpm
	ovmf seabios ipxe-qemu uefitool-cli clamav-testfiles nsis-common
	# the man pages' check (tests/man/check.sh renders them as lintian does)
	groff-base man-db
	# the console's browser test (headless Chromium, driven by playwright-core
	# from npm) and the Prometheus text-format check of /metrics (promtool)
	chromium fonts-dejavu-core prometheus
	rsyslog rsyslog-gnutls
)
# Node.js for playwright-core: the machine's own when it has one, else Debian's.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

install_missing() {
	local missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "fwgate: installing Debian packages: ${missing[*]}" >&2
	local sudo=()
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || { echo "fwgate: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 2; }
		sudo=(sudo)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# clang and its sanitizer and libFuzzer runtimes (compiler-rt: only a
# Recommends of clang in Debian 12, so never there by itself).
need_clang() {
	packages+=(clang libclang-rt-dev)
	install_missing
}

# The Debian package from a copy of the tree (tracked files and new ones
# not ignored) in build-deb/src, so that dpkg-buildpackage writes its
# .deb, .changes and .buildinfo into build-deb/ and nothing into the tree
# or its parent. No tests (nocheck): CI runs them in its own steps.
build_deb() {
	packages+=(debhelper fakeroot dpkg-dev lintian systemd libsystemd-dev)
	install_missing
	local version deb_version
	version=$(meson introspect --projectinfo meson.build | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
	deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
	if [ "$version" != "$deb_version" ]; then
		echo "fwgate: meson.build says version $version, debian/changelog $deb_version: add a changelog entry (dch -v $version)" >&2
		exit 1
	fi
	rm -rf build-deb
	mkdir -p build-deb/src
	git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf - | tar -xf - -C build-deb/src
	if ! (cd build-deb/src && DEB_BUILD_OPTIONS="nocheck noddebs parallel=2" dpkg-buildpackage -b -us -uc) >build-deb/build.log 2>&1; then
		tail -n 40 build-deb/build.log
		echo "fwgate: dpkg-buildpackage failed (build-deb/build.log)" >&2
		exit 1
	fi
	echo "fwgate: built $(ls build-deb/fwgate_*.deb) (build-deb/build.log)"
	# (lintian says on stderr that it runs as root, as CI does)
	local lint rc=0
	lint=$(lintian --fail-on error,warning --display-info build-deb/fwgate_*.deb 2>&1) || rc=$?
	grep -v '^running with root privileges' <<<"$lint" || true
	if [ $rc != 0 ]; then
		echo "fwgate: lintian found errors or warnings (exit $rc)" >&2
		exit 1
	fi
	echo "fwgate: lintian: no error or warning"
}

build() {
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

# playwright-core, pinned in tests/browser/package-lock.json, from npm
# (no browser download: it drives Debian's chromium).
browser_deps() {
	local lock=tests/browser/package-lock.json stamp=tests/browser/node_modules/.fwgate-lock
	if [ -f "$stamp" ] && cmp -s "$lock" "$stamp"; then
		return 0
	fi
	echo "fwgate: installing the browser test's npm packages (tests/browser)" >&2
	(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	cp "$lock" "$stamp"
}

# Runs the suite and closes with one "N passed, N failed" line. Unit,
# lint and fuzz-replay tests run first (meson runs them in parallel); then
# the integration tests, each of which runs alone in meson (is_parallel:
# false), in two shards side by side (the machines have two cores and the
# tests spend most of their time waiting on their peers), balanced by the
# durations of the last run (testlog-*.json) or by the weights below.
# FWGATE_TEST_SHARDS=1 runs them one after the other instead.
run_tests() {
	local dir=$1 rc=0 shards=${FWGATE_TEST_SHARDS:-2}
	rm -f "$dir"/meson-logs/testlog-*.json
	meson test -C "$dir" --print-errorlogs --no-suite integration --logbase testlog-rest || rc=$?
	if [ "$shards" = 1 ]; then
		meson test -C "$dir" --print-errorlogs --suite integration --logbase testlog-int || rc=$?
	else
		local lists s pids=()
		mapfile -t lists < <(meson test -C "$dir" --list --suite integration 2>/dev/null |
			sed -n 's|^.*:integration / ||p' | python3 -c '
import json, sys, glob, os
names = [l.strip() for l in sys.stdin if l.strip()]
# seconds under ASan on a 2-core machine, for a first run
w = {"scan": 93, "sandbox-queue": 90, "packages": 70, "chaos": 49, "bundle": 43, "store": 37, "overlap": 33,
     "console": 32, "push": 31, "proxy": 22, "status": 18, "cli": 18, "syslog": 18, "sigwatch": 13, "yara": 11,
     "mirror": 6}
last = sys.argv[1]
if os.path.exists(last):
    for line in open(last):
        if line.strip():
            r = json.loads(line)
            w[r["name"].split(" / ")[-1]] = r["duration"]
shard = [[], []]; load = [0.0, 0.0]
for n in sorted(names, key=lambda n: -w.get(n, 15)):
    i = 0 if load[0] <= load[1] else 1
    shard[i].append(n); load[i] += w.get(n, 15)
for s in shard:
    print(" ".join(s))
' "$dir/meson-logs/durations.json")
		for s in 0 1; do
			[ -n "${lists[s]:-}" ] || continue
			# shellcheck disable=SC2086 # one test name per word
			meson test -C "$dir" --print-errorlogs --suite integration --logbase "testlog-int$s" ${lists[s]} \
				>"$dir/meson-logs/shard$s.out" 2>&1 &
			pids+=($!)
		done
		for s in "${!pids[@]}"; do
			wait "${pids[s]}" || rc=$?
		done
		cat "$dir"/meson-logs/shard*.out
	fi
	python3 - "$dir"/meson-logs/testlog-*.json >"$dir/meson-logs/durations.json.new" <<'PY' || true
import json, sys
ok = bad = 0
for path in sys.argv[1:]:
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        if "integration /" in r["name"]:
            print(json.dumps({"name": r["name"], "duration": r["duration"]}))
        if r["result"] in ("OK", "EXPECTEDFAIL", "SKIP"):
            ok += 1
        else:
            bad += 1
print(f"{ok} passed, {bad} failed", file=sys.stderr)
PY
	mv "$dir/meson-logs/durations.json.new" "$dir/meson-logs/durations.json"
	return $rc
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
run)
	install_missing
	build build
	exec build/cli/fwgate run "$@"
	;;
test)
	install_missing
	browser_deps
	if [ "${1:-}" = "--sanitize" ]; then
		# only the ASan+UBSan build: `tools/dev.sh test` runs the plain one
		build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
		export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
		run_tests build-asan
		exit $?
	fi
	build build
	run_tests build
	;;
fuzz)
	install_missing
	need_clang
	CC=clang build build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
	secs=${1:-25}
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	# libclamav's per-thread iconv pool, never freed on the main thread
	export LSAN_OPTIONS="suppressions=$here/tests/fuzz/lsan.supp:print_suppressions=0"
	# fuzz_one NAME: one target for secs from its seeds; new inputs go to a
	# scratch directory, the committed seeds stay as they are
	fuzz_one() {
		local name=$1 work rc=0
		work=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-fuzz-$name-XXXXXX")
		"build-fuzz/tests/fuzz/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
			-max_len=65536 -artifact_prefix="build-fuzz/crash-$name-" "$work" "tests/fuzz/corpus/$name" \
			>"build-fuzz/fuzz-$name.log" 2>&1 || rc=$?
		rm -rf "$work"
		echo "$rc" >"build-fuzz/fuzz-$name.rc"
	}
	rm -f build-fuzz/fuzz-*.rc
	names=()
	for f in build-fuzz/tests/fuzz/fuzz_*; do
		[ -x "$f" ] && [ -f "$f" ] && names+=("${f##*/fuzz_}")
	done
	# two targets at a time (the machines CI runs on have two cores)
	for ((i = 0; i < ${#names[@]}; i += 2)); do
		pids=()
		for name in "${names[@]:i:2}"; do
			fuzz_one "$name" &
			pids+=($!)
		done
		wait "${pids[@]}"
	done
	rc=0
	for name in "${names[@]}"; do
		if [ "$(cat "build-fuzz/fuzz-$name.rc" 2>/dev/null)" = 0 ]; then
			echo "fuzz $name: $(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "build-fuzz/fuzz-$name.log" | tail -n 1)s, no crash"
		else
			echo "fuzz $name: FAILED (build-fuzz/fuzz-$name.log, crash input build-fuzz/crash-$name-*)"
			tail -n 40 "build-fuzz/fuzz-$name.log"
			rc=1
		fi
	done
	exit $rc
	;;
torture)
	install_missing
	build build
	exec tests/torture/run.sh build "${1:-20}" "${2:-200}"
	;;
analyze)
	install_missing
	# the production code (the tests' own helpers were made clean once; the
	# analyzer over them doubles the step's time)
	[ -f build-analyzer/build.ninja ] || meson setup build-analyzer -Dc_args=-fanalyzer -Dtests=false >/dev/null
	# every file, so that the log lists every warning, not only the first file's
	rc=0
	ninja -C build-analyzer -k 0 >build-analyzer/analyzer.log 2>&1 || rc=$?
	grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' build-analyzer/analyzer.log | sort -u || true
	echo "-fanalyzer: $(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' build-analyzer/analyzer.log | sort -u | wc -l) warning(s) (build-analyzer/analyzer.log)"
	exit $rc
	;;
deb)
	build_deb
	;;
build)
	install_missing
	build build
	;;
*)
	echo "usage: tools/dev.sh run [ARGS...] | test [--sanitize] | fuzz [SECONDS] | torture [SECONDS] [RUNS] | analyze | deb | build" >&2
	exit 2
	;;
esac
