#!/usr/bin/env bash
# Fetch and scan overlapped ([scanner] overlap_fetch): a download whose
# length the vendor says is judged while it arrives, and still nothing is
# delivered before the verdict on every byte. Real peers: origin.py (a slow
# vendor, a vendor that goes away mid-body, a chunked one), curl through
# `fwgate run`. Checks, each with what was delivered and stored:
#   - a slow clean download: 200, byte-identical, the event says the scan
#     ran beside the fetch (fwgate.scan.overlap_ms);
#   - EICAR in the last bytes of a slow download, which arrive last: 403
#     infected, nothing of it delivered, held in quarantine;
#   - EICAR in a zip member, streamed: 403 naming the member chain;
#   - a vendor that closes the connection halfway: 502, spool empty,
#     nothing recorded, and the worker serves the next download;
#   - a chunked download (no Content-Length): scanned after the fetch, no
#     overlap_ms;
#   - a client that leaves mid-download: the vetting goes on, its retry is
#     served from the store with one vendor request;
#   - two slow downloads and a fast one with 2 workers: the fast one is
#     answered while the slow ones still arrive (at most workers - 1 wait);
#   - a worker killed (-9) while the download arrives: 403 unscannable,
#     nothing delivered, and the next one is served;
#   - a worker stopped while the download arrives: killed [scanner]
#     timeout_seconds after the download's last byte, not before;
#   - the supervisor killed while the download arrives: restarted, and the
#     finished file scanned by the new one (200, no overlap_ms);
#   - overlap_fetch = false: the same downloads, no overlap_ms.
# Usage: overlap.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-overlap-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"

mkdir -p "$T/www" "$T/state" "$T/sigs"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
fwdata $((4 * 1024 * 1024)) "$T/www/clean.bin"
fwdata $((4 * 1024 * 1024)) "$T/www/late.bin"
printf '%s' "$EICAR" >>"$T/www/late.bin"
fwdata $((2 * 1024 * 1024)) "$T/www/cut.bin"
fwdata $((2 * 1024 * 1024)) "$T/www/after.bin"
fwdata $((2 * 1024 * 1024)) "$T/www/chunked.bin"
fwdata $((2 * 1024 * 1024)) "$T/www/leave.bin"
fwdata $((2 * 1024 * 1024)) "$T/www/kill.bin"
fwdata $((2 * 1024 * 1024)) "$T/www/stop.bin"
fwdata $((2 * 1024 * 1024)) "$T/www/slow1.bin"
fwdata $((2 * 1024 * 1024)) "$T/www/slow2.bin"
fwdata $((64 * 1024)) "$T/www/fast.bin"
printf '%s' "$EICAR" >"$T/www/eicar.com"
fwdata $((1024 * 1024)) "$T/www/part.bin"
(cd "$T/www" && zip -q -0 pkg.zip part.bin eicar.com)
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"

start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"

# conf NAME OVERLAP: a gateway config with its own state and event log
conf() {
	P=$(free_port)
	mkdir -p "$T/state-$1"
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\nexchange_timeout_seconds = 30\n' "$P"
		printf '[state]\ndir = %s/state-%s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' \
			"$T" "$1" "$T" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\nresolve = vendor.test:%s:127.0.0.1\n' \
			"$T" "$OP"
		printf '[scanner]\nsignatures = %s/sigs\nworkers = 2\ntimeout_seconds = 4\nmax_seconds = 3\n' "$T"
		printf 'watch_signatures = false\noverlap_fetch = %s\n' "$2"
		printf '[log]\nfile = %s/events-%s.log\n' "$T" "$1"
	} >"$T/$1.conf"
}

# fetch URL [curl args]: sets CODE, body in $T/body
fetch() {
	local url=$1; shift
	CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 40 --proxy "http://127.0.0.1:$P" \
		--cacert "$T/state-$NAME/ca/ca.crt" "$@" "$url")
}

# ev_for PATH: the proxy-request event of that path
ev_for() { grep '"event.action":"proxy-request"' "$EV" | grep -F "$1" | tail -n 1; }
stored() { "$FW" quarantine list -c "$T/$NAME.conf" --json 2>/dev/null | grep -cF "$1"; }
origin_gets() { grep -c "GET $1" "$T/origin.log"; }

NAME=on
conf on true
start_fwgate on "$T/on.conf"
EV=$T/events-on.log
SUP=$(pgrep -P "$FWPID" -f scanner-supervisor | head -n 1)

# A slow clean download (about 2 s): judged as it arrived.
fetch "https://vendor.test:$OP/files/clean.bin?rate=2000000"
check "slow clean download: 200" [ "$CODE" = 200 ]
check "slow clean download: byte-identical" cmp -s "$T/body" "$T/www/clean.bin"
ov=$(ev_for /files/clean.bin | sed -n 's/.*"fwgate.scan.overlap_ms":\([0-9]*\).*/\1/p')
check "slow clean download: the scan ran beside the fetch (overlap_ms $ov >= 1000)" [ "${ov:-0}" -ge 1000 ]
check "slow clean download: spool empty" spool_empty "$T/state-on"

# EICAR in the last bytes, which come last.
fetch "https://vendor.test:$OP/files/late.bin?rate=2000000"
check "EICAR at the end of a slow download: 403" [ "$CODE" = 403 ]
check "... infected, the signature named" grep -q "Fwgate.Test.EICAR" "$T/body"
check "... nothing of the download delivered" not grep -q "EICAR-STANDARD" "$T/body"
check "... its event says it was judged as it arrived" bash -c "grep '\"event.action\":\"proxy-request\"' '$EV' | grep -F /files/late.bin | grep -q '\"fwgate.scan.overlap_ms\":[1-9]'"
check "... held in quarantine" [ "$(stored /files/late.bin)" -ge 1 ]
sha=$(sha256sum "$T/www/late.bin" | cut -d' ' -f1)
check "... the event names the download's SHA-256" bash -c "grep -F /files/late.bin '$EV' | grep -q '$sha'"

# EICAR in a zip member.
fetch "https://vendor.test:$OP/files/pkg.zip?rate=1000000"
check "EICAR in a streamed zip member: 403" [ "$CODE" = 403 ]
check "... the member chain named" grep -q "pkg.zip!eicar.com" "$T/body"

# The vendor goes away halfway.
fetch "https://vendor.test:$OP/files/cut.bin?rate=2000000&cut=1048576"
check "vendor gone halfway: 502" [ "$CODE" = 502 ]
check "... nothing of it delivered" not cmp -s "$T/body" "$T/www/cut.bin"
check "... spool empty" spool_empty "$T/state-on"
check "... nothing recorded" [ "$(stored /files/cut.bin)" = 0 ]
fetch "https://vendor.test:$OP/files/after.bin"
check "the next download is served: 200" [ "$CODE" = 200 ]
check "... byte-identical" cmp -s "$T/body" "$T/www/after.bin"

# Chunked: no length, scanned once fetched.
fetch "https://vendor.test:$OP/chunked/chunked.bin"
check "chunked download: 200" [ "$CODE" = 200 ]
check "... byte-identical" cmp -s "$T/body" "$T/www/chunked.bin"
check "... scanned after the fetch (no overlap_ms)" not bash -c "ev_for() { grep '\"event.action\":\"proxy-request\"' '$EV' | grep -F /chunked/chunked.bin; }; ev_for | grep -q overlap_ms"

# The client leaves mid-download: the vetting goes on.
curl -s -o /dev/null --max-time 0.5 --proxy "http://127.0.0.1:$P" --cacert "$T/state-on/ca/ca.crt" \
	"https://vendor.test:$OP/files/leave.bin?rate=2000000"
wait_for "the abandoned download to be judged" 20 0.1 log_has "$EV" '"proxy-request".*leave.bin.*"http.response.status_code"'
fetch "https://vendor.test:$OP/files/leave.bin?rate=2000000"
check "client gone mid-download: its retry is 200" [ "$CODE" = 200 ]
check "... byte-identical" cmp -s "$T/body" "$T/www/leave.bin"
check "... one vendor request for both" [ "$(origin_gets /files/leave.bin)" = 1 ]

# Slow vendors never hold every worker: with 2 workers, at most one waits
# for a download still arriving; a download that has arrived goes first.
for i in 1 2; do
	curl -s -o "$T/slow$i" -w '%{http_code}' --max-time 40 --proxy "http://127.0.0.1:$P" \
		--cacert "$T/state-on/ca/ca.crt" "https://vendor.test:$OP/files/slow$i.bin?rate=300000" >"$T/slow$i.code" &
	eval "slowpid$i=$!"
done
wait_for "both slow downloads to start" 10 0.05 log_count_ge "$T/origin.log" "GET /files/slow[12].bin" 2
fetch "https://vendor.test:$OP/files/fast.bin"
check "a fast download beside two slow ones: 200" [ "$CODE" = 200 ]
check "... byte-identical" cmp -s "$T/body" "$T/www/fast.bin"
check "... answered while both slow downloads still arrive" bash -c "kill -0 $slowpid1 && kill -0 $slowpid2"
wait "$slowpid1" "$slowpid2"
check "... and the slow ones: 200, byte-identical" \
	bash -c "[ \"\$(cat '$T/slow1.code')\$(cat '$T/slow2.code')\" = 200200 ] && cmp -s '$T/slow1' '$T/www/slow1.bin' && cmp -s '$T/slow2' '$T/www/slow2.bin'"

# A worker killed while the download arrives.
workers() { pgrep -P "$SUP" | tr '\n' ' '; }
ws=$(workers)
curl -s -o "$T/killbody" -w '%{http_code}' --max-time 40 --proxy "http://127.0.0.1:$P" \
	--cacert "$T/state-on/ca/ca.crt" "https://vendor.test:$OP/files/kill.bin?rate=1000000" >"$T/killcode" &
cpid=$!
wait_for "the download to start" 10 0.05 log_has "$T/origin.log" "GET /files/kill.bin"
sleep 0.5
kill -KILL $ws 2>/dev/null
wait "$cpid"
check "worker killed mid-download: 403" [ "$(cat "$T/killcode")" = 403 ]
check "... unscannable, the reason says so" grep -q "unscannable: scanner worker crashed" "$T/killbody"
check "... nothing of the download delivered" not cmp -s "$T/killbody" "$T/www/kill.bin"
n_workers() { [ "$(pgrep -P "$SUP" | wc -l)" -ge 2 ]; }
wait_for "new workers" 10 0.05 n_workers
fetch "https://vendor.test:$OP/files/after.bin?again=1"
check "after the crash the next download is served: 200" [ "$CODE" = 200 ]

# A worker stopped while the download arrives: timeout_seconds (4 s)
# count from the download's last byte (about 2 s in), not from the start
# (whole seconds: the kill comes 3 to 4 s after that byte, so at least
# 5 s in; counted from the start it would come before 4.5 s).
ws=$(workers)
kill -STOP $ws
t0=$(date +%s.%N)
fetch "https://vendor.test:$OP/files/stop.bin?rate=1000000"
t1=$(date +%s.%N)
kill -CONT $ws 2>/dev/null
check "worker hung mid-download: 403" [ "$CODE" = 403 ]
check "... the reason names the timeout" grep -q "scanner worker timed out after 4 s" "$T/body"
check "... killed only after the download and 4 s more (took $(python3 -c "print(round($t1-$t0,1))") s)" \
	python3 -c "import sys; sys.exit(0 if $t1 - $t0 >= 4.8 else 1)"
wait_for "new workers" 10 0.05 n_workers

# The supervisor killed while the download arrives: the gateway starts
# it again, and the finished file is scanned by the new one.
curl -s -o "$T/supbody" -w '%{http_code}' --max-time 40 --proxy "http://127.0.0.1:$P" \
	--cacert "$T/state-on/ca/ca.crt" "https://vendor.test:$OP/files/clean.bin?rate=2000000&sup=1" >"$T/supcode" &
cpid=$!
wait_for "the download to start" 10 0.05 log_has "$T/origin.log" "GET /files/clean.bin\?rate=2000000&sup=1"
sleep 0.3
kill -KILL "$SUP"
wait "$cpid"
check "supervisor killed mid-download: 200 once it is back" [ "$(cat "$T/supcode")" = 200 ]
check "... byte-identical" cmp -s "$T/supbody" "$T/www/clean.bin"
check "... the gateway said it restarted the scanner" log_has "$EV" '"fwgate-scanner-restarted"'
check "... scanned after the fetch (no overlap_ms)" not bash -c "grep '\"event.action\":\"proxy-request\"' '$EV' | grep -F 'sup=1' | grep -q overlap_ms"

kill "$FWPID"
wait_for "gateway on to stop" 20 0.1 exited "$FWPID"

# overlap_fetch = false: the fetch ends first.
NAME=off
conf off false
start_fwgate off "$T/off.conf"
EV=$T/events-off.log
fetch "https://vendor.test:$OP/files/clean.bin?rate=4000000&off=1"
check "overlap off: 200" [ "$CODE" = 200 ]
check "... byte-identical" cmp -s "$T/body" "$T/www/clean.bin"
check "... no overlap_ms" not bash -c "grep '\"event.action\":\"proxy-request\"' '$EV' | grep -F 'off=1' | grep -q overlap_ms"
fetch "https://vendor.test:$OP/files/late.bin?off=1"
check "overlap off: EICAR at the end: 403" [ "$CODE" = 403 ]

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
