#!/usr/bin/env bash
# How long fwgate takes to open what vendors ship (scanner/uefi.c,
# scanner/carve.c), against tools nobody here wrote on the same bytes:
#  - each OVMF image of Debian's ovmf package walked down to every module
#    (`fwgate scan`), against UEFIExtract's report of the same image;
#  - a vendor-style package of PKG_MIB MiB (makeself, gzip, firmware-like
#    7-bit content in four images plus a flash utility), against `gzip -dc`
#    of its payload (the decompression alone) and clamscan on the package
#    (which reads it as raw bytes: it does not find a payload after a script).
# `fwgate scan` times include its start (engine and worker start-up); the
# start-up alone (a 1-byte file) is printed so that it can be subtracted.
# Figures are printed with the command to rerun; this is not a test.
# Usage: bash bench/packages.sh [BUILD_DIR]     (env: PKG_MIB=1024, RUNS=3)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${1:-$ROOT/build}
FW=$BUILD/cli/fwgate
PKG_MIB=${PKG_MIB:-1024}
RUNS=${RUNS:-3}
[ -x "$FW" ] || { echo "bench/packages.sh: $FW missing (tools/dev.sh build)" >&2; exit 2; }
for t in makeself UEFIExtract gzip python3; do
	command -v "$t" >/dev/null || { echo "bench/packages.sh: $t missing (tools/dev.sh installs it)" >&2; exit 2; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-bench-packages-XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/state" "$T/sigs"
cp "$ROOT/tests/data/signatures/eicar.ndb" "$T/sigs/"
printf '[state]\ndir = %s/state\n[scanner]\nsignatures = %s/sigs\n' "$T" "$T" >"$T/fw.conf"

# best of RUNS wall-clock seconds of a command
best() {
	python3 - "$RUNS" "$@" <<'PY'
import subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
best = None
for _ in range(runs):
    t = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = time.monotonic() - t
    best = d if best is None or d < best else best
print("%.3f" % best)
PY
}

printf 'x' >"$T/one.bin"
START=$(best "$FW" scan -c "$T/fw.conf" "$T/one.bin")
echo "fwgate scan start-up (1-byte file): ${START} s"
echo

echo "== UEFI images (best of $RUNS)"
printf '%-28s %8s %10s %12s %12s %8s\n' image MiB modules "fwgate s" "UEFIExtract" ratio
for f in /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_CODE_4M.secboot.fd /usr/share/OVMF/OVMF_CODE.fd; do
	[ -r "$f" ] || continue
	cp "$f" "$T/img.fd"
	mods=$("$FW" scan --json -c "$T/fw.conf" "$T/img.fd" 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for m in d["members"] if m.get("section") in ("PE32","TE")), d["verdict"])')
	fw=$(best "$FW" scan -c "$T/fw.conf" "$T/img.fd")
	ue=$(best UEFIExtract "$T/img.fd" report)
	printf '%-28s %8.1f %10s %12s %12s %8s\n' "$(basename "$f")" "$(echo "$(stat -c %s "$f") / 1048576" | bc -l)" \
		"$mods" "$fw" "$ue" "$(echo "$fw / $ue" | bc -l | cut -c1-5)"
done
echo "(modules: PE32/TE members and the verdict; fwgate s includes the start-up above;"
echo " UEFIExtract writes a text report, fwgate also scans every module with ClamAV)"
echo

echo "== a ${PKG_MIB} MiB vendor package (makeself --gzip)"
mkdir -p "$T/pkg/payload/images"
for i in 1 2 3 4; do
	head -c $((PKG_MIB * 1024 * 1024 / 4)) /dev/urandom | LC_ALL=C tr '\200-\377' '\000-\177' >"$T/pkg/payload/images/fw$i.img"
done
cp /bin/true "$T/pkg/payload/flash_util"
printf '#!/bin/sh\n./payload/flash_util\n' >"$T/pkg/setup.sh"
chmod +x "$T/pkg/setup.sh"
makeself --gzip --quiet "$T/pkg" "$T/vendor.run" "Firmware" ./setup.sh >/dev/null 2>&1
rm -rf "$T/pkg"
size=$(stat -c %s "$T/vendor.run")
skip=$(sed -n 's/^skip="\([0-9]*\)"$/\1/p' "$T/vendor.run" | head -1)
off=$(head -n "$skip" "$T/vendor.run" | wc -c)
tail -c +$((off + 1)) "$T/vendor.run" >"$T/payload.tar.gz"
verdict=$("$FW" scan --json -c "$T/fw.conf" "$T/vendor.run" 2>/dev/null |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["verdict"], d["members_total"], "members")')
FWT=$(RUNS=1 best "$FW" scan -c "$T/fw.conf" "$T/vendor.run")
GZ=$(RUNS=1 best sh -c "gzip -dc '$T/payload.tar.gz' >/dev/null")
echo "package: $((size / 1048576)) MiB; fwgate: $verdict"
echo "fwgate scan (walk, carve, unpack, ClamAV every member):  ${FWT} s"
echo "gzip -dc of its payload alone:                         ${GZ} s   (fwgate / gzip: $(echo "$FWT / $GZ" | bc -l | cut -c1-5))"
if command -v clamscan >/dev/null; then
	CS=$(RUNS=1 best clamscan --no-summary -d "$T/sigs" --max-filesize=4000M --max-scansize=4000M "$T/vendor.run")
	echo "clamscan on the package (raw bytes; payload not opened): ${CS} s   (fwgate / clamscan: $(echo "$FWT / $CS" | bc -l | cut -c1-5))"
fi
echo
echo "rerun: PKG_MIB=$PKG_MIB RUNS=$RUNS bash bench/packages.sh $BUILD"
