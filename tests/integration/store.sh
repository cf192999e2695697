#!/usr/bin/env bash
# Integration tests of the vetted store through the real gateway
# (`fwgate run`), real curl and the real TLS origin (origin.py): answers
# from the store (headers, ranges, HEAD, 304), content stored once,
# revalidation with the vendor (unchanged, changed, changed to malware),
# one fetch for many concurrent clients, quarantine review and the audit
# chain through the CLI, integrity checks, a gateway killed in the middle
# of a download, and a state directory that runs out of space.
# Upstream requests are counted in the origin's log.
# Usage: store.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-store-XXXXXX")
pids=()
TINY_MOUNTED=
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "$TINY_MOUNTED" ]; then
		umount "$T/tiny" 2>/dev/null || umount -l "$T/tiny" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }

# upstream PATH: how many requests for exactly PATH (query included)
# reached the origin.
upstream() { awk -v p="$1" '$2 == "request" && $6 == p' "$T/origin.log" | wc -l; }

# The gateway the next fetches go through: use_gw PORT CA
use_gw() { GP=$1 GCA=$2; }

# fetch URL [curl args]: sets CODE and GOT (the body bytes curl read);
# body in $T/body (absent when none), headers in $T/headers
fetch() {
	local url=$1 out; shift
	rm -f "$T/body" "$T/headers"
	out=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code} %{size_download}' --max-time 30 \
		--proxy "http://127.0.0.1:$GP" --cacert "$GCA" "$@" "$url")
	CODE=${out% *} GOT=${out#* }
	touch "$T/body" "$T/headers"
}

# hdr NAME: the value of the response field NAME (the last one: the
# CONNECT response's fields come first), without CR
hdr() { sed -n "s/^$1:[[:space:]]*//Ip" "$T/headers" | tr -d '\r' | tail -n 1; }

# raw METHOD PATH [FIELD]: one request through the tunnel of the current
# gateway by hand; prints the status code and how many bytes followed the
# response head within a second (the connection is kept open, so a body
# sent after a HEAD or a 304 shows up here, where curl would ignore it).
raw() {
	timeout 20 python3 - "$GP" "$GCA" "$OP" "$@" <<'PY'
import socket, ssl, sys
port, ca, oport, method, path = sys.argv[1:6]
extra = "".join(f + "\r\n" for f in sys.argv[6:])
s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
s.sendall(("CONNECT vendor.test:%s HTTP/1.1\r\nHost: vendor.test:%s\r\n\r\n" % (oport, oport)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    b = s.recv(4096)
    if not b: sys.exit("tunnel closed")
    buf += b
t = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="vendor.test")
t.sendall(("%s %s HTTP/1.1\r\nHost: vendor.test:%s\r\n%s\r\n" % (method, path, oport, extra)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    b = t.recv(65536)
    if not b: sys.exit("closed before the response head")
    buf += b
head, rest = buf.split(b"\r\n\r\n", 1)
n = len(rest)
t.settimeout(1.0)
try:
    while True:
        b = t.recv(65536)
        if not b: break
        n += len(b)
except (socket.timeout, TimeoutError):
    pass
print(head.split(b" ")[1].decode(), n)
PY
}

# The size of the body curl received (curl -I writes the head to -o).
body_size() { echo "$GOT"; }

# make_conf FILE STATE_DIR PORT CONSOLE_PORT REVALIDATE EVENTS
make_conf() {
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\n' "$3"
		printf '[console]\nlisten = 127.0.0.1:%s\n' "$4"
		printf '[state]\ndir = %s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$2" "$T" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\n' "$T"
		printf 'resolve = vendor.test:%s:127.0.0.1\n' "$OP"
		printf '[scanner]\nsignatures = %s/sigs\ntimeout_seconds = 60\nmax_seconds = 30\n' "$T"
		printf '[cache]\nrevalidate_after_seconds = %s\n' "$5"
		printf '[log]\nfile = %s\n' "$6"
	} >"$1"
}

# qid URL: the id of the quarantined object of URL in `quarantine list --json`
qid() {
	"$FW" quarantine list --json -c "$CONF" 2>"$T/qlist.err" | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    if o.get("url") == sys.argv[1]:
        print(o["id"]); break
' "$1"
}

# --- the origin and its files
mkdir -p "$T/www" "$T/sigs"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
fwdata $((1024 * 1024 + 77)) "$T/www/fw.bin"
cp "$T/www/fw.bin" "$T/www/copy.bin"
fwdata $((256 * 1024 + 5)) "$T/www/reval.bin"
fwdata $((16 * 1024 * 1024)) "$T/www/flight.bin"
fwdata $((64 * 1024 * 1024)) "$T/www/crash.bin"
fwdata $((12 * 1024 * 1024)) "$T/www/huge.bin"
printf 'small firmware\n' >"$T/www/small.bin"
printf '%s' "$EICAR" >"$T/www/eicar.com"
fwdata 200000 "$T/www/part1.bin"
fwdata 200000 "$T/www/part2.bin"
(cd "$T/www" && zip -q eicar.zip eicar.com && zip -q -0 real.zip part1.bin part2.bin small.bin) \
	|| { echo "zip failed"; exit 1; }
head -c $(($(size_of "$T/www/real.zip") / 2)) "$T/www/real.zip" >"$T/www/trunc.zip"

start_origin origin
OP=$ORIGIN_PORT
BASE="https://vendor.test:$OP/files"

make_card "$T/card.json" "$OP"
printf '# test allow-list\nvendor.test\n' >"$T/allow.txt"

# Gateway A: the default revalidation period (a day); gateway B: 2 s.
S=$T/state
EV=$T/events.log
CONF=$T/fwgate.conf
PA=$(free_port)
PAC=$(free_port)
make_conf "$CONF" "$S" "$PA" "$PAC" 86400 "$EV"
start_fwgate fwA "$CONF"
FWA=$FWPID
CA=$S/ca/ca.crt
S2=$T/state2
EV2=$T/events2.log
CONF2=$T/fwgate2.conf
PB=$(free_port)
PBC=$(free_port)
make_conf "$CONF2" "$S2" "$PB" "$PBC" 2 "$EV2"
start_fwgate fwB "$CONF2"
FWB=$FWPID
CA2=$S2/ca/ca.crt
use_gw "$PA" "$CA"

# --- a clean download is stored; the second GET comes from the store
FWSHA=$(sha_of "$T/www/fw.bin")
FWSIZE=$(size_of "$T/www/fw.bin")
fetch "$BASE/fw.bin"
check "first download: 200" [ "$CODE" = 200 ]
check "first download: byte-identical" cmp -s "$T/body" "$T/www/fw.bin"
check "first download: spool empty after delivery" spool_empty "$S"
fetch "$BASE/fw.bin"
check "second GET: 200" [ "$CODE" = 200 ]
check "second GET: byte-identical" cmp -s "$T/body" "$T/www/fw.bin"
check "second GET: one upstream request in all" [ "$(upstream /files/fw.bin)" = 1 ]
check "second GET: X-Fwgate-Cache: hit" [ "$(hdr X-Fwgate-Cache)" = hit ]
check "second GET: ETag is the quoted SHA-256" [ "$(hdr ETag)" = "\"$FWSHA\"" ]
check "second GET: X-Fwgate-SHA256" [ "$(hdr X-Fwgate-SHA256)" = "$FWSHA" ]
check "second GET: Accept-Ranges: bytes" [ "$(hdr Accept-Ranges)" = bytes ]
check "second GET: the vendor's Content-Disposition kept" [ "$(hdr Content-Disposition)" = 'attachment; filename="fw.bin"' ]
check "second GET: the vendor's Content-Type kept" [ "$(hdr Content-Type)" = application/octet-stream ]
check "second GET: the vendor's Last-Modified kept" \
	[ "$(hdr Last-Modified)" = "$(python3 -c 'import email.utils, os, sys; print(email.utils.formatdate(os.stat(sys.argv[1]).st_mtime, usegmt=True))' "$T/www/fw.bin")" ]
check "second GET: one Content-Type only" [ "$(grep -ci '^Content-Type:' "$T/headers")" = 1 ]

# --- ranges, conditional and HEAD requests answered from the store
head -c 100 "$T/www/fw.bin" >"$T/first100"
tail -c 10 "$T/www/fw.bin" >"$T/last10"
fetch "$BASE/fw.bin" -r 0-99
check "range 0-99: 206" [ "$CODE" = 206 ]
check "range 0-99: Content-Range" [ "$(hdr Content-Range)" = "bytes 0-99/$FWSIZE" ]
check "range 0-99: exactly the first 100 bytes" cmp -s "$T/body" "$T/first100"
fetch "$BASE/fw.bin" -r -10
check "suffix range -10: 206" [ "$CODE" = 206 ]
check "suffix range -10: Content-Range" [ "$(hdr Content-Range)" = "bytes $((FWSIZE - 10))-$((FWSIZE - 1))/$FWSIZE" ]
check "suffix range -10: exactly the last 10 bytes" cmp -s "$T/body" "$T/last10"
fetch "$BASE/fw.bin" -r "$((FWSIZE + 10))-$((FWSIZE + 20))"
check "range past the end: 416" [ "$CODE" = 416 ]
check "range past the end: Content-Range bytes */SIZE" [ "$(hdr Content-Range)" = "bytes */$FWSIZE" ]
fetch "$BASE/fw.bin" -r 0-1,5-6
check "two ranges: 200" [ "$CODE" = 200 ]
check "two ranges: the whole body" cmp -s "$T/body" "$T/www/fw.bin"
fetch "$BASE/fw.bin" -H "If-None-Match: \"$FWSHA\""
check "If-None-Match with the SHA-256: 304" [ "$CODE" = 304 ]
check "304: no body" [ "$(body_size)" = 0 ]
check "304: nothing follows its head on the connection" [ "$(raw GET /files/fw.bin "If-None-Match: \"$FWSHA\"")" = "304 0" ]
fetch "$BASE/fw.bin" -I
check "HEAD of a stored URL: 200" [ "$CODE" = 200 ]
check "HEAD of a stored URL: Content-Length is the size" [ "$(hdr Content-Length)" = "$FWSIZE" ]
check "HEAD of a stored URL: no body" [ "$(body_size)" = 0 ]
check "HEAD of a stored URL: nothing follows its head on the connection" [ "$(raw HEAD /files/fw.bin)" = "200 0" ]
check "GET by hand: the whole body follows (the check above can see a body)" [ "$(raw GET /files/fw.bin)" = "200 $FWSIZE" ]
check "ranges, 304 and HEAD: still one upstream request" [ "$(upstream /files/fw.bin)" = 1 ]

# --- the same content under two URLs is stored once
fetch "$BASE/copy.bin"
check "same bytes under another URL: 200, byte-identical" cmp -s "$T/body" "$T/www/copy.bin"
check "another URL: fetched from the origin" [ "$(upstream /files/copy.bin)" = 1 ]
n=$(find "$S/objects" -type f -name "$FWSHA" | wc -l)
check "same content under two URLs: one blob" [ "$n" = 1 ]
n=$(find "$S/objects" -type f | wc -l)
check "same content under two URLs: one file in objects/ in all" [ "$n" = 1 ]
BLOB=$S/objects/${FWSHA:0:2}/$FWSHA
check "the blob is objects/<first two hex>/<sha256>" test -f "$BLOB"
check "the blob is 0600" [ "$(stat -c %a "$BLOB" 2>&1)" = 600 ]

# --- one fetch for eight concurrent clients
FLSHA=$(sha_of "$T/www/flight.bin")
cpids=()
for i in 1 2 3 4 5 6 7 8; do
	curl -s -o "$T/flight.$i" -w '%{http_code}\n' --max-time 60 --proxy "http://127.0.0.1:$PA" --cacert "$CA" \
		"$BASE/flight.bin" >"$T/flight.$i.code" &
	cpids+=($!)
done
wait "${cpids[@]}"
codes=$(cat "$T"/flight.?.code | tr '\n' ' ')
check "8 concurrent clients: all 200" [ "$codes" = "200 200 200 200 200 200 200 200 " ]
same=0
for i in 1 2 3 4 5 6 7 8; do [ "$(sha_of "$T/flight.$i")" = "$FLSHA" ] && same=$((same + 1)); done
check "8 concurrent clients: identical bytes, the file's" [ "$same" = 8 ]
check "8 concurrent clients: one upstream request" [ "$(upstream /files/flight.bin)" = 1 ]
rm -f "$T"/flight.?

# --- quarantine review: release of an infected download (override)
ZSHA=$(sha_of "$T/www/eicar.zip")
fetch "$BASE/eicar.zip"
check "infected zip: 403" [ "$CODE" = 403 ]
check "infected zip: the page names the signature" grep -q "Fwgate.Test.EICAR" "$T/body"
ID=$(qid "$BASE/eicar.zip")
check "quarantine list --json lists the infected zip" [ -n "$ID" ]
ID=${ID:-0}
"$FW" quarantine show "$ID" --json -c "$CONF" >"$T/show.out" 2>&1
rc=$?
check "quarantine show --json: exit 0" [ "$rc" = 0 ]
check "quarantine show --json: JSON naming the signature" python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
assert "Fwgate.Test.EICAR" in json.dumps(doc)
' "$T/show.out"
"$FW" quarantine show "$ID" -c "$CONF" >"$T/show.txt" 2>&1
rc=$?
check "quarantine show for people: exit 0" [ "$rc" = 0 ]
check "quarantine show for people: state, verdict, hash" grep -q "^object $ID: quarantined, verdict infected" "$T/show.txt"
check "quarantine show for people: the object's SHA-256" grep -q "sha256 *$ZSHA" "$T/show.txt"
check "quarantine show for people: the member and its signature" grep -q "signature: Fwgate.Test.EICAR" "$T/show.txt"
check "quarantine show for people: the URL" grep -q "$BASE/eicar.zip" "$T/show.txt"
check "quarantine show for people: not JSON" not grep -q '^{' "$T/show.txt"
"$FW" quarantine release "$ID" --reason "x" -c "$CONF" >"$T/rel.out" 2>&1
rc=$?
check "release of an infected object without override: exit 2" [ "$rc" = 2 ]
check "release without override: says it needs --override-infected" grep -q -- "--override-infected" "$T/rel.out"
fetch "$BASE/eicar.zip"
check "not released yet: still 403" [ "$CODE" = 403 ]
# Four eyes (the default): alice's release is a request, bob confirms it.
"$FW" quarantine release "$ID" --reason "vendor confirmed test file" --override-infected --as alice -c "$CONF" \
	>"$T/rel.out" 2>&1
rc=$?
check "release --override-infected --as alice: exit 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || cat "$T/rel.out"
check "release --as alice: a request a second reviewer must confirm" grep -q "a second reviewer must confirm" "$T/rel.out"
fetch "$BASE/eicar.zip"
check "requested, not released: still 403" [ "$CODE" = 403 ]
"$FW" quarantine requests --json -c "$CONF" >"$T/req.json" 2>&1
check "quarantine requests --json: alice's request" python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert [(r["object_id"], r["requested_by"], r["override_infected"]) for r in rows] == [(int(sys.argv[2]), "alice", True)], rows
' "$T/req.json" "$ID"
"$FW" quarantine release "$ID" --reason "me again" --override-infected --as alice -c "$CONF" >"$T/rel.out" 2>&1
rc=$?
check "alice cannot confirm her own request: exit 2" [ "$rc" = 2 ]
check "alice cannot confirm her own request: says so" grep -q "a second reviewer must confirm" "$T/rel.out"
"$FW" quarantine release "$ID" --reason "checked the vendor's hash" --as bob -c "$CONF" >"$T/rel.out" 2>&1
rc=$?
check "bob's confirmation without the override: exit 2" [ "$rc" = 2 ]
"$FW" quarantine release "$ID" --reason "checked the vendor's hash" --override-infected --as bob -c "$CONF" \
	>"$T/rel.out" 2>&1
rc=$?
check "bob confirms with --override-infected: exit 0" [ "$rc" = 0 ]
check "bob confirms: released" grep -q "object $ID released by bob" "$T/rel.out"
fetch "$BASE/eicar.zip"
check "released object: 200" [ "$CODE" = 200 ]
check "released object: the zip's bytes" cmp -s "$T/body" "$T/www/eicar.zip"
check "released object: X-Fwgate-Verdict: released" [ "$(hdr X-Fwgate-Verdict)" = released ]
check "released object: no new upstream request" [ "$(upstream /files/eicar.zip)" = 1 ]

# --- quarantine review: reject of an unscannable download
fetch "$BASE/trunc.zip"
check "truncated zip: 403" [ "$CODE" = 403 ]
check "truncated zip: unscannable" grep -q "unscannable" "$T/body"
RID=$(qid "$BASE/trunc.zip")
check "quarantine list --json lists the truncated zip" [ -n "$RID" ]
RID=${RID:-0}
"$FW" quarantine reject "$RID" --reason "bad vendor build" --as bob -c "$CONF" >"$T/rej.out" 2>&1
rc=$?
check "reject --as bob: exit 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || cat "$T/rej.out"
fetch "$BASE/trunc.zip"
check "rejected object: 403" [ "$CODE" = 403 ]
check "rejected object: the page says rejected" grep -q "rejected" "$T/body"
check "rejected object: no new upstream request" [ "$(upstream /files/trunc.zip)" = 1 ]
"$FW" quarantine release "$RID" --reason "changed my mind" --override-infected --as bob -c "$CONF" \
	>"$T/rel2.out" 2>&1
rc=$?
check "release of a rejected object: exit 2" [ "$rc" = 2 ]

# --- the audit chain
"$FW" audit list --json -c "$CONF" >"$T/audit.json" 2>"$T/audit.err"
check "audit list --json: alice's request, bob's confirmation and the override release, via cli" python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
acts = [(r["action"], r["who"]) for r in rows if r["action"].startswith("release")]
assert acts == [("release-request", "alice"), ("release-confirm", "bob"), ("release-override", "bob")], acts
assert all("via cli" in r["detail"] for r in rows if r["action"].startswith("release")), rows
' "$T/audit.json"
check "audit list --json: the reject by bob" python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert any("reject" in r["action"] and r["who"] == "bob" for r in rows), rows
' "$T/audit.json"
"$FW" audit verify -c "$CONF" >"$T/av.out" 2>&1
rc=$?
check "audit verify on an intact chain: exit 0" [ "$rc" = 0 ]
"$FW" store verify -c "$CONF" >"$T/sv.out" 2>&1
rc=$?
check "store verify on the intact store: exit 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || sed 's/^/    /' "$T/sv.out"

# --- a gateway killed in the middle of a download
CSHA=$(sha_of "$T/www/crash.bin")
curl -s -o "$T/crash.body" -w '%{http_code}' --max-time 60 --proxy "http://127.0.0.1:$PA" --cacert "$CA" \
	"$BASE/crash.bin" >"$T/crash.code" 2>/dev/null &
cpid=$!
spooling=no
spool_busy() { [ -n "$(ls -A "$S/spool" 2>/dev/null)" ]; }
wait_for "the download to reach the spool" 10 0.01 spool_busy && spooling=yes
# The gateway's descendants (the scanner and its workers).
kids=$(pgrep -P "$FWA" | tr '\n' ' ')
for k in $kids; do kids="$kids $(pgrep -P "$k" | tr '\n' ' ')"; done
kill -KILL "$FWA"
wait "$FWA" 2>/dev/null
wait "$cpid" 2>/dev/null
check "the download was in the spool when the gateway was killed" [ "$spooling" = yes ]
check "the killed download reached the client as no 200" [ "$(cat "$T/crash.code")" != 200 ]
# alive PIDS: those still running (a zombie nobody reaped has died)
alive() {
	local k st
	for k in "$@"; do
		st=$(sed 's/^.*) //' "/proc/$k/stat" 2>/dev/null | cut -d' ' -f1)
		[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ] && printf '%s ' "$k"
	done
}
none_alive() { [ -z "$(alive $kids)" ]; }
wait_for "the scanner processes to die with the gateway" 5 0.05 none_alive
check "the gateway ran scanner processes" [ -n "$kids" ]
check "the scanner processes died with the gateway" [ -z "$(alive $kids)" ]
for k in $(alive $kids); do pids+=("$k"); done
start_fwgate fwA2 "$CONF"
FWA=$FWPID
check "restart on the same state: serving" kill -0 "$FWA"
check "restart: the spool is empty" spool_empty "$S"
"$FW" store verify -c "$CONF" >"$T/sv.out" 2>&1
rc=$?
check "restart: store verify exits 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || sed 's/^/    /' "$T/sv.out"
check "restart: no blob of the interrupted download" [ -z "$(find "$S/objects" "$S/quarantine" -type f -name "$CSHA" 2>/dev/null)" ]
fetch "$BASE/crash.bin"
check "the interrupted URL: 200" [ "$CODE" = 200 ]
check "the interrupted URL: served whole" cmp -s "$T/body" "$T/www/crash.bin"
check "the interrupted URL: fetched from the origin again" [ "$(upstream /files/crash.bin)" = 2 ]
fetch "$BASE/fw.bin"
check "after the restart: the stored object still served from the store" [ "$(hdr X-Fwgate-Cache)" = hit ]
rm -f "$T/crash.body"

# --- integrity: a damaged blob is found and moved aside
python3 - "$BLOB" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.fstat(f.fileno()).st_size // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0xFF]))
PY
check "the damaged blob kept its size" [ "$(size_of "$BLOB")" = "$FWSIZE" ]
"$FW" store verify -c "$CONF" >"$T/sv.out" 2>&1
rc=$?
check "store verify with one byte flipped: exit 1" [ "$rc" = 1 ]
check "store verify: the damaged blob is no longer under objects/" [ ! -e "$BLOB" ]
check "store verify: the damaged blob moved to damaged/" [ -n "$(find "$S/damaged" -type f 2>/dev/null)" ]

# --- audit chain tampered with
python3 - "$S/fwgate.db" >"$T/minid" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
row = db.execute("SELECT MIN(id) FROM audit").fetchone()
print(row[0])
db.execute("UPDATE audit SET detail = 'tampered' WHERE id = (SELECT MIN(id) FROM audit)")
db.commit()
PY
MINID=$(cat "$T/minid")
"$FW" audit verify -c "$CONF" >"$T/av.out" 2>&1
rc=$?
check "audit verify after tampering: exit 1" [ "$rc" = 1 ]
check "audit verify names the tampered row $MINID" grep -qw "row $MINID" "$T/av.out"
[ "$rc" = 1 ] || sed 's/^/    /' "$T/av.out"

# --- revalidation (gateway B: revalidate_after_seconds = 2)
use_gw "$PB" "$CA2"
U=$BASE/reval.bin
cp "$T/www/reval.bin" "$T/reval.v1"
fetch "$U"
check "revalidation: first fetch 200, byte-identical" cmp -s "$T/body" "$T/reval.v1"
check "revalidation: one upstream request" [ "$(upstream /files/reval.bin)" = 1 ]
sleep 3 # past revalidate_after_seconds: the time that passes is what is tested
fetch "$U"
check "revalidation after 3 s: 200" [ "$CODE" = 200 ]
check "revalidation after 3 s: the same bytes" cmp -s "$T/body" "$T/reval.v1"
check "revalidation after 3 s: a second (conditional) upstream request" [ "$(upstream /files/reval.bin)" = 2 ]

# new content: new bytes, a later mtime
m=$(stat -c %Y "$T/www/reval.bin")
fwdata $((256 * 1024 + 9)) "$T/reval.v2"
cp "$T/reval.v2" "$T/www/reval.bin"
touch -d "@$((m + 5))" "$T/www/reval.bin"
sleep 3 # past revalidate_after_seconds: the time that passes is what is tested
fetch "$U"
check "changed at the vendor: 200" [ "$CODE" = 200 ]
check "changed at the vendor: the new bytes" cmp -s "$T/body" "$T/reval.v2"
check "changed at the vendor: fetched again" [ "$(upstream /files/reval.bin)" = 3 ]
check "changed at the vendor: proxy-content-changed event" grep -q '"event.action":"proxy-content-changed"' "$EV2"

# changed to malware
printf '%s' "$EICAR" >"$T/www/reval.bin"
touch -d "@$((m + 10))" "$T/www/reval.bin"
sleep 3 # past revalidate_after_seconds: the time that passes is what is tested
fetch "$U"
check "changed to malware: 403" [ "$CODE" = 403 ]
check "changed to malware: the page names Fwgate.Test.EICAR" grep -q "Fwgate.Test.EICAR" "$T/body"
check "changed to malware: not the old bytes" bash -c "! cmp -s '$T/body' '$T/reval.v1' && ! cmp -s '$T/body' '$T/reval.v2'"
fetch "$U"
check "changed to malware, asked again: 403" [ "$CODE" = 403 ]
check "changed to malware, asked again: quarantined" grep -q "quarantined" "$T/body"
check "changed to malware, asked again: not the old bytes" bash -c "! cmp -s '$T/body' '$T/reval.v1' && ! cmp -s '$T/body' '$T/reval.v2'"
check "changed to malware: nothing of it delivered" bash -c "! grep -q 'EICAR-STANDARD' '$T/body'"

# --- out of space in the state directory
mkdir -p "$T/tiny"
if mount -t tmpfs -o size=8m tmpfs "$T/tiny" 2>"$T/mount.err"; then
	TINY_MOUNTED=yes
	S3=$T/tiny/state
	CONF3=$T/fwgate3.conf
	PC=$(free_port)
	PCC=$(free_port)
	make_conf "$CONF3" "$S3" "$PC" "$PCC" 86400 "$T/events3.log"
	start_fwgate fwC "$CONF3"
	use_gw "$PC" "$S3/ca/ca.crt"
	fetch "$BASE/small.bin?gw=tiny"
	check "small state dir: a small download is stored" [ "$CODE" = 200 ]
	fetch "$BASE/huge.bin?gw=tiny"
	check "12 MiB into 8 MiB: 507 or 502 (got $CODE)" test "$CODE" = 507 -o "$CODE" = 502
	check "12 MiB into 8 MiB: the page explains the lack of space" grep -qi "space" "$T/body"
	check "12 MiB into 8 MiB: nothing of the file delivered" [ "$(body_size)" -lt 4096 ]
	check "12 MiB into 8 MiB: spool empty" spool_empty "$S3"
	n=$(find "$S3/objects" "$S3/quarantine" -type f 2>/dev/null | wc -l)
	check "12 MiB into 8 MiB: only the small object is stored" [ "$n" = 1 ]
	fetch "$BASE/small.bin?gw=tiny"
	check "after running out of space: the small object still served" [ "$CODE" = 200 ]
	check "after running out of space: from the store" [ "$(hdr X-Fwgate-Cache)" = hit ]
	check "after running out of space: byte-identical" cmp -s "$T/body" "$T/www/small.bin"
	check "after running out of space: no new upstream request" [ "$(upstream '/files/small.bin?gw=tiny')" = 1 ]
else
	if [ -n "${CI:-}" ]; then
		bad "out of space: tmpfs mount failed" "$(cat "$T/mount.err")"
	else
		echo "skip - out of space: cannot mount a tmpfs: $(cat "$T/mount.err")"
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
