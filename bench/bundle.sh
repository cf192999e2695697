#!/usr/bin/env bash
# fwgate offline bundles: how long export and import take for BENCH_MIB
# MiB of approved images. Site A's store is filled with BENCH_IMAGES
# approved images of random 7-bit bytes through the store's own commit
# (bench/fill_quarantine --clean), then, timed: `fwgate mirror export` at A
# (blobs copied byte for byte, manifest signed), `fwgate mirror verify` at
# B (signature, every blob re-hashed), `fwgate mirror import` at B (verify,
# copy, rescan of every image with B's signatures, commit all or nothing).
# For scale, `fwgate scan` of the same images at B and `cp` of the bundle.
#
# Usage: bash bench/bundle.sh [BUILD_DIR]      (default: build/)
# Environment: BENCH_MIB [1024], BENCH_IMAGES [8]
# Everything lives in a mktemp directory, removed at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$PWD/$BUILD") ;; esac
FW=$BUILD/cli/fwgate
FILL=$BUILD/bench/fill_quarantine
MIB=${BENCH_MIB:-1024}
IMAGES=${BENCH_IMAGES:-8}
for v in MIB IMAGES; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_$v must be a positive integer" >&2; exit 1; }
done
[ -x "$FW" ] && [ -x "$FILL" ] || { echo "bench: FAIL: $FW or $FILL is missing (tools/dev.sh build)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-bench-bundle-XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/a" "$T/b" "$T/keys"
chmod 700 "$T/a" "$T/b"
SIGS=$ROOT/tests/data/signatures
printf '[state]\ndir = %s/a\n[mirror]\nsite_id = site-a\n[scanner]\nsignatures = %s\n' "$T" "$SIGS" >"$T/a.conf"
printf '[state]\ndir = %s/b\n[mirror]\nsite_id = site-b\ntrusted_keys = %s/keys\n[scanner]\nsignatures = %s\n' \
	"$T" "$T" "$SIGS" >"$T/b.conf"
"$FILL" "$T/a" "$IMAGES" --clean $((MIB * 1024 * 1024 / IMAGES))
"$FW" mirror keygen -c "$T/a.conf" | sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' >"$T/keys/site-a.pem"
# secs CMD...: the wall time of CMD in seconds; it must succeed
secs() {
	local t0=${EPOCHREALTIME/./} t1
	"$@" >"$T/out" 2>&1 || { echo "bench: FAIL: $*: $(tail -n 5 "$T/out")" >&2; exit 1; }
	t1=${EPOCHREALTIME/./}
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'
}
E=$(secs "$FW" mirror export "$T/bundle" -c "$T/a.conf")
C=$(secs cp -r "$T/bundle" "$T/copy")
V=$(secs "$FW" mirror verify "$T/bundle" -c "$T/b.conf")
I=$(secs "$FW" mirror import "$T/bundle" -c "$T/b.conf")
S=$(secs "$FW" scan "$T"/bundle/blobs/* -c "$T/b.conf")
echo "offline bundle of $IMAGES images, $MIB MiB in all (one run):"
printf '  export (site A)          %7.2f s   %7.1f MB/s\n' "$E" "$(awk -v s="$E" -v m="$MIB" 'BEGIN { print m * 1.048576 / s }')"
printf '  cp -r of the bundle      %7.2f s\n' "$C"
printf '  verify (site B)          %7.2f s\n' "$V"
printf '  import (site B)          %7.2f s   (verify + copy + rescan + commit)\n' "$I"
printf '  fwgate scan of the same  %7.2f s   import / scan: %.2f\n' "$S" "$(awk -v a="$I" -v b="$S" 'BEGIN { print a / b }')"
"$FW" quarantine list --state approved --json -c "$T/b.conf" | python3 -c 'import json,sys; n=len(json.load(sys.stdin)); sys.exit(0 if n == int(sys.argv[1]) else "bench: FAIL: %d approved at B" % n)' "$IMAGES"
echo "rerun: BENCH_MIB=$MIB BENCH_IMAGES=$IMAGES bash bench/bundle.sh $BUILD"
