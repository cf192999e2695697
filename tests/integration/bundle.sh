#!/usr/bin/env bash
# Integration tests of signed offline bundles: site A vets downloads
# through the real gateway (`fwgate run`, real curl, the real TLS origin),
# signs a bundle of them (fwgate mirror keygen, export); site B, which
# trusts A's key and has one more signature (EICAR), verifies and imports
# it: the images clean there are approved and served by B's gateway with
# the origin gone, the one B's signatures detect is quarantined and not
# served, the provenance is in B's audit chain. Every tampering (a flipped
# byte, a changed manifest, an unknown key, a revoked key, a missing blob,
# an extra file, a replayed bundle) is refused with exit 1 and leaves B's
# store exactly as it was.
# Usage: bundle.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-bundle-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] && { echo "kept $T"; return; }
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# fetch GW_PORT CA URL: sets CODE; the body in $T/body
fetch() {
	CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 30 --proxy "http://127.0.0.1:$1" --cacert "$2" "$3")
}

# make_conf FILE STATE PORT CONSOLE_PORT SIGS EXTRA...
make_conf() {
	local f=$1 s=$2 p=$3 c=$4 sigs=$5
	shift 5
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$p" "$c"
		printf '[state]\ndir = %s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$s" "$T" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\n' "$T"
		printf 'resolve = vendor.test:%s:127.0.0.1\n' "$OP"
		printf '[scanner]\nsignatures = %s\ntimeout_seconds = 60\nmax_seconds = 30\n' "$sigs"
		printf '[log]\nfile = %s/events-%s.log\n' "$T" "$(basename "$s")"
		printf '%s\n' "$@"
	} >"$f"
}

# What B's store holds, to compare before and after a refused import:
# its audit chain, every object and every blob file.
store_state() {
	{
		"$FW" audit list --json -c "$CB"
		for st in approved quarantined released rejected pending; do
			"$FW" quarantine list --state "$st" --json -c "$CB"
		done
		find "$SB/objects" "$SB/quarantine" -type f | sort
		ls -A "$SB/spool" 2>/dev/null
	} 2>&1 | sha256sum
}

# refused NAME DIR WHY: verify and import of DIR exit 1 saying WHY, and
# B's store is untouched
refused() {
	local name=$1 dir=$2 why=$3 before rc
	before=$(store_state)
	"$FW" mirror verify "$dir" -c "$CB" >"$T/v.out" 2>"$T/v.err"
	rc=$?
	check "$name: verify exits 1" [ "$rc" = 1 ]
	check "$name: verify says why ($why)" grep -qE -- "$why" "$T/v.err"
	"$FW" mirror import "$dir" -c "$CB" >"$T/i.out" 2>"$T/i.err"
	rc=$?
	check "$name: import exits 1" [ "$rc" = 1 ]
	check "$name: import says why and that nothing was imported" grep -qE -- "$why.*nothing imported" "$T/i.err"
	check "$name: B's store untouched" [ "$(store_state)" = "$before" ]
}

# copy NAME: a fresh copy of bundle 1 to tamper with
copy() { rm -rf "$T/$1"; cp -a "$T/b1" "$T/$1"; }

# state_of CONF URL: the state of the object of URL (any state)
state_of() {
	for st in approved quarantined released rejected pending; do
		"$FW" quarantine list --state "$st" --json -c "$1"
	done 2>/dev/null | python3 -c '
import json, sys
dec = json.JSONDecoder(); text = sys.stdin.read(); i = 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    arr, i = dec.raw_decode(text, i)
    for o in arr:
        if o.get("url") == sys.argv[1]: print(o["state"], o["verdict"], o["id"])
' "$2"
}

# --- the origin, its files and the two sites' signatures
mkdir -p "$T/www" "$T/sigsA" "$T/sigsB" "$T/trusted"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
# A knows a signature nothing here contains; B knows EICAR too.
printf 'Fwgate.Test.Nothing:0:*:%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/sigsA/none.ndb"
cp "$T/sigsA/none.ndb" "$SRC/tests/data/signatures/eicar.ndb" "$T/sigsB/"
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
fwdata $((300 * 1024 + 3)) "$T/www/fw1.bin"
fwdata $((200 * 1024 + 7)) "$T/www/fw2.bin"
fwdata 4096 "$T/m1"; fwdata 4096 "$T/m2"
{ cat "$T/m1"; printf "%s" "$EICAR"; cat "$T/m2"; } >"$T/www/marked.bin"
printf '%s' "$EICAR" >"$T/www/eicar.com"
# A real PE (an NSIS plug-in DLL): the policy sandboxes pe, so each site's
# local analyzer judges it.
PE=/usr/share/nsis/Plugins/x86-ansi/UserInfo.dll
[ -r "$PE" ] || { echo "missing $PE (tools/dev.sh installs nsis-common)"; exit 1; }
cp "$PE" "$T/www/plugin.dll"
# A truncated archive: unscannable, quarantined at A (never exported).
fwdata 100000 "$T/part.bin"
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], "w"); z.write(sys.argv[2], "part.bin"); z.close()' \
	"$T/whole.zip" "$T/part.bin"
head -c 50000 "$T/whole.zip" >"$T/www/trunc.zip"
start_origin origin
OP=$ORIGIN_PORT
BASE="https://vendor.test:$OP/files"
make_card "$T/card.json" "$OP"
printf '# test allow-list\nvendor.test\n' >"$T/allow.txt"
: >"$T/revoked.txt"

SA=$T/siteA
CA_CONF=$T/a.conf
PA=$(free_port)
make_conf "$CA_CONF" "$SA" "$PA" "$(free_port)" "$T/sigsA" '[mirror]' 'site_id = siteA' \
	'[sandbox]' 'hold_seconds = 60'
SB=$T/siteB
CB=$T/b.conf
PB=$(free_port)
make_conf "$CB" "$SB" "$PB" "$(free_port)" "$T/sigsB" '[mirror]' 'site_id = siteB' \
	"trusted_keys = $T/trusted" "revoked_keys = $T/revoked.txt"
# B with a sandbox backend that cannot judge during an import.
CB2=$T/b2.conf
cp "$CB" "$CB2"
printf '[sandbox]\nbackend = cape\nurl = http://127.0.0.1:9/\n' >>"$CB2"
# B taking no image over 100 kB.
CB3=$T/b3.conf
cp "$CB" "$CB3"
printf '[upstream]\nmax_body_bytes = 100K\n' >>"$CB3"

# --- site A vets five downloads: four clean there (A's signatures do not
# know EICAR; its sandbox judged the PE benign), one unscannable
start_fwgate A "$CA_CONF"
FWA=$FWPID
for f in fw1.bin fw2.bin marked.bin plugin.dll; do
	fetch "$PA" "$SA/ca/ca.crt" "$BASE/$f"
	check "site A: $f delivered (clean there)" [ "$CODE" = 200 ]
done
fetch "$PA" "$SA/ca/ca.crt" "$BASE/trunc.zip"
check "site A: trunc.zip blocked" [ "$CODE" = 403 ]
kill -TERM "$FWA"
wait_for "gateway A to stop" 10 0.05 exited "$FWA"
QID=$(state_of "$CA_CONF" "$BASE/trunc.zip" | cut -d' ' -f3)
AID=$(state_of "$CA_CONF" "$BASE/fw1.bin" | cut -d' ' -f3)

# --- keys and export
"$FW" mirror export "$T/nokey" -c "$CA_CONF" >/dev/null 2>"$T/err"
check "export without a key: exit 2" [ $? = 2 ]
check "export without a key: says keygen" grep -q "keygen" "$T/err"
check "export without a key: nothing written" not test -e "$T/nokey/manifest.json"
"$FW" mirror keygen -c "$CA_CONF" >"$T/keygen.out" 2>"$T/err"
check "keygen: exit 0" [ $? = 0 ]
check "keygen: the key is 0600" [ "$(stat -c %a "$SA/mirror/signing.key")" = 600 ]
sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' "$T/keygen.out" >"$T/trusted/siteA.pem"
FPR=$(sed -n 's/^SHA-256 fingerprint: //p' "$T/keygen.out")
check "keygen: prints the public key and its fingerprint" \
	[ "$(openssl pkey -pubin -in "$T/trusted/siteA.pem" -outform DER | sha256sum | cut -d' ' -f1)" = "$FPR" ]
cp "$SA/mirror/signing.key" "$T/key.before"
"$FW" mirror keygen -c "$CA_CONF" >/dev/null 2>"$T/err"
check "keygen again: exit 2, the key never replaced" [ $? = 2 ]
check "keygen again: the same key" cmp -s "$SA/mirror/signing.key" "$T/key.before"
"$FW" mirror export "$T/q" --object "$QID" -c "$CA_CONF" >/dev/null 2>"$T/err"
check "export of a quarantined object: exit 2" [ $? = 2 ]
check "export of a quarantined object: refused by id" grep -q "object $QID is quarantined" "$T/err"
mkdir "$T/full" && touch "$T/full/x"
"$FW" mirror export "$T/full" -c "$CA_CONF" >/dev/null 2>"$T/err"
check "export into a non-empty directory: exit 2" [ $? = 2 ]
"$FW" mirror export "$T/b1" -c "$CA_CONF" >"$T/out" 2>"$T/err"
check "export: exit 0" [ $? = 0 ]
check "export: four objects" grep -q "exported 4 object" "$T/out"
for f in fw1.bin fw2.bin marked.bin plugin.dll; do
	check "export: blobs/<sha256> of $f byte for byte" cmp -s "$T/b1/blobs/$(sha_of "$T/www/$f")" "$T/www/$f"
done
check "export: the quarantined trunc.zip is not in it" not test -e "$T/b1/blobs/$(sha_of "$T/www/trunc.zip")"
check "export: the signature is Ed25519 over the manifest's bytes" \
	openssl pkeyutl -verify -pubin -inkey "$T/trusted/siteA.pem" -rawin -in "$T/b1/manifest.json" \
	-sigfile "$T/b1/manifest.sig" -out /dev/null
check "export: audited mirror-export with the count" \
	bash -c "'$FW' audit list -c '$CA_CONF' | grep -q 'mirror-export.*4 object'"
"$FW" mirror export "$T/b0" --object "$AID" -c "$CA_CONF" >/dev/null 2>&1
check "export of one object by id: exit 0, one blob" [ "$(ls "$T/b0/blobs" | wc -l)" = 1 ]
"$FW" mirror verify "$T/b1" -c "$CB" >"$T/out" 2>&1
check "verify at B: exit 0" [ $? = 0 ]

# --- every tampering is refused, and B's store stays as it was
mkdir -p "$SB"
"$FW" audit list -c "$CB" >/dev/null 2>&1
copy flip
F1=$T/flip/blobs/$(sha_of "$T/www/fw1.bin")
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[1000]^=1; open(p,"wb").write(b)' "$F1"
refused "a flipped byte in a blob" "$T/flip" "hash to"
copy manifest
sed -i 's/"approved_by": "fwgate"/"approved_by": "fwgatf"/' "$T/manifest/manifest.json"
refused "a changed manifest" "$T/manifest" "no trusted key"
copy unknown
openssl genpkey -algorithm ed25519 -out "$T/other.key" 2>/dev/null
openssl pkeyutl -sign -rawin -inkey "$T/other.key" -in "$T/unknown/manifest.json" -out "$T/unknown/manifest.sig"
refused "an unknown key" "$T/unknown" "no trusted key"
echo "$FPR" >"$T/revoked.txt"
refused "a revoked key" "$T/b1" "revoked"
: >"$T/revoked.txt"
copy missing
rm "$T/missing/blobs/$(sha_of "$T/www/fw2.bin")"
refused "a missing blob" "$T/missing" "missing"
copy extra
touch "$T/extra/README"
refused "an extra file" "$T/extra" "does not list"
copy extrablob
cp "$T/www/eicar.com" "$T/extrablob/blobs/$(sha_of "$T/www/eicar.com")"
refused "an extra blob" "$T/extrablob" "does not list"
copy link
B2=$T/link/blobs/$(sha_of "$T/www/fw2.bin")
mv "$B2" "$T/fw2.elsewhere" && ln -s "$T/fw2.elsewhere" "$B2"
refused "a blob that is a symbolic link" "$T/link" "link"

# --- a failure in the rescan (a member the sandbox must judge, a backend
# that cannot during an import) leaves B's store as it was
before=$(store_state)
"$FW" mirror import "$T/b1" -c "$CB2" >/dev/null 2>"$T/err"
rc=$?
check "import with the cape backend: exit 2" [ "$rc" = 2 ]
check "import with the cape backend: says why" grep -q "cannot judge them during an import.*nothing imported" "$T/err"
check "import with the cape backend: B's store untouched" [ "$(store_state)" = "$before" ]
"$FW" mirror import "$T/b1" -c "$CB3" >/dev/null 2>"$T/err"
rc=$?
check "an image over [upstream] max_body_bytes: exit 1" [ "$rc" = 1 ]
check "an image over [upstream] max_body_bytes: says why" grep -q "over \[upstream\] max_body_bytes.*nothing imported" "$T/err"
check "an image over [upstream] max_body_bytes: B's store untouched" [ "$(store_state)" = "$before" ]

# --- the import: clean here is approved and served; detected here is held
"$FW" mirror import "$T/b1" -c "$CB" >"$T/out" 2>"$T/err"
check "import: exit 0" [ $? = 0 ]
check "import: 3 servable, 1 held back" grep -q "4 object(s), 3 servable, 1 held back" "$T/out"
for f in fw1.bin fw2.bin plugin.dll; do
	check "import: $f approved at B" [ "$(state_of "$CB" "$BASE/$f" | cut -d' ' -f1)" = approved ]
done
check "import: the signature named with the member" grep -q "quarantined (infected: signature Fwgate.Test.EICAR.UNOFFICIAL in marked.bin)" "$T/out"
check "import: marked.bin quarantined as infected at B" \
	[ "$(state_of "$CB" "$BASE/marked.bin" | cut -d' ' -f1-2)" = "quarantined infected" ]
check "import: the infected one's blob is in quarantine/, not objects/" \
	bash -c "[ -z \"\$(find '$SB/objects' -name '$(sha_of "$T/www/marked.bin")')\" ] && [ -n \"\$(find '$SB/quarantine' -name '$(sha_of "$T/www/marked.bin")')\" ]"
"$FW" audit list -c "$CB" >"$T/audit"
check "import: provenance in the audit chain (site, key)" grep -q "mirror-import.*siteA.*$FPR" "$T/audit"
check "import: four object rows and the bundle's row" [ "$(grep -c 'mirror-import' "$T/audit")" = 5 ]
check "import: the chain is intact" bash -c "'$FW' audit verify -c '$CB' >/dev/null"
MID=$(state_of "$CB" "$BASE/marked.bin" | cut -d' ' -f3)
"$FW" quarantine show "$MID" --json -c "$CB" >"$T/show.json"
check "import: show has the bundle's provenance in the scan" grep -q '"approved_by"' "$T/show.json"
PID_=$(state_of "$CB" "$BASE/plugin.dll" | cut -d' ' -f3)
"$FW" quarantine show "$PID_" --json -c "$CB" >"$T/show.json"
check "import: B's local analyzer judged the PE" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sb = d["scans"][-1]["doc"]["import"]["sandbox_local"]
assert sb and all(m.get("verdict") == "benign" for m in sb), sb
' "$T/show.json"

# A site D whose sandbox thresholds hold the PE (score 10: unsigned) as
# suspicious: its local analyzer decides at import, and the PE is held.
SD=$T/siteD
CD=$T/d.conf
make_conf "$CD" "$SD" "$(free_port)" "$(free_port)" "$T/sigsB" '[mirror]' 'site_id = siteD' \
	"trusted_keys = $T/trusted" '[sandbox]' 'suspicious_score = 10' 'malicious_score = 90'
"$FW" mirror import "$T/b1" -c "$CD" >"$T/out" 2>"$T/err"
check "import at D: exit 0" [ $? = 0 ]
check "import at D: the PE quarantined as suspicious by D's local analyzer" \
	[ "$(state_of "$CD" "$BASE/plugin.dll" | cut -d' ' -f1-2)" = "quarantined suspicious" ]
check "import at D: the reason names the sandbox at import and the member" \
	grep -q "quarantined (suspicious: sandbox (local, at import): plugin.dll judged suspicious)" "$T/out"
check "import at D: fw1.bin approved" [ "$(state_of "$CD" "$BASE/fw1.bin" | cut -d' ' -f1)" = approved ]

# B's gateway serves the approved images with the origin gone.
kill "${pids[0]}" 2>/dev/null
start_fwgate B "$CB"
FWB=$FWPID
for f in fw1.bin fw2.bin; do
	fetch "$PB" "$SB/ca/ca.crt" "$BASE/$f"
	check "B serves $f from the store (origin down)" [ "$CODE" = 200 ]
	check "B serves $f byte-identical" cmp -s "$T/body" "$T/www/$f"
done
fetch "$PB" "$SB/ca/ca.crt" "$BASE/marked.bin"
check "B does not serve marked.bin" [ "$CODE" = 403 ]
kill -TERM "$FWB"
wait_for "gateway B to stop" 10 0.05 exited "$FWB"

# --- replay: the same bundle, and an older one after a newer
before=$(store_state)
"$FW" mirror import "$T/b1" -c "$CB" >/dev/null 2>"$T/err"
check "the same bundle again: exit 1" [ $? = 1 ]
check "the same bundle again: a replay" grep -q "not newer" "$T/err"
check "the same bundle again: store untouched" [ "$(store_state)" = "$before" ]
"$FW" mirror export "$T/b2" -c "$CA_CONF" >/dev/null 2>&1
"$FW" mirror import "$T/b2" -c "$CB" >"$T/out" 2>"$T/err"
check "a newer bundle: exit 0" [ $? = 0 ]
before=$(store_state)
"$FW" mirror import "$T/b0" -c "$CB" >/dev/null 2>"$T/err"
rc=$?
check "an older bundle after a newer: exit 1" [ "$rc" = 1 ]
check "an older bundle after a newer: a replay" grep -q "not newer" "$T/err"
check "an older bundle: store untouched" [ "$(store_state)" = "$before" ]

echo "1..$((pass + fail))"
echo "# $pass passed, $fail failed"
[ "$fail" = 0 ]
