#!/usr/bin/env bash
# Integration tests of the intercepting proxy with real peers: a real TLS
# origin on loopback (origin.py, certificates from pki.sh), real curl and
# openssl s_client as clients through `fwgate run`. Every refusal is
# checked for its status, its reason, its event, and that nothing was
# delivered or left in the spool.
# Usage: proxy.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-proxy-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"

mkdir -p "$T/www" "$T/state"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
fwdata $((8 * 1024 * 1024 + 123)) "$T/www/big.bin"
fwdata $((64 * 1024 + 7)) "$T/www/after.bin"
printf 'small firmware, after the hang\n' >"$T/www/small-after.bin"
printf 'small firmware B\n' >"$T/www/reload-b.bin"
printf 'small firmware\n' >"$T/www/small.bin"
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$T/www/eicar.com"
(cd "$T/www" && zip -q eicar.zip eicar.com small.bin && tar czf nested.tgz eicar.zip)

start_origin origin
OP=$ORIGIN_PORT
start_origin oldtls --max-tls 1.1
OLDP=$ORIGIN_PORT

# The shipped card, with the origins' ports allowed for CONNECT.
make_card "$T/card.json" "$OP" "$OLDP"
names="vendor.test expired.test notyet.test wronghost.test selfsigned.test unknownca.test weakkey.test sha1.test blocked.test nosan.test"
printf '# test allow-list\n' >"$T/allow.txt"
for n in $names oldtls.test; do echo "$n" >>"$T/allow.txt"; done
printf 'blocked.test\n' >"$T/malware.txt"

P1=$(free_port)
P1C=$(free_port)
{
	printf '[proxy]\nlisten = 127.0.0.1:%s\nexchange_timeout_seconds = 4\n' "$P1"
	printf '[console]\nlisten = 127.0.0.1:%s\n' "$P1C"
	printf '[state]\ndir = %s/state\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$T" "$T" "$T"
	printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\n' "$T"
	for n in $names; do printf 'resolve = %s:%s:127.0.0.1\n' "$n" "$OP"; done
	printf 'resolve = oldtls.test:%s:127.0.0.1\n' "$OLDP"
	# The reloads here are fwgate reload and SIGHUP: the signature watch
	# (tests/integration/sigwatch.sh) would add reloads of its own.
	printf '[scanner]\nsignatures = %s/sigs\ntimeout_seconds = 3\nmax_seconds = 2\nwatch_signatures = false\n' "$T"
	printf '[log]\nfile = %s/events.log\n' "$T"
} >"$T/fwgate.conf"
mkdir -p "$T/sigs"
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"

"$FW" categories import -c "$T/fwgate.conf" --format list --category malware "$T/malware.txt" >/dev/null 2>"$T/import.err" \
	|| { echo "category import failed: $(cat "$T/import.err")"; exit 1; }
start_fwgate fw1 "$T/fwgate.conf"
CA=$T/state/ca/ca.crt
check "the CA was created on first start" test -s "$CA"
EV=$T/events.log

# fetch NAME URL [curl args]: sets CODE, body in $T/body
fetch() {
	local url=$1; shift
	CODE=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code} %{http_connect}' --max-time 20 \
		--proxy "http://127.0.0.1:$P1" --cacert "$CA" "$@" "$url")
	CURLRC=$?
	# A refused CONNECT has no response inside the tunnel: its status is
	# curl's http_connect.
	if [ "${CODE% *}" = 000 ]; then CODE=${CODE#* }; else CODE=${CODE% *}; fi
}

# --- allowed downloads
fetch "https://vendor.test:$OP/files/big.bin"
check "allow-listed download: 200" [ "$CODE" = 200 ]
check "allow-listed download: byte-identical" cmp -s "$T/body" "$T/www/big.bin"
sha=$(sha256sum "$T/www/big.bin" | cut -d' ' -f1)
check "X-Fwgate-SHA256 names the body" grep -qi "^X-Fwgate-SHA256: $sha" "$T/headers"
check "request event with the SHA-256" grep -q "\"event.action\":\"proxy-request\".*\"file.hash.sha256\":\"$sha\"" "$EV"
check "spool empty after delivery" spool_empty "$T/state"

fetch "https://vendor.test:$OP/files/big.bin" -I
check "HEAD: 200" [ "$CODE" = 200 ]
check "HEAD: Content-Length of the file" grep -qi "^Content-Length: $((8 * 1024 * 1024 + 123))" "$T/headers"
hb=$(curl -s -I -o /dev/null -w '%{size_download}' --max-time 20 --proxy "http://127.0.0.1:$P1" --cacert "$CA" \
	"https://vendor.test:$OP/files/big.bin")
check "HEAD: no body" [ "$hb" = 0 ]

urls=()
for i in $(seq 1 100); do urls+=(-o /dev/null "https://vendor.test:$OP/files/small.bin?i=$i"); done
before=$(grep -c '"event.action":"proxy-leaf-minted"' "$EV")
codes=$(curl -s -w '%{http_code}\n' --max-time 60 --proxy "http://127.0.0.1:$P1" --cacert "$CA" "${urls[@]}" | grep -c '^200$')
check "100 sequential requests answered 200" [ "$codes" = 100 ]
wait_for "the tunnel's close event" 5 0.05 log_has "$EV" '"fwgate.reason":"100 request\(s\) served in the tunnel"'
check "100 requests on one tunnel" grep -q '"fwgate.reason":"100 request(s) served in the tunnel"' "$EV"
check "no new leaf minted for a cached host" [ "$(grep -c '"event.action":"proxy-leaf-minted"' "$EV")" = "$before" ]

# --- refusals before TLS
fetch "https://notlisted.test:$OP/files/small.bin"
check "not allow-listed: CONNECT refused with 403" [ "$CODE" = 403 ]
check "not allow-listed: reason in the event" grep -q '"event.action":"proxy-connect-refused".*"destination.domain":"notlisted.test".*not on the allow-list' "$EV"
check "not allow-listed: no certificate minted" bash -c "! grep -q '\"proxy-leaf-minted\".*\"notlisted.test\"' '$EV'"
fetch "https://blocked.test:$OP/files/small.bin"
check "blocked category: 403 even when allow-listed" [ "$CODE" = 403 ]
check "blocked category: the reason names malware" grep -q '"destination.domain":"blocked.test".*malware' "$EV"
fetch "https://127.0.0.1:$OP/files/small.bin"
check "CONNECT to an IP literal: 403" [ "$CODE" = 403 ]
fetch "https://vendor.test:8444/files/small.bin"
check "CONNECT to a port the policy does not allow: 403" [ "$CODE" = 403 ]
CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$P1" "http://vendor.test:$OP/files/small.bin")
check "plain-HTTP proxying: 403" [ "$CODE" = 403 ]
check "plain-HTTP proxying: the body says why" grep -q "HTTPS only" "$T/body"

# --- upstream certificate and TLS failures: 502, the reason, nothing kept
for case in "expired.test:has expired" "notyet.test:is not valid yet" "wronghost.test:does not name" \
	"selfsigned.test:is self-signed" "unknownca.test:signed by an unknown CA" \
	"weakkey.test:weak key" "sha1.test:weak signature" "oldtls.test:TLS handshake" \
	"nosan.test:has no subjectAltName"; do
	host=${case%%:*} why=${case#*:}
	port=$OP; [ "$host" = oldtls.test ] && port=$OLDP
	fetch "https://$host:$port/files/small.bin"
	check "$host: 502" [ "$CODE" = 502 ]
	check "$host: the body says \"$why\"" grep -q "$why" "$T/body"
	check "$host: the event says \"$why\"" grep -q "\"destination.domain\":\"$host\".*$why" "$EV"
	check "$host: spool empty" spool_empty "$T/state"
done
check "no upstream request reached the origin for a bad certificate" bash -c "! grep -q 'SNI=expired.test' '$T/origin.log'"

# --- broken upstream bodies: 502, never delivered
for path in "truncated?n=100000" "cut-chunked" "badchunk"; do
	fetch "https://vendor.test:$OP/$path"
	check "/$path: 502" [ "$CODE" = 502 ]
	check "/$path: nothing of the body delivered" bash -c "! grep -q 'x\{50\}' '$T/body'"
	check "/$path: spool empty" spool_empty "$T/state"
done
fetch "https://vendor.test:$OP/slow?delay=8"
check "slow vendor: 504" [ "$CODE" = 504 ]

# --- what is forwarded
fetch "https://vendor.test:$OP/redirect?to=https://elsewhere.test/x" --compressed
check "redirect: 302 passed back, not followed" [ "$CODE" = 302 ]
check "redirect: Location kept" grep -qi '^Location: https://elsewhere.test/x' "$T/headers"
fetch "https://vendor.test:$OP/echo-headers" --compressed -H 'X-Trace: 1' -H 'Keep-Alive: 5'
check "end-to-end header forwarded" grep -qi '^X-Trace: 1' "$T/body"
check "no Accept-Encoding sent upstream" bash -c "! grep -qi '^Accept-Encoding' '$T/body'"
check "hop-by-hop Keep-Alive not forwarded" bash -c "! grep -qi '^Keep-Alive' '$T/body'"

# --- client-side TLS: SNI must equal the CONNECT host
sni() { timeout 10 openssl s_client -proxy "127.0.0.1:$P1" -connect "vendor.test:$OP" "$@" \
	-CAfile "$CA" </dev/null >"$T/sni.out" 2>&1; }
sni -servername other.test
check "SNI other than the CONNECT host: refused, no certificate sent" grep -q 'no peer certificate available' "$T/sni.out"
check "SNI mismatch: event" grep -q '"event.action":"proxy-tls-refused".*asked for' "$EV"
sni -noservername
check "no SNI: refused" grep -q '"event.action":"proxy-tls-refused".*no SNI' "$EV"
sni -servername vendor.test
check "SNI equal to the CONNECT host: handshake verifies" grep -q 'Verify return code: 0 (ok)' "$T/sni.out"
check "TLS 1.2 is the minimum" bash -c "! timeout 10 openssl s_client -proxy 127.0.0.1:$P1 -connect vendor.test:$OP -servername vendor.test -tls1_1 </dev/null >/dev/null 2>&1"

# --- hostile heads: 4xx, and the gateway keeps serving
raw() { timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
print(data.split(b"\r\n")[0].decode("latin-1"))
' "$P1"; }
line=$(python3 -c 'import sys; sys.stdout.write("CONNECT vendor.test:443 HTTP/1.1\r\nHost: vendor.test\r\nX: " + "a"*40000 + "\r\n\r\n")' | raw)
check "oversized head: 431" [ "$line" = "HTTP/1.1 431 Request Header Fields Too Large" ]
# name | the status line wanted | the head (printf escapes)
while IFS='|' read -r name want head; do
	line=$(printf "$head" | raw)
	check "$name" [ "$line" = "$want" ]
done <<'CASES'
obs-fold: 400|HTTP/1.1 400 Bad Request|CONNECT vendor.test:443 HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n
bare LF: 400|HTTP/1.1 400 Bad Request|CONNECT vendor.test:443 HTTP/1.1\nHost: a\n\n
Transfer-Encoding on a request: 400|HTTP/1.1 400 Bad Request|CONNECT vendor.test:443 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n
duplicate Content-Length: 400|HTTP/1.1 400 Bad Request|CONNECT vendor.test:443 HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\nHost: a\r\n\r\n
not a proxy request: 405|HTTP/1.1 405 Method Not Allowed|BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n
CASES
fetch "https://vendor.test:$OP/files/small.bin"
check "still serving after hostile heads" [ "$CODE" = 200 ]
[ "$CODE" = 200 ] || { echo "    body: $(head -c 800 "$T/body")"; tail -n 5 "$EV" | sed 's/^/    event: /'; }
check "refusals are logged" grep -q '"event.action":"proxy-refused".*obs-fold' "$EV"

# --- the scanner's verdict decides delivery
fetch "https://vendor.test:$OP/files/eicar.zip"
check "infected download: 403" [ "$CODE" = 403 ]
check "infected download: the page names the signature" grep -q "signature Fwgate.Test.EICAR" "$T/body"
check "infected download: the page names the member chain" grep -q "in eicar.zip!eicar.com" "$T/body"
check "infected download: an incident id" grep -q "incident FW-[0-9A-F]\{16\}" "$T/body"
check "infected download: nothing of it delivered" bash -c "! grep -q 'EICAR-STANDARD' '$T/body'"
check "infected download: event with verdict, member and its SHA-256" grep -q \
	'"fwgate.verdict":"infected".*"fwgate.member":"eicar.zip!eicar.com","fwgate.member.sha256":"[0-9a-f]\{64\}"' "$EV"
check "infected download: spool empty" spool_empty "$T/state"
fetch "https://vendor.test:$OP/files/nested.tgz?v=1"
check "infected two levels down: 403 naming the chain" grep -q "in nested.tgz!eicar.zip!eicar.com" "$T/body"
fetch "https://vendor.test:$OP/files/eicar.com" -I
check "HEAD of an infected file: no body to vet, headers only" [ "$CODE" = 200 ]
fetch "https://vendor.test:$OP/files/big.bin?after=infected"
check "clean download after infected ones: byte-identical" cmp -s "$T/body" "$T/www/big.bin"
check "clean download: X-Fwgate-Verdict" grep -qi "^X-Fwgate-Verdict: clean" "$T/headers"

# A worker killed in the middle of a job: the job is unscannable, a new
# worker takes its place, the next download is served. The workers are
# stopped first so that the job is certainly in flight when they die.
SUP=$(pgrep -P "$FWPID" | head -n 1)
workers=$(pgrep -P "$SUP" | tr '\n' ' ')
check "the scanner runs its workers" [ -n "$workers" ]
kill -STOP $workers
curl -s -o "$T/body" -w '%{http_code}' --max-time 30 --proxy "http://127.0.0.1:$P1" --cacert "$CA" \
	"https://vendor.test:$OP/files/big.bin?kill=1" >"$T/killcode" &
cpid=$!
# the body is complete in the spool and its scan waits in a stopped worker's socket
spooled() { [ "$(stat -c %s "$T/state/spool/"* 2>/dev/null | head -n 1)" = $((8 * 1024 * 1024 + 123)) ]; }
queued_at_worker() {
	local w
	for w in $workers; do
		ss -Hxp 2>/dev/null | awk -v p="pid=$w," 'index($0, p) && $3 > 0 { f = 1 } END { exit !f }' && return 0
	done
	return 1
}
wait_for "the body to be spooled" 5 0.05 spooled
wait_for "the scan to wait at a stopped worker" 5 0.05 queued_at_worker
kill -KILL $workers
wait "$cpid"
check "worker killed during a scan: 403" [ "$(cat "$T/killcode")" = 403 ]
check "worker killed during a scan: unscannable, the reason says so" grep -q "unscannable: scanner worker crashed (killed by signal 9)" "$T/body"
n_workers() { [ "$(pgrep -P "$SUP" | wc -l)" = "$(echo $workers | wc -w)" ]; }
wait_for "new workers to replace the killed ones" 10 0.05 n_workers
nw=$(pgrep -P "$SUP" | wc -l)
check "new workers replace the killed ones" [ "$nw" = "$(echo $workers | wc -w)" ]
fetch "https://vendor.test:$OP/files/after.bin"
check "after a worker crash the next download is served" cmp -s "$T/body" "$T/www/after.bin"
# The bytes the crash left unscannable are held in quarantine: a clean
# scan of them under another URL does not release them.
fetch "https://vendor.test:$OP/files/big.bin?after=kill"
check "the quarantined bytes stay held under another URL: 403" [ "$CODE" = 403 ]
check "... nothing of them delivered" not cmp -s "$T/body" "$T/www/big.bin"

# A worker that hangs past [scanner] timeout_seconds (3 s here): killed,
# the job is unscannable, the gateway serves on.
workers=$(pgrep -P "$SUP" | tr '\n' ' ')
kill -STOP $workers
fetch "https://vendor.test:$OP/files/small.bin?hang=1"
check "worker hung past the timeout: 403" [ "$CODE" = 403 ]
check "worker hung past the timeout: the reason says so" grep -q "scanner worker timed out after 3 s" "$T/body"
kill -CONT $workers 2>/dev/null
fetch "https://vendor.test:$OP/files/small-after.bin"
check "after a worker timeout the next download is served" [ "$CODE" = 200 ]

# Signature reload: fwgate reload rolls the workers onto a new engine; a
# broken database keeps the old engine serving.
python3 -c 'import sys; print("Fwgate.Test.Reload:0:*:" + b"small firmware".hex())' >"$T/sigs/reload.ndb"
"$FW" reload -c "$T/fwgate.conf" >"$T/reload.out" 2>&1
check "fwgate reload: exit 0" [ $? = 0 ]
wait_for "the reload event" 5 0.05 log_has "$EV" '"event.action":"fwgate-reload"'
check "reload: event" grep -q '"event.action":"fwgate-reload".*2 signatures' "$EV"
fetch "https://vendor.test:$OP/files/small.bin?after=reload"
check "reload: the new signature blocks" grep -q "signature Fwgate.Test.Reload" "$T/body"
printf 'this is not a signature\n' >"$T/sigs/broken.ndb"
kill -HUP "$FWPID"
wait_for "the failed reload's event" 5 0.05 log_has "$EV" '"event.action":"fwgate-reload-failed"'
check "reload of a broken database: event" grep -q '"event.action":"fwgate-reload-failed"' "$EV"
fetch "https://vendor.test:$OP/files/small.bin?after=failed-reload"
check "reload of a broken database: the old engine still serves" grep -q "signature Fwgate.Test.Reload" "$T/body"
rm -f "$T/sigs/broken.ndb" "$T/sigs/reload.ndb"
kill -HUP "$FWPID"
wait_for "the second reload event" 5 0.05 log_count_ge "$EV" '"event.action":"fwgate-reload"' 2
fetch "https://vendor.test:$OP/files/reload-b.bin"
check "reload back: bytes the removed signature matched are served" [ "$CODE" = 200 ]

# --- a second gateway: private addresses refused, client limit
P2=$(free_port)
P2C=$(free_port)
{
	printf '[proxy]\nlisten = 127.0.0.1:%s\nmax_clients = 2\n[console]\nlisten = 127.0.0.1:%s\n' "$P2" "$P2C"
	printf '[state]\ndir = %s/state2\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$T" "$T" "$T"
	printf '[upstream]\nca_file = %s/pki/testca.crt\nresolve = vendor.test:%s:127.0.0.1\n' "$T" "$OP"
	printf '[log]\nfile = %s/events2.log\n' "$T"
} >"$T/fwgate2.conf"
start_fwgate fw2 "$T/fwgate2.conf"
CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 --proxy "http://127.0.0.1:$P2" \
	--cacert "$T/state2/ca/ca.crt" "https://vendor.test:$OP/files/small.bin")
check "name resolving to 127.0.0.1 refused without allow_private: 502" [ "$CODE" = 502 ]
check "the reason names the loopback address" grep -q "127.0.0.1, a loopback address" "$T/body"
exec 7<>"/dev/tcp/127.0.0.1/$P2" 8<>"/dev/tcp/127.0.0.1/$P2"
wait_for "the gateway to accept both connections" 5 0.05 accepted "$FWPID" "$P2" 2
line=$(printf 'CONNECT vendor.test:443 HTTP/1.1\r\nHost: vendor.test:443\r\n\r\n' | raw_port=$P2 timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.recv(4096).split(b"\r\n")[0].decode())
' "$P2")
check "beyond max_clients: 503" [ "$line" = "HTTP/1.1 503 Service Unavailable" ]
exec 7>&- 8>&-
check "beyond max_clients: event" grep -q '"event.action":"proxy-busy"' "$T/events2.log"

# --- the scanner itself gone (its supervisor killed): the gateway starts
# it again by itself, an event each time. While it cannot come back (its
# signature database broken meanwhile), downloads are refused with 503
# and Retry-After, and nothing is recorded as if the content were at
# fault; once it can, the next download is served without a restart of
# the gateway.
FW1=$(pgrep -f "run -c $T/fwgate.conf" | head -n 1)
SUP=$(pgrep -P "$FW1" | head -n 1)
printf 'this is not a signature\n' >"$T/sigs/broken.ndb"
kill -KILL "$SUP"
wait_for "the scanner's failed restart" 10 0.05 log_has "$EV" '"event.action":"fwgate-scanner-restart-failed"'
check "scanner gone: event naming the signal" grep -q '"event.action":"fwgate-scanner-down".*killed by signal 9' "$EV"
check "scanner gone: the restart fails on the broken database (event)" \
	grep -q '"event.action":"fwgate-scanner-restart-failed".*cannot load the signatures' "$EV"
fetch "https://vendor.test:$OP/files/small-after.bin?scanner=down"
check "scanner gone: 503" [ "$CODE" = 503 ]
check "scanner gone: Retry-After" grep -qi '^Retry-After: [0-9]' "$T/headers"
check "scanner gone: the body says nothing was delivered" grep -q "cannot be vetted now, nothing was delivered" "$T/body"
"$FW" quarantine list --json -c "$T/fwgate.conf" >"$T/qlist" 2>&1
check "scanner gone: nothing quarantined for it" bash -c "! grep -q 'scanner=down' '$T/qlist'"
check "scanner gone: spool empty" spool_empty "$T/state"
rm -f "$T/sigs/broken.ndb"
wait_for "the scanner's restart" 15 0.05 log_has "$EV" '"event.action":"fwgate-scanner-restarted"'
check "scanner back after a back-off: event" grep -q '"event.action":"fwgate-scanner-restarted".*"fwgate.scanner.restarts":1' "$EV"
fetch "https://vendor.test:$OP/files/small-after.bin?scanner=back"
check "scanner back: the next download is served" [ "$CODE" = 200 ]
check "scanner back: a new supervisor with its workers" [ -n "$(pgrep -P "$(pgrep -P "$FW1" | head -n 1)")" ]

# --- clean stop
kill -TERM "$FWPID"
wait_for "the gateway to stop" 5 0.05 exited "$FWPID"
check "SIGTERM stops the gateway" bash -c "! kill -0 $FWPID 2>/dev/null"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
