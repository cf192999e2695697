#!/usr/bin/env bash
# Writes the corpus of the fuzz_carve target (tests/fuzz/corpus/carve) and
# adds the same payload layouts to fuzz_walk's corpus: made by the real
# tools (makeself, tar with gzip/xz/zstd/lz4/bzip2, 7z, zip), each under
# the replay driver's 64 KiB. Run again when the layouts change; the
# output is committed.
# Usage: bash tests/fuzz/make_carve_corpus.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus/carve
walk=$here/corpus/walk
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$out" "$t/src/payload"
printf 'firmware notes\n' >"$t/src/payload/README.txt"
head -c 3000 /dev/zero | tr '\0' 'F' >"$t/src/payload/fw.img"
printf '#!/bin/sh\necho\n' >"$t/src/setup.sh"
chmod +x "$t/src/setup.sh"
script=$'#!/bin/sh\ntail -n +4 "$0" | tar -xz\nexit 0\n'
(cd "$t/src" && tar -czf ../p.tar.gz payload && tar -cJf ../p.tar.xz payload && tar --zstd -cf ../p.tar.zst payload &&
	tar -cf - payload | lz4 -q -c >../p.tar.lz4 && tar -cjf ../p.tar.bz2 payload && zip -qr ../p.zip payload &&
	7z a -bd -bso0 -bsp0 ../p.7z payload)
for k in tar.gz tar.xz tar.zst tar.lz4 tar.bz2; do
	{ printf '%s' "$script"; cat "$t/p.$k"; printf 'PK\003\004trailer'; } >"$out/script-$k"
done
makeself --gzip --quiet "$t/src" "$out/makeself-gzip.run" "t" ./setup.sh >/dev/null
makeself --xz --quiet "$t/src" "$out/makeself-xz.run" "t" ./setup.sh >/dev/null
{ printf '#!/bin/sh\nexit 0\n#####Startofpackage#####\n<pkg/>\n#####Startofarchive#####\n'; cat "$t/p.tar.gz"; } >"$out/dell.BIN"
pe=/usr/share/nsis/Plugins/x86-ansi/UserInfo.dll
cat "$pe" "$t/p.7z" >"$out/pe-7z.exe"
cat "$pe" "$t/p.tar.xz" "$t/p.zip" >"$out/pe-xz-zip.exe"
{ cat "$pe"; printf 'Inno Setup Setup Data (5.5.7)\0'; } >"$out/pe-inno.exe"
head -c 20000 /bin/true >"$t/elf"
cat "$t/elf" "$t/p.tar.xz" >"$out/elf-xz.bin"
# a PCI option ROM: an iPXE-packed legacy image and an EFI-compressed driver
python3 "$here/../data/uefi_samples.py" "$t/uefi" >/dev/null
cp "$t/uefi/rom-two-images.rom" "$out/rom-two-images.rom"
for f in script-tar.xz script-tar.zst makeself-gzip.run dell.BIN pe-xz-zip.exe rom-two-images.rom; do
	cp "$out/$f" "$walk/carve-$f"
done
for f in "$out"/* "$walk"/carve-*; do
	[ "$(stat -c %s "$f")" -le 65536 ] || { echo "$f is over 64 KiB" >&2; exit 1; }
done
echo "$(ls "$out" | wc -l) inputs in $out"
