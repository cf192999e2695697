#!/usr/bin/env bash
# What vendors really ship, made by the real tools, through `fwgate scan`
# and through the proxy (real curl, the real TLS origin, the local
# sandbox): self-extracting shell packages (makeself with gzip, bzip2, xz,
# zstd, lz4), a Dell Update Package style .BIN (markers, UTF-16LE
# package.xml, tar.gz), an HPE Smart Component style .scexe, PE and ELF
# files with zip, 7z and tar.xz overlays, rpmbuild, dpkg-deb and gcab
# packages, and UEFI volumes and capsules holding LZMA, Tiano and Brotli
# sections (tests/data/uefi_samples.py). Each with EICAR in a member is
# infected and the reason names the whole chain; each clean twin is clean
# and delivered byte for byte; each with a payload that cannot be opened is
# unscannable (or suspicious when a makeself digest does not match) and
# nothing of it is delivered. Debian's OVMF and SeaBIOS images and iPXE's
# option ROMs (ipxe-qemu) are approved and delivered with the local
# sandbox; the UEFIExtract cross-check runs on the firmware images and on
# the crafted volumes.
# Usage: packages.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-packages-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] && { echo "kept $T"; return; }
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"

for tool in makeself rpmbuild dpkg-deb gcab 7z zstd lz4 xz bzip2 brotli UEFIExtract iconv openssl; do
	command -v "$tool" >/dev/null || { echo "missing $tool (tools/dev.sh installs the test tools)"; exit 1; }
done
PE=/usr/share/nsis/Plugins/x86-ansi/UserInfo.dll
ELF=/bin/true
[ -r "$PE" ] || { echo "missing $PE (nsis-common)"; exit 1; }
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

mkdir -p "$T/www" "$T/sigs" "$T/mk"
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"
W=$T/www

# ------------------------------------------------------------- payloads
# payload/: a flash utility (a real ELF), an image, release notes; the
# dirty twin adds EICAR as payload/tools/eicar.com.
for v in clean dirty; do
	d=$T/mk/$v/payload
	mkdir -p "$d/tools"
	cp "$ELF" "$d/flash_util"
	fwdata 200000 "$d/fw.img"
	printf 'Firmware 2.4.1 release notes\n' >"$d/README.txt"
	printf '#!/bin/sh\necho installing\n' >"$T/mk/$v/setup.sh"
	chmod +x "$T/mk/$v/setup.sh"
	[ "$v" = dirty ] && printf '%s' "$EICAR" >"$d/tools/eicar.com"
	mkdir -p "$T/mk/$v-a"
	(cd "$T/mk/$v" && tar -czf ../$v-a/payload.tar.gz payload && tar -cJf ../$v-a/payload.tar.xz payload &&
		zip -qr ../$v-a/payload.zip payload && 7z a -bd -bso0 -bsp0 ../$v-a/payload.7z payload) ||
		{ echo "payload archives failed"; exit 1; }
done

# ------------------------------------------------------------- packages
# mk_set VARIANT: every package kind from mk/VARIANT into www/VARIANT-*
mk_set() {
	local v=$1 m=$T/mk/$1 arc=$T/mk/$1-a
	for c in gzip bzip2 xz zstd lz4; do
		makeself --$c --quiet "$m" "$W/$v-makeself-$c.run" "Firmware 2.4.1" ./setup.sh >/dev/null 2>&1 ||
			{ echo "makeself --$c failed"; exit 1; }
	done
	# Dell Update Package: script, markers, UTF-16LE package.xml, tar.gz
	{
		printf '#!/bin/sh\n# Dell Update Package (test layout)\n'
		printf 'sed "0,/^#####Startofarchive#####/d" "$0" | tar -zx\nexit 0\n'
		printf '#####Startofpackage#####\n'
		printf '<?xml version="1.0" encoding="UTF-16"?>\n<SoftwareComponent packageID="TEST1" releaseID="T1" version="2.4.1"/>\n' |
			iconv -f UTF-8 -t UTF-16LE
		printf '\n#####Startofarchive#####\n'
		cat "$arc/payload.tar.gz"
	} >"$W/$v-dell-dup.BIN"
	# HPE Smart Component: a script, the firmware archive appended
	{
		printf '#!/bin/sh\n# HPE Smart Component (test layout)\n'
		printf "SKIP=\`awk '/^__ARCHIVE_FOLLOWS__/ { print NR + 1; exit 0; }' \"\$0\"\`\n"
		printf 'tail -n +"$SKIP" "$0" | tar -xz -C "${TMPDIR:-/tmp}"\nexit 0\n__ARCHIVE_FOLLOWS__\n'
		cat "$arc/payload.tar.gz"
	} >"$W/$v-hpe.scexe"
	# PE and ELF with overlays
	for a in zip 7z tar.xz; do
		cat "$PE" "$arc/payload.$a" >"$W/$v-pe-$a.exe"
		cat "$ELF" "$arc/payload.$a" >"$W/$v-elf-$a.bin"
	done
	# a tar.xz between an executable and its zip (a self-extractor whose
	# archive libarchive reads as the whole file)
	cat "$PE" "$arc/payload.tar.xz" "$T/mk/clean-a/payload.zip" >"$W/$v-pe-xz-then-zip.exe"
	# rpmbuild
	mkdir -p "$T/rpm-$v"
	cat >"$T/rpm-$v/fw.spec" <<EOF
Name: fwtest-$v
Version: 2.4.1
Release: 1
Summary: firmware test package
License: MIT
BuildArch: noarch
%define _binaries_in_noarch_packages_terminate_build 0
%description
Firmware test package.
%install
mkdir -p %{buildroot}/opt/fw
cp -r $m/payload %{buildroot}/opt/fw/
%files
/opt/fw
EOF
	rpmbuild -bb --quiet --define "_topdir $T/rpm-$v" --define "debug_package %{nil}" \
		--define "__os_install_post %{nil}" --define "_build_id_links none" "$T/rpm-$v/fw.spec" \
		>"$T/rpm-$v.log" 2>&1 || { echo "rpmbuild failed: $(tail -5 "$T/rpm-$v.log")"; exit 1; }
	cp "$T"/rpm-$v/RPMS/noarch/*.rpm "$W/$v-package.rpm"
	# dpkg-deb
	mkdir -p "$T/deb-$v/DEBIAN" "$T/deb-$v/opt/fw"
	printf 'Package: fwtest\nVersion: 2.4.1\nArchitecture: all\nMaintainer: test <t@example.org>\nDescription: firmware test\n' \
		>"$T/deb-$v/DEBIAN/control"
	cp -r "$m/payload" "$T/deb-$v/opt/fw/"
	dpkg-deb --root-owner-group -Zxz --build "$T/deb-$v" "$W/$v-package.deb" >/dev/null || { echo "dpkg-deb failed"; exit 1; }
	# gcab (MSZIP)
	(cd "$m/payload" && gcab -c -z "$W/$v-package.cab" $(find . -type f | sort)) || { echo "gcab failed"; exit 1; }
}
mk_set clean
mk_set dirty

# UEFI volumes and capsules: LZMA, LZMA x86, Tiano, EFI, Brotli, CRC32
python3 "$SRC/tests/data/uefi_samples.py" "$T/uefi-clean" >/dev/null || { echo "uefi_samples.py failed"; exit 1; }
python3 "$SRC/tests/data/uefi_samples.py" "$T/uefi-dirty" --eicar >/dev/null || { echo "uefi_samples.py --eicar failed"; exit 1; }
UEFI_OK="fv-lzma fv-lzmaf86 fv-tiano fv-efi fv-brotli fv-crc32 capsule-efi capsule-fmp capsule-aptio ifd-image"
for s in $UEFI_OK; do
	cp "$T/uefi-clean/$s.bin" "$W/clean-uefi-$s.bin"
	cp "$T/uefi-dirty/$s.bin" "$W/dirty-uefi-$s.bin"
done
for s in bad-file-checksum file-overrun unknown-guid lzma-corrupt; do cp "$T/uefi-clean/$s.bin" "$W/bad-uefi-$s.bin"; done
# PCI option ROMs: an iPXE-packed legacy image and an EFI-compressed driver
cp "$T/uefi-clean/rom-two-images.rom" "$W/clean-rom-two-images.rom"
cp "$T/uefi-dirty/rom-two-images.rom" "$W/dirty-rom-two-images.rom"
cp "$T/uefi-clean/rom-bad-crc.rom" "$W/bad-rom-bad-crc.rom"

# Payloads that cannot be opened
m=$T/mk/clean-a
fwdata 300000 "$T/mk/plain.bin"
openssl enc -aes-256-cbc -pbkdf2 -pass pass:vendor -in "$T/mk/plain.bin" -out "$T/mk/enc.bin" 2>/dev/null
{ printf '#!/bin/sh\ntail -c 300016 "$0" | openssl enc -d -aes-256-cbc -pbkdf2 -pass pass:vendor | sh\nexit 0\n'; cat "$T/mk/enc.bin"; } \
	>"$W/bad-script-encrypted.run"
cp "$W/clean-makeself-xz.run" "$W/bad-makeself-corrupt.run"
size=$(stat -c %s "$W/bad-makeself-corrupt.run")
printf 'XXXXXXXXXXXXXXXX' | dd of="$W/bad-makeself-corrupt.run" bs=1 seek=$((size - 30000)) conv=notrunc status=none
sed 's/^MD5="[0-9a-f]*"/MD5="0123456789abcdef0123456789abcdef"/' "$W/clean-makeself-gzip.run" >"$W/bad-makeself-md5.run"
head -c $(($(stat -c %s "$m/payload.7z") - 200)) "$m/payload.7z" >"$T/mk/trunc.7z"
cat "$PE" "$T/mk/trunc.7z" >"$W/bad-pe-7z-truncated.exe"
cp "$m/payload.tar.xz" "$T/mk/corrupt.tar.xz"
size=$(stat -c %s "$T/mk/corrupt.tar.xz")
printf 'XXXXXXXX' | dd of="$T/mk/corrupt.tar.xz" bs=1 seek=$((size / 2)) conv=notrunc status=none
cat "$ELF" "$T/mk/corrupt.tar.xz" >"$W/bad-elf-xz-corrupt.bin"
{ cat "$PE"; printf 'Inno Setup Setup Data (5.5.7)\0'; cat "$T/mk/plain.bin"; } >"$W/bad-pe-inno.exe"
cat "$PE" "$T/mk/enc.bin" "$m/payload.zip" >"$W/bad-pe-hidden-before-zip.exe"

# ------------------------------------------------------------- expectations
# name|verdict|reason regex|member chain regex of the EICAR signature
EXP=$T/expect.txt
: >"$EXP"
DIRTY_CHAIN='payload/tools/eicar\.com$'
for c in gzip bzip2 xz zstd lz4; do
	echo "clean-makeself-$c.run|clean||" >>"$EXP"
	echo "dirty-makeself-$c.run|infected||^dirty-makeself-$c\\.run!@0x[0-9a-f]+!\\./$DIRTY_CHAIN" >>"$EXP"
done
echo "clean-dell-dup.BIN|clean||" >>"$EXP"
echo "dirty-dell-dup.BIN|infected||^dirty-dell-dup\\.BIN!@0x[0-9a-f]+!$DIRTY_CHAIN" >>"$EXP"
echo "clean-hpe.scexe|clean||" >>"$EXP"
echo "dirty-hpe.scexe|infected||^dirty-hpe\\.scexe!@0x[0-9a-f]+!$DIRTY_CHAIN" >>"$EXP"
for a in zip 7z tar.xz; do
	echo "clean-pe-$a.exe|clean||" >>"$EXP"
	echo "dirty-pe-$a.exe|infected||^dirty-pe-$a\\.exe(!@0x[0-9a-f]+)?!$DIRTY_CHAIN" >>"$EXP"
	echo "clean-elf-$a.bin|clean||" >>"$EXP"
	echo "dirty-elf-$a.bin|infected||^dirty-elf-$a\\.bin(!@0x[0-9a-f]+)?!$DIRTY_CHAIN" >>"$EXP"
done
echo "clean-pe-xz-then-zip.exe|clean||" >>"$EXP"
echo "dirty-pe-xz-then-zip.exe|infected||^dirty-pe-xz-then-zip\\.exe!@0x[0-9a-f]+!$DIRTY_CHAIN" >>"$EXP"
echo "clean-package.rpm|clean||" >>"$EXP"
echo "dirty-package.rpm|infected||^dirty-package\\.rpm!.*$DIRTY_CHAIN" >>"$EXP"
echo "clean-package.deb|clean||" >>"$EXP"
echo "dirty-package.deb|infected||^dirty-package\\.deb!data\\.tar\\.xz!.*$DIRTY_CHAIN" >>"$EXP"
echo "clean-package.cab|clean||" >>"$EXP"
echo "dirty-package.cab|infected||^dirty-package\\.cab!(\\./)?tools/eicar\\.com$" >>"$EXP"
for s in $UEFI_OK; do
	echo "clean-uefi-$s.bin|clean||" >>"$EXP"
	echo "dirty-uefi-$s.bin|infected||^dirty-uefi-$s\\.bin!.*!11111111-2222-3333-4444-555555555502/FwUpdateDxe!PE32$" >>"$EXP"
done
echo "clean-rom-two-images.rom|clean||" >>"$EXP"
echo "dirty-rom-two-images.rom|infected||^dirty-rom-two-images\\.rom!@0x200:iPXE$" >>"$EXP"
echo "dirty-rom-two-images.rom|infected||^dirty-rom-two-images\\.rom!@0x[0-9a-f]+:EFI$" >>"$EXP"
echo "bad-rom-bad-crc.rom|unscannable|of compressed or encrypted bytes at 0x[0-9a-f]+ in bad-rom-bad-crc\\.rom|" >>"$EXP"
echo "bad-uefi-bad-file-checksum.bin|unscannable|header checksum error|" >>"$EXP"
echo "bad-uefi-file-overrun.bin|unscannable|overruns its volume|" >>"$EXP"
echo "bad-uefi-unknown-guid.bin|unscannable|needs processing no parser here knows|" >>"$EXP"
echo "bad-uefi-lzma-corrupt.bin|unscannable|LZMA section at .* cannot be opened|" >>"$EXP"
echo "bad-script-encrypted.run|unscannable|of compressed or encrypted bytes at 0x[0-9a-f]+ in bad-script-encrypted\\.run that no parser here opens|" >>"$EXP"
echo "bad-makeself-corrupt.run|unscannable|corrupt or truncated archive at bad-makeself-corrupt\\.run!@0x|" >>"$EXP"
echo "bad-makeself-md5.run|suspicious|records MD5 0123456789abcdef0123456789abcdef for archive 1|" >>"$EXP"
echo "bad-pe-7z-truncated.exe|unscannable|7z archive at 0x[0-9a-f]+ .* could not be opened|" >>"$EXP"
echo "bad-elf-xz-corrupt.bin|unscannable|corrupt or truncated archive at bad-elf-xz-corrupt\\.bin!@0x|" >>"$EXP"
echo "bad-pe-inno.exe|unscannable|Inno Setup installer bad-pe-inno\\.exe|" >>"$EXP"
echo "bad-pe-hidden-before-zip.exe|unscannable|of compressed or encrypted bytes at 0x[0-9a-f]+ in bad-pe-hidden-before-zip\\.exe|" >>"$EXP"

# judge OUT: checks every document of OUT (JSON lines) against EXP
judge() {
	python3 - "$1" "$EXP" <<'PY'
import json, re, sys
docs = {}
for line in open(sys.argv[1], encoding="utf-8"):
    if line.strip():
        d = json.loads(line)
        docs[d["path"].rsplit("/", 1)[-1]] = d
bad = 0
for line in open(sys.argv[2]):
    name, verdict, reason, chain = line.rstrip("\n").split("|")
    d = docs.get(name)
    probs = []
    if d is None:
        probs.append("no document")
    else:
        if d["verdict"] != verdict:
            probs.append("verdict %s, wanted %s: %s" % (d["verdict"], verdict, d["reasons"][:3]))
        if reason and not any(re.search(reason, r) for r in d["reasons"]):
            probs.append("no reason matches /%s/: %s" % (reason, d["reasons"][:3]))
        if chain and not any(re.search(chain, s.get("member", "")) for s in d.get("signatures", [])):
            probs.append("no signature in a member matching /%s/: %s" % (chain, [s.get("member") for s in d.get("signatures", [])]))
        if verdict == "clean" and d["reasons"]:
            probs.append("clean with reasons %s" % d["reasons"])
    if probs:
        bad += 1
        print("not ok - scan: %s is %s" % (name, verdict))
        for p in probs:
            print("    " + p)
    else:
        print("ok - scan: %s is %s" % (name, verdict))
print("JUDGED %d" % bad)
sys.exit(0)
PY
}

# ------------------------------------------------------------- fwgate scan
mkdir -p "$T/state-scan"
printf '[state]\ndir = %s/state-scan\n[scanner]\nsignatures = %s/sigs\n' "$T" "$T" >"$T/scan.conf"
files=()
while IFS='|' read -r name _; do files+=("$W/$name"); done <"$EXP"
timeout 300 "$FW" scan --json -c "$T/scan.conf" "${files[@]}" >"$T/scan.json" 2>"$T/scan.err"
judge "$T/scan.json" >"$T/judge.txt"
while read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) bad "${line#not ok - }" ;;
	"    "*) echo "$line" ;;
	esac
done <"$T/judge.txt"
python3 - "$T/scan.json" <<'PY' >"$T/tree.txt"
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["path"].endswith("clean-dell-dup.BIN"):
        for m in d["members"]:
            print(m["path"], m.get("offset", ""))
PY
check "scan --json: the Dell package.xml is a member with its offset" grep -q '^clean-dell-dup\.BIN!package\.xml [0-9]' "$T/tree.txt"
check "scan --json: the carved archive is a member named by its offset" grep -Eq '^clean-dell-dup\.BIN!@0x[0-9a-f]+ [0-9]+$' "$T/tree.txt"
check "scan --json: ... and its members below it" grep -Eq '^clean-dell-dup\.BIN!@0x[0-9a-f]+!payload/flash_util ' "$T/tree.txt"

# ------------------------------------------------------------- UEFIExtract
python3 "$HERE/uefi_crosscheck.py" "$FW" "$T/scan.conf" /usr/share/OVMF/*.fd /usr/share/ovmf/OVMF.fd \
	/usr/share/seabios/bios.bin /usr/share/seabios/bios-256k.bin "$T"/uefi-clean/*.bin >"$T/cross.txt" 2>&1
while read -r line; do
	case $line in
	"ok - "*) ok "UEFIExtract cross-check: ${line#ok - }" ;;
	"not ok - "*) bad "UEFIExtract cross-check: ${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done <"$T/cross.txt"

# ------------------------------------------------------------- through the proxy
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
for f in /usr/share/OVMF/*.fd /usr/share/ovmf/OVMF.fd /usr/share/seabios/bios.bin /usr/share/seabios/bios-256k.bin \
	/usr/lib/ipxe/qemu/*.rom; do
	cp "$f" "$W/real-$(basename "$(dirname "$f")")-$(basename "$f")"
done
start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"
GP=$(free_port)
{
	printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$GP" "$(free_port)"
	printf '[state]\ndir = %s/state\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$T" "$T" "$T"
	printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\nresolve = vendor.test:%s:127.0.0.1\n' "$T" "$OP"
	printf '[scanner]\nsignatures = %s/sigs\ntimeout_seconds = 120\nmax_seconds = 60\n' "$T"
	printf '[sandbox]\nbackend = local\nhold_seconds = 120\nrunners = 2\n'
	printf '[log]\nfile = %s/events.log\n' "$T"
} >"$T/fwgate.conf"
start_fwgate gw "$T/fwgate.conf"
GCA=$T/state/ca/ca.crt
BASE="https://vendor.test:$OP/files"
fetch() {
	rm -f "$T/body" "$T/headers"
	CODE=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 180 \
		--proxy "http://127.0.0.1:$GP" --cacert "$GCA" "$BASE/$1")
	touch "$T/body" "$T/headers"
}
delivered() { [ "$CODE" = 200 ] && cmp -s "$T/body" "$1"; }
refused() { [ "$CODE" = 403 ] && ! cmp -s "$T/body" "$1"; }
while IFS='|' read -r name verdict _; do
	fetch "$name"
	if [ "$verdict" = clean ]; then
		check "proxy: $name: 200 and the vendor's bytes ($CODE)" delivered "$W/$name"
	else
		check "proxy: $name: 403 ($verdict), nothing delivered ($CODE)" refused "$W/$name"
		check "proxy: $name: the refusal page says $verdict" grep -q "$verdict" "$T/body"
	fi
done <"$EXP"
for f in "$W"/real-*; do
	n=$(basename "$f")
	fetch "$n"
	check "proxy: Debian's $n: approved with the local sandbox and delivered ($CODE)" delivered "$f"
done
fetch dirty-makeself-xz.run
check "proxy: the refusal page names the chain down to the member" \
	grep -Eq 'dirty-makeself-xz\.run!@0x[0-9a-f]+!\./payload/tools/eicar\.com' "$T/body"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
