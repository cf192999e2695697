#!/usr/bin/env bash
# Integration tests of `fwgate scan` against a hostile corpus built here at
# run time with the real tools (zip, tar, gzip, xz, bzip2, zstd, lz4, cpio,
# 7z, xorriso) and corpus_zip.py for what they cannot make: EICAR in every
# format and five levels deep, bombs (ratio, nested, layered, overlapping
# entries), member-count and depth limits, unsafe names and links,
# unprintable names, encrypted, truncated and bad-CRC archives, polyglots,
# real firmware from Debian packages (ovmf, seabios) as clean, and
# ClamAV's own samples (clamav-testfiles) in every format.
# Signatures: tests/data/signatures (Fwgate.Test.EICAR,
# Fwgate.Test.ClamAVTestFile, both ClamAV .ndb body signatures).
# Usage: scan.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
SIGS=$SRC/tests/data/signatures
CTF=/usr/share/clamav-testfiles
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-scan-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$HERE/lib.sh"

skip() { if [ -n "${CI:-}" ]; then bad "$1" "skipped under CI: $2 (tools/dev.sh installs it)"; else echo "skip - $1: $2"; fi; }
corpus() { python3 "$HERE/corpus_zip.py" "$@"; }

EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

# ------------------------------------------------------------- configs

mkdir -m 700 "$T/state"
# conf NAME [KEY = VALUE lines for [scanner]...]: writes $T/NAME.conf
conf() {
	local name=$1; shift
	{
		printf '[state]\ndir = %s\n[scanner]\nsignatures = %s\n' "$T/state" "$SIGS"
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$T/$name.conf"
}
conf base
conf ratio "max_ratio = 100"
conf members "max_members = 1000"
conf depth "max_depth = 3"
conf sizes "max_member_bytes = 1048576"
conf total "max_total_bytes = 3145728"
BASE=$T/base.conf

# ------------------------------------------------------------- helpers

# scan CONF ARGS...: `fwgate scan --json -c CONF ARGS...`, bounded; sets RC
SCAN_TIMEOUT=60
scan() {
	local conf=$1; shift
	timeout "$SCAN_TIMEOUT" "$FW" scan --json -c "$conf" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# The judge: python3 -c "$JUDGE" OUT PATH VERDICT_RE REASON_RE SIG MEMBER
# Finds the one JSON document whose "path" is PATH and checks its verdict
# (full match of VERDICT_RE), that some reason matches REASON_RE, that a
# signature named SIG (prefix: libclamav may add ".UNOFFICIAL") was found,
# in MEMBER (exact, or a regex when it starts with "~"). Prints problems.
JUDGE='
import json, re, sys
out, path, verdict, reason, sig, member = sys.argv[1:7]
docs = []
try:
    for n, line in enumerate(open(out, encoding="utf-8"), 1):
        if line.strip():
            docs.append(json.loads(line))
except (ValueError, UnicodeDecodeError) as e:
    print("stdout is not JSON lines (line %d): %s" % (n, e)); sys.exit(1)
mine = [d for d in docs if isinstance(d, dict) and d.get("path") == path]
if len(mine) != 1:
    print("%d documents with path %r among %d" % (len(mine), path, len(docs))); sys.exit(1)
d = mine[0]
probs = []
if not re.fullmatch(verdict, str(d.get("verdict"))):
    probs.append("verdict %r, wanted /%s/" % (d.get("verdict"), verdict))
reasons = d.get("reasons")
if not isinstance(reasons, list):
    probs.append("reasons is not a list")
    reasons = []
if reason and not any(re.search(reason, str(r)) for r in reasons):
    probs.append("no reason matches /%s/: %r" % (reason, reasons))
if d.get("verdict") == "clean" and reasons:
    probs.append("clean yet with reasons %r" % reasons)
if d.get("verdict") != "clean" and not reasons:
    probs.append("not clean and no reason given")
sigs = d.get("signatures") or []
if sig:
    hits = [s for s in sigs if str(s.get("name", "")).startswith(sig)]
    if not hits:
        probs.append("no signature %s in %r" % (sig, sigs))
    elif member:
        if member.startswith("~"):
            good = any(re.fullmatch(member[1:], str(s.get("member"))) for s in hits)
        else:
            good = any(s.get("member") == member for s in hits)
        if not good:
            probs.append("signature %s not in member %r: %r" % (sig, member, hits))
if d.get("verdict") == "infected" and not sigs:
    probs.append("infected without signatures")
# Each signature names the reason it gave by its index (-1: reasons full).
for s in sigs:
    at = s.get("reason")
    if not isinstance(at, int) or at < -1 or at >= len(reasons):
        probs.append("signature %r names no reason" % (s,))
    elif at >= 0 and reasons[at] != "signature %s in %s" % (s.get("name"), s.get("member")):
        probs.append("signature %r names reason %d: %r" % (s, at, reasons[at]))
for p in probs:
    print(p)
sys.exit(1 if probs else 0)
'

# expect NAME CONF FILE VERDICT_RE [REASON_RE [SIG [MEMBER]]]
# Scans FILE alone; wants exit 0 for clean, 1 otherwise.
expect() {
	local name=$1 conf=$2 file=$3 want=$4 reason=${5:-} sig=${6:-} member=${7:-}
	local wrc=1 msg
	[ "$want" = clean ] && wrc=0
	scan "$conf" "$file"
	msg=$(python3 -c "$JUDGE" "$T/out" "$file" "$want" "$reason" "$sig" "$member" 2>&1)
	local jrc=$?
	if [ "$RC" != "$wrc" ] || [ "$jrc" != 0 ]; then
		local IFS=$'\n'
		# shellcheck disable=SC2086 # one argument per line of msg
		bad "$name" "exit $RC, wanted $wrc" $msg "json: $(head -c 3000 "$T/out")" "stderr: $(head -c 800 "$T/err")"
	else
		ok "$name"
	fi
}

# judge NAME FILE VERDICT_RE [REASON_RE [SIG [MEMBER]]]: checks FILE's
# document in the output of the last scan (a run over several files).
judge() {
	local name=$1 file=$2 want=$3 reason=${4:-} sig=${5:-} member=${6:-} msg
	if msg=$(python3 -c "$JUDGE" "$T/out" "$file" "$want" "$reason" "$sig" "$member" 2>&1); then
		ok "$name"
	else
		local doc
		doc=$(python3 -c '
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("path") == sys.argv[2]:
        print(line.strip()[:3000])
' "$T/out" "$file" 2>&1)
		local IFS=$'\n'
		# shellcheck disable=SC2086 # one argument per line of msg
		bad "$name" $msg "json: ${doc:-(none; stdout: $(head -c 600 "$T/out"))}" "stderr: $(head -c 400 "$T/err")"
	fi
}

# jcheck NAME PYEXPR: PYEXPR over d (the first document of the last scan)
# and docs (all of them) must be true.
jcheck() {
	local name=$1 expr=$2 msg
	if msg=$(python3 -c '
import json, re, sys
docs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
if not docs:
    print("no JSON document on stdout"); sys.exit(1)
d = docs[0]
sys.exit(0 if eval(sys.argv[2]) else 1)
' "$T/out" "$expr" 2>&1); then
		ok "$name"
	else
		bad "$name" "false: $expr" "$msg" "json: $(head -c 3000 "$T/out")" "stderr: $(head -c 400 "$T/err")"
	fi
}

# ------------------------------------------------------------- preflight

if ! timeout 10 "$FW" help scan >/dev/null 2>&1; then
	bad "fwgate help scan" "$(timeout 10 "$FW" help scan 2>&1 | head -5)"
	echo "$pass passed, $fail failed"
	exit 1
fi
ok "fwgate help scan"

# ------------------------------------------------------------- the corpus

C=$T/c
mkdir -p "$C/dir" "$C/n" "$C/w"
printf '%s' "$EICAR" >"$C/eicar.com"
cp "$C/eicar.com" "$C/dir/eicar.com"
# test content under the coverage check's entropy (lib.sh fwdata)
fwdata 65536 "$C/w/random.bin"
printf 'firmware 1.2.3\n' >"$C/w/README.txt"

# EICAR in one archive of each kind, always as "eicar.com" at depth 1
(cd "$C" && zip -q -r eicar.zip dir/eicar.com)
(cd "$C" && tar -cf eicar.tar eicar.com)
(cd "$C" && tar -czf eicar.tar.gz eicar.com)
(cd "$C" && tar -cjf eicar.tar.bz2 eicar.com)
(cd "$C" && tar -cJf eicar.tar.xz eicar.com)
(cd "$C" && tar --lzma -cf eicar.tar.lzma eicar.com)
have zstd && (cd "$C" && tar --zstd -cf eicar.tar.zst eicar.com)
have lz4 && (cd "$C" && tar -cf - eicar.com | lz4 -q >eicar.tar.lz4)
have cpio && (cd "$C" && echo eicar.com | cpio -o -H newc --quiet >eicar.cpio)
have 7z && (cd "$C" && 7z a -bd -bso0 -bsp0 eicar.7z eicar.com)
have xorriso && { mkdir -p "$C/isoroot" && cp "$C/eicar.com" "$C/isoroot/" &&
	xorriso -as mkisofs -quiet -R -J -o "$C/eicar.iso" "$C/isoroot" 2>/dev/null; }
gzip -9 -c "$C/eicar.com" >"$C/eicar.com.gz"

# EICAR five levels deep across formats:
# nest.zip ! d1.tar.xz ! d2.7z ! d3.tar.gz ! d4.zip ! eicar.com
if have 7z; then
	(cd "$C/n" && cp ../eicar.com . && zip -q d4.zip eicar.com && tar -czf d3.tar.gz d4.zip &&
		7z a -bd -bso0 -bsp0 d2.7z d3.tar.gz && tar -cJf d1.tar.xz d2.7z && zip -q ../nest.zip d1.tar.xz)
fi

# Polyglots: a GIF and a PDF, each with a zip holding EICAR appended
python3 -c 'import sys; sys.stdout.buffer.write(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")' >"$C/poly.gif"
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n' >"$C/poly.pdf"
(cd "$C" && zip -q -j pz.zip eicar.com)
cat "$C/pz.zip" >>"$C/poly.gif" && zip -q -A "$C/poly.gif" 2>/dev/null
cat "$C/pz.zip" >>"$C/poly.pdf" && zip -q -A "$C/poly.pdf" 2>/dev/null

# Real firmware from Debian packages
OVMF=""
for f in /usr/share/OVMF/OVMF_CODE.fd /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/ovmf/OVMF.fd; do
	[ -f "$f" ] && { OVMF=$f; break; }
done
SEABIOS=""
[ -f /usr/share/seabios/bios.bin ] && SEABIOS=/usr/share/seabios/bios.bin
if [ -n "$OVMF" ]; then cat "$OVMF" "$C/eicar.com" >"$C/ovmf-eicar.fd"; fi
if [ -n "$SEABIOS" ]; then cat "$SEABIOS" "$C/eicar.com" >"$C/seabios-eicar.bin"; fi

# ------------------------------------------------------------- EICAR

expect "EICAR plain" "$BASE" "$C/eicar.com" infected "signature Fwgate\.Test\.EICAR[^ ]* in eicar\.com" Fwgate.Test.EICAR eicar.com
expect "EICAR in a zip" "$BASE" "$C/eicar.zip" infected "signature Fwgate\.Test\.EICAR[^ ]* in eicar\.zip!dir/eicar\.com" Fwgate.Test.EICAR "eicar.zip!dir/eicar.com"
jcheck "EICAR in a zip: member listed at depth 1, infected" \
	'any(m.get("path") == "eicar.zip!dir/eicar.com" and m.get("depth") == 1 and m.get("verdict") == "infected" and m.get("size") == 68 for m in d.get("members", []))'
jcheck "EICAR in a zip: root sha256 and size" \
	'd.get("sha256") == "'"$(sha256sum "$C/eicar.zip" | cut -d" " -f1)"'" and d.get("size") == '"$(stat -c %s "$C/eicar.zip")"
jcheck "EICAR in a zip: member sha256 is EICAR's" \
	'any(m.get("sha256") == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f" for m in d.get("members", []))'
jcheck "EICAR in a zip: root file_type archive, mime application/zip" \
	'd.get("file_type") == "archive" and d.get("mime") == "application/zip"'
for f in eicar.tar eicar.tar.gz eicar.tar.bz2 eicar.tar.xz eicar.tar.lzma eicar.tar.zst eicar.tar.lz4 eicar.cpio eicar.7z; do
	if [ -f "$C/$f" ]; then
		expect "EICAR in $f" "$BASE" "$C/$f" infected "signature Fwgate\.Test\.EICAR[^ ]* in ${f//./\\.}!eicar\.com" Fwgate.Test.EICAR "$f!eicar.com"
	else
		skip "EICAR in $f" "tool missing"
	fi
done
if [ -f "$C/eicar.iso" ]; then
	expect "EICAR in an ISO 9660 image" "$BASE" "$C/eicar.iso" infected "signature Fwgate\.Test\.EICAR" Fwgate.Test.EICAR '~eicar\.iso!(\./)?eicar\.com'
else
	skip "EICAR in an ISO 9660 image" "xorriso missing"
fi
expect "EICAR gzip-compressed alone" "$BASE" "$C/eicar.com.gz" infected "signature Fwgate\.Test\.EICAR" Fwgate.Test.EICAR
if [ -f "$C/nest.zip" ]; then
	chain='nest.zip!d1.tar.xz!d2.7z!d3.tar.gz!d4.zip!eicar.com'
	expect "EICAR 5 levels deep (zip/tar.xz/7z/tar.gz/zip)" "$BASE" "$C/nest.zip" infected "signature Fwgate\.Test\.EICAR[^ ]* in ${chain//./\\.}" Fwgate.Test.EICAR "$chain"
	jcheck "EICAR 5 levels deep: every level listed with its depth" \
		'all(any(m.get("path") == p and m.get("depth") == i for m in d.get("members", [])) for i, p in enumerate(["nest.zip!d1.tar.xz", "nest.zip!d1.tar.xz!d2.7z", "nest.zip!d1.tar.xz!d2.7z!d3.tar.gz", "nest.zip!d1.tar.xz!d2.7z!d3.tar.gz!d4.zip", "'"$chain"'"], 1))'
else
	skip "EICAR 5 levels deep" "7z missing"
fi
expect "polyglot GIF + zip with EICAR" "$BASE" "$C/poly.gif" infected "signature Fwgate\.Test\.EICAR" Fwgate.Test.EICAR
expect "polyglot PDF + zip with EICAR" "$BASE" "$C/poly.pdf" infected "signature Fwgate\.Test\.EICAR" Fwgate.Test.EICAR
if [ -n "$OVMF" ]; then
	expect "EICAR appended to OVMF ($(basename "$OVMF"))" "$BASE" "$C/ovmf-eicar.fd" infected "signature Fwgate\.Test\.EICAR" Fwgate.Test.EICAR
else
	skip "EICAR appended to OVMF" "package ovmf not installed"
fi
if [ -n "$SEABIOS" ]; then
	expect "EICAR appended to SeaBIOS bios.bin" "$BASE" "$C/seabios-eicar.bin" infected "signature Fwgate\.Test\.EICAR" Fwgate.Test.EICAR
else
	skip "EICAR appended to SeaBIOS" "package seabios not installed"
fi

# ------------------------------------------------------------- clean

corpus clean-random "$C/clean.zip" 64
expect "clean zip of random data" "$BASE" "$C/clean.zip" clean
jcheck "clean zip: no signatures, members listed at depth 1" \
	'd.get("signatures") == [] and any(m.get("path") == "clean.zip!fw/part0.bin" and m.get("depth") == 1 and m.get("size") == 65536 and m.get("verdict") == "clean" for m in d.get("members", []))'
jcheck "clean zip: members_total >= members_listed >= 4" \
	'd.get("members_total", 0) >= d.get("members_listed", 0) >= 4'
corpus tar-links "$C/inside-link.tar" inside
expect "tar with a symlink inside the archive is clean" "$BASE" "$C/inside-link.tar" clean

fwfiles=()
for f in /usr/share/OVMF/OVMF_CODE.fd /usr/share/OVMF/OVMF_VARS.fd /usr/share/OVMF/OVMF_CODE_4M.secboot.fd \
	/usr/share/ovmf/OVMF.fd /usr/share/seabios/bios.bin /usr/share/seabios/bios-256k.bin /usr/share/seabios/vgabios-stdvga.bin; do
	[ -f "$f" ] && fwfiles+=("$f")
done
if [ "${#fwfiles[@]}" -gt 0 ]; then
	scan "$BASE" "${fwfiles[@]}"
	[ "$RC" = 0 ] && ok "real firmware (${#fwfiles[@]} files): exit 0" || bad "real firmware: exit 0" "exit $RC" "$(head -c 2000 "$T/out")" "$(head -c 400 "$T/err")"
	jcheck "real firmware: one JSON document per file" "len(docs) == ${#fwfiles[@]}"
	for f in "${fwfiles[@]}"; do judge "real firmware $f is clean" "$f" clean; done
	mkdir -p "$C/pkg"
	cp "${fwfiles[@]}" "$C/pkg/"
	(cd "$C/pkg" && sha256sum -- * >SHA256SUMS && tar -czf ../fw-update.tar.gz -- *)
	expect "firmware update package (tar.gz of real images) is clean" "$BASE" "$C/fw-update.tar.gz" clean
	jcheck "real firmware typed firmware_image as files and as members of a package" \
		'all(m["file_type"] == "firmware_image" for m in d["members"] if m["depth"] == 1 and not m["path"].endswith("SHA256SUMS"))'
	jcheck "the modules of the OVMF images are members of their own, typed pe, named by GUID and UI name" \
		'sum(1 for m in d["members"] if m.get("section") == "PE32" and m["file_type"] == "pe" and m.get("guid") and "/" in m["path"].split("!")[-2]) >= 100'
	jcheck "the checksum file of the package is typed as text" \
		'any(m["path"].endswith("SHA256SUMS") and m["mime"].startswith("text/") for m in d["members"])'
else
	skip "real firmware" "packages ovmf and seabios not installed"
fi

# ------------------------------------------------------------- exit codes

scan "$BASE" "$C/nope.bin"
[ "$RC" = 2 ] && ok "missing file: exit 2" || bad "missing file: exit 2" "exit $RC" "$(head -c 400 "$T/err")"
grep -q "nope.bin" "$T/err" && ok "missing file: named on stderr" || bad "missing file: named on stderr" "$(head -c 400 "$T/err")"
scan "$BASE" "$C/clean.zip" "$C/nope.bin"
[ "$RC" = 2 ] && ok "clean + missing file: exit 2" || bad "clean + missing file: exit 2" "exit $RC"
scan "$BASE" "$C/clean.zip" "$C/eicar.zip"
[ "$RC" = 1 ] && ok "clean + infected: exit 1" || bad "clean + infected: exit 1" "exit $RC"
jcheck "clean + infected: two documents in order" \
	'[x.get("verdict") for x in docs] == ["clean", "infected"]'
timeout 20 "$FW" scan -c "$BASE" >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" = 2 ] && ok "no file: exit 2" || bad "no file: exit 2" "exit $RC" "$(cat "$T/err")"
printf '[state]\ndir = %s\n[scanner]\nmax_depth = banana\n' "$T/state" >"$T/badkey.conf"
scan "$T/badkey.conf" "$C/clean.zip"
[ "$RC" = 2 ] && ok "bad config value: exit 2" || bad "bad config value: exit 2" "exit $RC" "$(cat "$T/err")"
printf '[state]\ndir = %s\n[scanner]\nsignatures = %s\n' "$T/state" "$T/no-such-dir" >"$T/badsigs.conf"
scan "$T/badsigs.conf" "$C/clean.zip"
[ "$RC" = 2 ] && ok "missing signatures dir: exit 2" || bad "missing signatures dir: exit 2" "exit $RC" "$(cat "$T/err")"

# Bundled signatures: no signatures key still detects EICAR
printf '[state]\ndir = %s\n' "$T/state" >"$T/bundled.conf"
expect "bundled signatures detect EICAR" "$T/bundled.conf" "$C/eicar.zip" infected "signature Fwgate\.Test\.EICAR" Fwgate.Test.EICAR

# Text mode
timeout "$SCAN_TIMEOUT" "$FW" scan -c "$BASE" "$C/eicar.zip" "$C/clean.zip" >"$T/text" 2>"$T/err"; RC=$?
[ "$RC" = 1 ] && ok "text mode: exit 1" || bad "text mode: exit 1" "exit $RC" "$(cat "$T/text")"
grep -qxF "$C/eicar.zip: infected (signature Fwgate.Test.EICAR in eicar.zip!dir/eicar.com)" "$T/text" ||
	grep -qE "^$C/eicar\.zip: infected \(signature Fwgate\.Test\.EICAR[^ ]* in eicar\.zip!dir/eicar\.com\)$" "$T/text"
[ $? = 0 ] && ok "text mode: infected line with reason" || bad "text mode: infected line with reason" "$(cat "$T/text")"
grep -qE "^  eicar\.zip!dir/eicar\.com: infected Fwgate\.Test\.EICAR" "$T/text" && ok "text mode: member line" || bad "text mode: member line" "$(cat "$T/text")"
# clean, and (the shipped policy sandboxes archives) the members the
# gateway would hold for its sandbox, here the package itself
grep -qxF "$C/clean.zip: clean; 1 member(s) for the sandbox before the gateway approves it:" "$T/text" && ok "text mode: clean line" || bad "text mode: clean line" "$(cat "$T/text")"
grep -qxF "  clean.zip (archive)" "$T/text" && ok "text mode: the sandbox member of a clean file" || bad "text mode: the sandbox member of a clean file" "$(cat "$T/text")"
[ "$(grep -c "^  clean\.zip" "$T/text")" = 1 ] && ok "text mode: no other member lines for a clean file" || bad "text mode: no other member lines for a clean file" "$(cat "$T/text")"

# ------------------------------------------------------------- bombs and limits

corpus bomb "$C/bomb.zip" 20
expect "zip bomb (20 MiB zeros, max_ratio 100)" "$T/ratio.conf" "$C/bomb.zip" unscannable "expansion ratio 1:[0-9]+ exceeds 1:100 at bomb\.zip"
corpus bomb "$C/bz-bomb.zip" 200 bzip2
SECONDS=0
expect "bzip2 zip bomb (200 MiB in 313 bytes, default limits)" "$BASE" "$C/bz-bomb.zip" unscannable "expansion ratio 1:[0-9]+ exceeds 1:1000 at bz-bomb\.zip"
[ "$SECONDS" -le 30 ] && ok "bzip2 zip bomb: refused within 30 s" || bad "bzip2 zip bomb: refused within 30 s" "took $SECONDS s"
corpus nested-bomb "$C/nested-bomb.zip" 10 10
expect "nested zip bomb (zip of 10 zips of 10 MiB zeros, max_ratio 100)" "$T/ratio.conf" "$C/nested-bomb.zip" unscannable "expansion ratio 1:[0-9]+ exceeds 1:100 at nested-bomb\.zip"
corpus layered "$C/layered.tar.gz" 160 50
expect "layered bomb (each level under 1:100, the tree about 1:220)" "$T/ratio.conf" "$C/layered.tar.gz" unscannable "expansion ratio 1:[0-9]+ exceeds 1:100 at layered\.tar\.gz"
expect "layered bomb is clean under the default ratio" "$BASE" "$C/layered.tar.gz" clean
corpus overlap "$C/overlap.zip" 300 10
expect "overlapping-entry zip (300 records on one 10 MiB kernel)" "$BASE" "$C/overlap.zip" "unscannable|suspicious" "expansion ratio|corrupt|overlap|unpacked bytes"

corpus many "$C/many-1001.zip" 1001
expect "1001 members over max_members 1000" "$T/members.conf" "$C/many-1001.zip" unscannable "member count exceeds the limit of 1000 at many-1001\.zip"
corpus many "$C/many-999.zip" 999
expect "999 members under max_members 1000" "$T/members.conf" "$C/many-999.zip" clean
corpus many "$C/many-100001.zip" 100001
SECONDS=0
expect "100 001 empty members, default max_members" "$BASE" "$C/many-100001.zip" unscannable "member count exceeds the limit of 100000 at many-100001\.zip"
[ "$SECONDS" -le 45 ] && ok "100 001 members: answered within 45 s" || bad "100 001 members: answered within 45 s" "took $SECONDS s"
jcheck "100 001 members: members_listed <= members_total" \
	'"members_listed" in d and d["members_listed"] <= d.get("members_total", -1)'

# Depth: a clean 5-level nest against max_depth 3, 18 levels against 16
(cd "$C/w" && cp README.txt l5.txt && zip -q l4.zip l5.txt && zip -q l3.zip l4.zip && zip -q l2.zip l3.zip &&
	zip -q l1.zip l2.zip && zip -q ../deep5.zip l1.zip)
expect "5 levels of zips over max_depth 3" "$T/depth.conf" "$C/deep5.zip" unscannable "nesting depth [0-9]+ exceeds the limit of 3 at deep5\.zip!"
expect "5 levels of zips under the default max_depth" "$BASE" "$C/deep5.zip" clean
(cd "$C/w" && cp README.txt z.txt && prev=z.txt && for i in $(seq 1 18); do zip -q "z$i.zip" "$prev" && prev=z$i.zip; done && cp "$prev" ../deep18.zip)
expect "18 levels of zips over the default max_depth 16" "$BASE" "$C/deep18.zip" unscannable "nesting depth [0-9]+ exceeds the limit of 16 at deep18\.zip!"

# Sizes
(cd "$C/w" && fwdata $((2 * 1024 * 1024)) big.bin && zip -q ../big-member.zip big.bin)
expect "2 MiB member over max_member_bytes 1 MiB" "$T/sizes.conf" "$C/big-member.zip" unscannable "member size exceeds the limit of 1048576 bytes at big-member\.zip"
(cd "$C/w" && for i in 1 2 3 4; do fwdata $((1024 * 1024)) "part$i.bin"; done && zip -q ../total.zip part1.bin part2.bin part3.bin part4.bin)
expect "4 x 1 MiB over max_total_bytes 3 MiB" "$T/total.conf" "$C/total.zip" unscannable "unpacked bytes exceed the limit of 3145728 at total\.zip"

# ------------------------------------------------------------- unsafe names and links

corpus unsafe-names "$C/trav.zip" "../../etc/passwd"
expect "zip member ../../etc/passwd" "$BASE" "$C/trav.zip" suspicious "unsafe member name at trav\.zip!\.\./\.\./etc/passwd: path traversal"
corpus unsafe-names "$C/abs.zip" "/etc/passwd"
expect "zip member /etc/passwd" "$BASE" "$C/abs.zip" suspicious "unsafe member name at abs\.zip!/etc/passwd: absolute path"
corpus unsafe-names "$C/mid.zip" "fw/../../../etc/cron.d/x"
expect "zip member fw/../../../etc/cron.d/x" "$BASE" "$C/mid.zip" suspicious "unsafe member name at mid\.zip!fw/\.\./\.\./\.\./etc/cron\.d/x: path traversal"
corpus tar-unsafe "$C/trav.tar" "../../etc/passwd"
expect "tar member ../../etc/passwd" "$BASE" "$C/trav.tar" suspicious "unsafe member name at trav\.tar!\.\./\.\./etc/passwd: path traversal"
corpus tar-unsafe "$C/abs.tar" "/etc/passwd"
expect "tar member /etc/passwd" "$BASE" "$C/abs.tar" suspicious "unsafe member name at abs\.tar!/etc/passwd: absolute path"
(cd "$C" && tar -czf trav-nested.tar.gz trav.zip)
expect "traversal one level down (tar.gz of the zip)" "$BASE" "$C/trav-nested.tar.gz" suspicious "unsafe member name at trav-nested\.tar\.gz!trav\.zip!\.\./\.\./etc/passwd: path traversal"
for k in symlink symlink-up hardlink hardlink-abs; do
	corpus tar-links "$C/$k.tar" "$k"
	expect "tar $k pointing outside" "$BASE" "$C/$k.tar" suspicious "unsafe link at ${k}\.tar!fw/config"
done

# Unprintable names: escaped, never raw
corpus odd-names "$C/odd.zip"
scan "$BASE" "$C/odd.zip"
[ "$RC" = 0 ] || [ "$RC" = 1 ] && ok "odd names: scanned (exit $RC)" || bad "odd names: scanned" "exit $RC" "$(head -c 400 "$T/err")"
jcheck "odd names: no control characters in any decoded member path" \
	'd.get("members") and all(not re.search(r"[\x00-\x1f\x7f]", m.get("path", "")) for m in d["members"])'
jcheck "odd names: ESC and BEL escaped as \\x1b, \\x07" \
	'any(m.get("path") == "odd.zip!esc\\x1b[31mred\\x07bell.txt" for m in d.get("members", []))'
jcheck "odd names: newline, CR, tab escaped" \
	'any(m.get("path") == "odd.zip!new\\x0aline\\x0dcr\\x09tab.txt" for m in d.get("members", []))'
jcheck "odd names: ! in a name escaped as \\x21" \
	'any(m.get("path") == "odd.zip!bang\\x21not-a-level.txt" for m in d.get("members", []))'
jcheck "odd names: DEL escaped as \\x7f" \
	'any(m.get("path") == "odd.zip!del\\x7f.txt" for m in d.get("members", []))'
jcheck "odd names: Latin-1 byte escaped as \\xe9 (or decoded)" \
	'any(m.get("path") in ("odd.zip!caf\\xe9-latin1.txt", "odd.zip!caf\u00e9-latin1.txt") for m in d.get("members", []))'
jcheck "odd names: 304-byte name cut to at most 255 bytes and ending in ..." \
	'any(m.get("path", "").startswith("odd.zip!LLLL") and m["path"].endswith("...") and len(m["path"].split("!", 1)[1].encode()) <= 258 for m in d.get("members", []))'
timeout "$SCAN_TIMEOUT" "$FW" scan -c "$BASE" "$C/odd.zip" "$C/trav.zip" >"$T/text" 2>"$T/err"
python3 -c '
import re, sys
b = open(sys.argv[1], "rb").read()
sys.exit(1 if not b or re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", b) else 0)' "$T/text" &&
	ok "odd names: no raw control bytes in text output" || bad "odd names: no raw control bytes in text output" "$(od -c "$T/text" | head -20)"

# ------------------------------------------------------------- integrity

(cd "$C/w" && zip -q -P secret ../enc.zip random.bin)
expect "encrypted zip (zip -P)" "$BASE" "$C/enc.zip" unscannable "encrypted member enc\.zip!random\.bin cannot be inspected"
if have 7z; then
	(cd "$C/w" && 7z a -bd -bso0 -bsp0 -psecret ../enc.7z random.bin)
	expect "encrypted 7z" "$BASE" "$C/enc.7z" unscannable "encrypted member enc\.7z"
	(cd "$C/w" && 7z a -bd -bso0 -bsp0 -psecret -mhe=on ../enc-hdr.7z random.bin)
	expect "7z with encrypted headers" "$BASE" "$C/enc-hdr.7z" unscannable "encrypted|corrupt or truncated"
else
	skip "encrypted 7z" "7z missing"
fi
head -c $(($(stat -c %s "$C/clean.zip") / 2)) "$C/clean.zip" >"$C/trunc.zip"
expect "truncated zip (first half)" "$BASE" "$C/trunc.zip" unscannable "corrupt or truncated archive at trunc\.zip"
(cd "$C/w" && tar -czf ../whole.tar.gz random.bin README.txt)
head -c $(($(stat -c %s "$C/whole.tar.gz") / 2)) "$C/whole.tar.gz" >"$C/trunc.tar.gz"
expect "truncated tar.gz (first half)" "$BASE" "$C/trunc.tar.gz" unscannable "corrupt or truncated archive at trunc\.tar\.gz"
corpus bad-crc "$C/badcrc.zip"
expect "zip with a bad CRC (stored member, one byte flipped)" "$BASE" "$C/badcrc.zip" unscannable "corrupt or truncated archive at badcrc\.zip.*CRC"

# ------------------------------------------------------------- ClamAV's samples

if [ -d "$CTF" ]; then
	# Readable by libarchive: detected in the member, under the root
	mkdir -p "$C/ctf"
	cp "$CTF/clam.exe" "$C/ctf/"
	(cd "$C/ctf" && tar -cJf clam.tar.xz clam.exe && tar -cjf clam.tar.bz2 clam.exe)
	have zstd && (cd "$C/ctf" && tar --zstd -cf clam.tar.zst clam.exe)
	have xorriso && xorriso -as mkisofs -quiet -R -J -o "$C/ctf/clam.iso" "$C/ctf/clam.exe" 2>/dev/null
	readable=()
	for f in clam.zip clam.7z clam.tar.gz clam.cab clam.bin-be.cpio clam.bin-le.cpio clam.newc.cpio clam.odc.cpio \
		clam.bz2.zip clam_cache_emax.tgz; do
		[ -f "$CTF/$f" ] && readable+=("$CTF/$f")
	done
	for f in clam.tar.xz clam.tar.bz2 clam.tar.zst clam.iso; do [ -f "$C/ctf/$f" ] && readable+=("$C/ctf/$f"); done
	SCAN_TIMEOUT=120 scan "$BASE" "${readable[@]}"
	[ "$RC" = 1 ] && ok "clamav-testfiles, archives: exit 1" || bad "clamav-testfiles, archives: exit 1" "exit $RC" "$(head -c 400 "$T/err")"
	for f in "${readable[@]}"; do
		b=$(basename "$f")
		judge "clamav-testfiles $b detected in a member" "$f" infected "signature Fwgate\.Test\.ClamAVTestFile" Fwgate.Test.ClamAVTestFile "~${b//./\\.}!.*"
	done
	expect "clamav-testfiles clam.exe" "$BASE" "$CTF/clam.exe" infected "signature Fwgate\.Test\.ClamAVTestFile[^ ]* in clam\.exe" Fwgate.Test.ClamAVTestFile clam.exe
	jcheck "clamav-testfiles clam.exe: file_type pe" 'd.get("file_type") == "pe"'

	# Packed or wrapped PEs that libclamav unpacks itself
	others=()
	for f in clam-aspack.exe clam-fsg.exe clam-mew.exe clam-nsis.exe clam-pespin.exe clam-petite.exe clam-upack.exe \
		clam-upx.exe clam-wwpack.exe clam-yc.exe clam.ea05.exe clam.ea06.exe clam_IScab_ext.exe clam_IScab_int.exe \
		clam_ISmsi_ext.exe clam_ISmsi_int.exe; do
		[ -f "$CTF/$f" ] && others+=("$CTF/$f")
	done
	SCAN_TIMEOUT=120 scan "$BASE" "${others[@]}"
	[ "$RC" = 1 ] && ok "clamav-testfiles, packed PEs: exit 1" || bad "clamav-testfiles, packed PEs: exit 1" "exit $RC" "$(head -c 400 "$T/err")"
	for f in "${others[@]}"; do
		judge "clamav-testfiles $(basename "$f") (packed PE) detected" "$f" infected "signature Fwgate\.Test\.ClamAVTestFile" Fwgate.Test.ClamAVTestFile
	done

	# Zip methods libarchive does not implement (deflate64, implode): not clean
	for f in clam.d64.zip clam.impl.zip; do
		[ -f "$CTF/$f" ] && expect "clamav-testfiles $f (method libarchive lacks) is not clean" "$BASE" "$CTF/$f" "infected|unscannable"
	done

	# Formats only libclamav reads (arj, chm, OLE2, PDF, RTF, HTML, mail,
	# BinHex, SZDD, SIS, TNEF, bzip2): detected as clamscan detects them
	only=()
	for f in clam.arj clam.chm clam.ole.doc clam.ppt clam.pdf clam.exe.rtf clam.exe.html clam.mail clam.exe.mbox.base64 \
		clam.exe.mbox.uu clam.exe.binhex clam.exe.szdd clam.sis clam.tnef clam.exe.bz2; do
		[ -f "$CTF/$f" ] && only+=("$CTF/$f")
	done
	SCAN_TIMEOUT=120 scan "$BASE" "${only[@]}"
	for f in "${only[@]}"; do
		judge "clamav-testfiles $(basename "$f") (libclamav's own parser) detected" "$f" infected "signature Fwgate\.Test\.ClamAVTestFile" Fwgate.Test.ClamAVTestFile
	done
else
	skip "clamav-testfiles" "package clamav-testfiles not installed"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
