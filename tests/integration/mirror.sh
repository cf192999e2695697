#!/usr/bin/env bash
# Integration tests of the mirror (vetted images for BMCs) through the real
# gateway (`fwgate run`), real curl as the BMC and the real TLS origin
# feeding the store through the proxy: an approved image byte for byte
# with its headers, HEAD, ranges, a resumed download, index.json; a
# quarantined, a rejected and an unknown image all the same 404; the
# source allow-list (403), Basic credentials of a BMC group (401), a
# mirror listener of its own, the plain-HTTP listener (hash-named URLs
# only, said at start), and one event per pull.
# Usage: mirror.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-mirror-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"

mkdir -p "$T/www" "$T/sigs"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
fwdata $((3 * 1024 * 1024 + 11)) "$T/www/bios.bin"
printf '%s' "$EICAR" >"$T/www/eicar.com"
(cd "$T/www" && zip -q bad.zip eicar.com) || { echo "zip failed"; exit 1; }
start_origin origin
OP=$ORIGIN_PORT
BASE="https://vendor.test:$OP/files"
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"

# conf FILE STATE PROXY_PORT CONSOLE_PORT EVENTS [extra mirror lines]
conf() {
	local f=$1 s=$2 pp=$3 cp=$4 ev=$5
	shift 5
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$pp" "$cp"
		printf '[mirror]\n'
		for l in "$@"; do printf '%s\n' "$l"; done
		printf '[state]\ndir = %s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$s" "$T" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\n' "$T"
		printf 'resolve = vendor.test:%s:127.0.0.1\n' "$OP"
		printf '[scanner]\nsignatures = %s/sigs\ntimeout_seconds = 60\nmax_seconds = 30\n' "$T"
		printf '[log]\nfile = %s\n' "$ev"
	} >"$f"
}

S=$T/state
EV=$T/events.log
GP=$(free_port)
CP=$(free_port)
conf "$T/a.conf" "$S" "$GP" "$CP" "$EV" "allow = 127.0.0.1/32"
start_fwgate a "$T/a.conf"
CA=$S/ca/ca.crt
fetch() { CODE=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 --proxy "http://127.0.0.1:$GP" --cacert "$CA" "$1"); }
fetch "$BASE/bios.bin"
check "proxy: the clean image is delivered" [ "$CODE" = 200 ]
fetch "$BASE/bad.zip"
check "proxy: the infected package is held" [ "$CODE" = 403 ]
SHA=$(sha256sum "$T/www/bios.bin" | cut -d' ' -f1)
SIZE=$(stat -c %s "$T/www/bios.bin")
BAD=$(sha256sum "$T/www/bad.zip" | cut -d' ' -f1)
M="https://127.0.0.1:$CP/firmware"

# m PATH [curl args]: one pull; CODE, body $T/mb, head $T/mh
m() {
	local p=$1; shift
	rm -f "$T/mb"
	CODE=$(curl -s -o "$T/mb" -D "$T/mh" -w '%{http_code}' --max-time 60 --cacert "$CA" "$@" "$M$p")
	touch "$T/mb"
}
hdr() { sed -n "s/^$1:[[:space:]]*//Ip" "$T/mh" | tr -d '\r' | tail -n 1; }

m "/$SHA/bios.bin"
check "approved image: 200" [ "$CODE" = 200 ]
check "approved image: byte for byte" cmp -s "$T/mb" "$T/www/bios.bin"
check "ETag is the SHA-256" [ "$(hdr ETag)" = "\"$SHA\"" ]
check "Content-Length" [ "$(hdr Content-Length)" = "$SIZE" ]
check "Last-Modified" [ -n "$(hdr Last-Modified)" ]
check "Accept-Ranges: bytes" [ "$(hdr Accept-Ranges)" = bytes ]
m "/$SHA"
check "the hash alone names the image too" cmp -s "$T/mb" "$T/www/bios.bin"
m "/$SHA/bios.bin" -I
check "HEAD: 200 with the length, no body (only the head came)" \
	bash -c "[ '$CODE' = 200 ] && [ '$(hdr Content-Length)' = '$SIZE' ] && [ \$(stat -c %s '$T/mb') -lt 2000 ]"
m "/$SHA/bios.bin" -r 0-99
check "range 0-99: 206" [ "$CODE" = 206 ]
check "range 0-99: Content-Range" [ "$(hdr Content-Range)" = "bytes 0-99/$SIZE" ]
check "range 0-99: the first 100 bytes" cmp -s "$T/mb" <(head -c 100 "$T/www/bios.bin")
m "/$SHA/bios.bin" -r -10
check "suffix range: the last 10 bytes" cmp -s "$T/mb" <(tail -c 10 "$T/www/bios.bin")
m "/$SHA/bios.bin" -r "$SIZE-"
check "a range past the end: 416" [ "$CODE" = 416 ]
check "416 says the size" [ "$(hdr Content-Range)" = "bytes */$SIZE" ]
m "/$SHA/bios.bin" -r 0-9 -H 'If-Range: "not-this-version"'
check "If-Range of another version: the whole image" [ "$CODE" = 200 ]
# an interrupted download, resumed with Range
head -c 1000000 "$T/www/bios.bin" >"$T/partial"
curl -s --max-time 60 --cacert "$CA" -C - -o "$T/partial" "$M/$SHA/bios.bin"
check "a download resumed with Range completes byte for byte" cmp -s "$T/partial" "$T/www/bios.bin"

# never a hint of held or unknown bytes
m "/$BAD/bad.zip"
check "quarantined image: 404" [ "$CODE" = 404 ]
Q404=$(cat "$T/mb")
check "quarantined image: not one byte of it" not grep -q 'EICAR' "$T/mb"
m "/$(printf '%064d' 7)/x.bin"
check "unknown image: the same 404" bash -c "[ '$CODE' = 404 ] && [ \"\$(cat '$T/mb')\" = '$Q404' ]"
QID=$("$FW" quarantine list --json -c "$T/a.conf" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
"$FW" quarantine reject "$QID" --reason "EICAR" -c "$T/a.conf" >/dev/null 2>&1
m "/$BAD/bad.zip"
check "rejected image: the same 404" bash -c "[ '$CODE' = 404 ] && [ \"\$(cat '$T/mb')\" = '$Q404' ]"
m "/$SHA/..bin"
check "a name that is not a plain file name: 404" [ "$CODE" = 404 ]
m "/$SHA/a%2Fb"
check "an encoded slash in the name: 404" [ "$CODE" = 404 ]
m "/index.json"
check "index.json: 200" [ "$CODE" = 200 ]
check "index.json lists the approved image with its name and href" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
imgs = {i["sha256"]: i for i in d["images"]}
i = imgs[sys.argv[2]]
assert i["name"] == "bios.bin" and i["href"] == "/firmware/%s/bios.bin" % sys.argv[2] and i["size"] == int(sys.argv[4])
assert sys.argv[3] not in imgs' "$T/mb" "$SHA" "$BAD" "$SIZE"
check "the console's other paths still need a login" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$CA' https://127.0.0.1:$CP/quarantine)\" = 303 ]"
m "/$SHA/bios.bin" -X POST
check "POST to the mirror: 405" [ "$CODE" = 405 ]

# the source allow-list: 127.0.0.2 is not in 127.0.0.1/32
m "/$SHA/bios.bin" --interface 127.0.0.2
check "a source outside [mirror] allow: 403" [ "$CODE" = 403 ]
check "pulls are events with the source and the bytes" \
	log_has "$EV" "\"event.action\":\"mirror-pull\".*\"source.ip\":\"127.0.0.1\".*\"file.hash.sha256\":\"$SHA\""
check "a refused pull is an event too" log_has "$EV" '"event.action":"mirror-pull","event.outcome":"failure".*"source.ip":"127.0.0.2"'
check "a pull event counts the bytes" log_has "$EV" "\"http.response.body.bytes\":$SIZE"

# --- gateway B: Basic credentials, its own HTTPS listener, plain HTTP
S2=$T/state2
EV2=$T/events2.log
MP=$(free_port)
HP=$(free_port)
mkdir -p "$S2"
chmod 700 "$S2"
printf 'bmc-group-a-secret\n' >"$T/gpw"
if "$FW" mirror user add rack-a --password-file "$T/gpw" -c "$T/a.conf" >/dev/null 2>&1; then
	cp "$S/mirror-users" "$S2/mirror-users"
else
	# `fwgate mirror user` not built in: the same file format as proxyuser's
	"$FW" proxyuser add rack-a --password-file "$T/gpw" -c "$T/a.conf" >/dev/null 2>&1
	cp "$S/proxy-users" "$S2/mirror-users"
fi
chmod 600 "$S2/mirror-users"
GP2=$(free_port)
CP2=$(free_port)
conf "$T/b.conf" "$S2" "$GP2" "$CP2" "$EV2" "listen = 127.0.0.1:$MP" "http_listen = 127.0.0.1:$HP" "auth = basic"
start_fwgate b "$T/b.conf"
CA2=$S2/ca/ca.crt
curl -s -o /dev/null --max-time 60 --proxy "http://127.0.0.1:$GP2" --cacert "$CA2" "$BASE/bios.bin"
check "the plain-HTTP mirror is said at start" log_has "$T/b.err" "plain-HTTP mirror on 127.0.0.1:$HP"
check "... and is an event" log_has "$EV2" '"event.action":"mirror-http-listening"'
M="https://127.0.0.1:$MP/firmware"
CA=$CA2
m "/$SHA/bios.bin"
check "basic: no credentials: 401" [ "$CODE" = 401 ]
check "basic: the challenge" [ "$(hdr WWW-Authenticate)" = 'Basic realm="fwgate mirror"' ]
m "/$SHA/bios.bin" -u rack-a:wrong-password-here
check "basic: a wrong password: 401" [ "$CODE" = 401 ]
m "/$SHA/bios.bin" -u "rack-a:$(cat "$T/gpw")"
check "basic: the BMC group's credentials: 200, byte for byte" \
	bash -c "[ '$CODE' = 200 ] && cmp -s '$T/mb' '$T/www/bios.bin'"
check "the pull event names the BMC group" log_has "$EV2" '"event.action":"mirror-pull".*"user.name":"rack-a"'
CODE=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA2" "https://127.0.0.1:$MP/login")
check "the mirror's own listener serves /firmware/ only" [ "$CODE" = 404 ]
M="http://127.0.0.1:$HP/firmware"
m "/$SHA/bios.bin" -u "rack-a:$(cat "$T/gpw")"
check "plain HTTP: the hash-named image" bash -c "[ '$CODE' = 200 ] && cmp -s '$T/mb' '$T/www/bios.bin'"
m "/index.json" -u "rack-a:$(cat "$T/gpw")"
check "plain HTTP: no index" [ "$CODE" = 404 ]
check "gateway A still runs" kill -0 "${pids[1]}"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
