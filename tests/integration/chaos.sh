#!/usr/bin/env bash
# Robustness of the gateway the way it fails in production, with real
# sockets: clients that vanish at every stage of a request (dozens of each,
# mixed), slow clients from a second address holding more connections than
# max_clients while the appliance is still served, 1,500 idle connections,
# request-smuggling shapes inside the tunnel, pipelining, a client that gives
# up on a slow download (its result is committed and its retry answered
# without a second vendor fetch), SIGHUP during a download, a client outside
# [proxy] clients and proxy authentication, and kill -9 of the gateway at
# random moments (fetch, scan, commit, sandbox job), each followed by a
# restart that comes up by itself and a store that verifies. After every
# phase the gateway is alive, an intact download works and nothing is left in
# the spool or the scanner's temporary directory.
# Usage: chaos.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-chaos-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${FWPID:-}" ] && kill -KILL "$FWPID" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"
CLIENTS=$HERE/chaos_clients.py

mkdir -p "$T/www" "$T/sigs"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"
printf 'small firmware\n' >"$T/www/small.bin"
printf 'small firmware two\n' >"$T/www/small2.bin"
fwdata $((8 * 1024 * 1024)) "$T/www/big.bin"
fwdata $((2 * 1024 * 1024)) "$T/www/mid.bin"
fwdata $((24 * 1024 * 1024)) "$T/www/scan.bin"
mkdir -p "$T/mk" && fwdata 300000 "$T/mk/payload.bin"
(cd "$T/mk" && zip -q "$T/www/pkg.zip" payload.bin)

start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"
P=$(free_port)
# write_conf FILE PORT STATE [extra lines for [proxy]]
write_conf() {
	local f=$1 port=$2 state=$3; shift 3
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\nmax_clients = 48\nmax_clients_per_source = 12\n' "$port"
		printf 'head_timeout_seconds = 3\nidle_timeout_seconds = 10\nexchange_timeout_seconds = 30\n'
		for l in "$@"; do printf '%s\n' "$l"; done
		printf '[console]\nlisten = 127.0.0.1:%s\n' "$(free_port)"
		printf '[state]\ndir = %s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$state" "$T" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\nresolve = vendor.test:%s:127.0.0.1\n' "$T" "$OP"
		printf '[scanner]\nsignatures = %s/sigs\ntimeout_seconds = 60\nmax_seconds = 50\n' "$T"
		printf '[sandbox]\nhold_seconds = 5\n'
		printf '[log]\nfile = %s/events.log\n' "$T"
	} >"$f"
}
write_conf "$T/fwgate.conf" "$P" "$T/state"
start_fwgate fw "$T/fwgate.conf"
CA=$T/state/ca/ca.crt
EV=$T/events.log
BASE="https://vendor.test:$OP/files"

alive() { kill -0 "$FWPID" 2>/dev/null; }

# One gateway per state directory: a second one would empty the first's
# spool and scanner directories.
write_conf "$T/second.conf" "$(free_port)" "$T/state"
"$FW" run -c "$T/second.conf" >"$T/second.out" 2>"$T/second.err"
check "a second gateway on the same state directory is refused (exit $?)" [ $? = 2 ]
check "... and says why" grep -q "another fwgate run is using the state directory" "$T/second.err"
no_scratch() { [ -z "$(find "$T/state/spool" "$T/state/tmp" -mindepth 1 2>/dev/null)" ]; }
scratch_empty() {
	wait_for "spool/ and tmp/ to be empty" 10 0.1 no_scratch && return 0
	find "$T/state/spool" "$T/state/tmp" -mindepth 1
	return 1
}
# get URL [curl args]: CODE, body in $T/body
get() {
	local url=$1; shift
	CODE=$(curl -s -o "$T/body" -w '%{http_code} %{http_connect}' --max-time 30 --proxy "http://127.0.0.1:$P" \
		--cacert "$CA" "$@" "$url")
	if [ "${CODE% *}" = 000 ]; then CODE=${CODE#* }; else CODE=${CODE% *}; fi
}
n_intact=0
intact() {
	n_intact=$((n_intact + 1))
	get "$BASE/small.bin?intact=$n_intact"
	check "$1: the gateway is alive" alive
	check "$1: an intact download works" [ "$CODE" = 200 ]
	check "$1: ... byte-identical" cmp -s "$T/body" "$T/www/small.bin"
	check "$1: nothing left in spool/ or tmp/" scratch_empty
}
cl() { python3 "$CLIENTS" "$@" --proxy "$P" --port "$OP" --cafile "$CA"; }

# --- clients that vanish at every stage (12 of each kind, mixed)
out=$(cl resets --count 12 2>"$T/resets.err")
check "resets: 72 clients vanished at every stage (${out})" [ "$out" = "resets 72 errors 0" ]
check "resets: handshakes cut short are events naming why" \
	grep -q '"event.action":"proxy-tls-refused".*went away during the TLS handshake' "$EV"
check "resets: broken tunnels end through the close path with their reason" \
	grep -q '"event.action":"proxy-connection-closed".*broke in the tunnel' "$EV"
check "resets: a delivery cut short is an event" grep -q '"fwgate.verdict":"delivery-failed"' "$EV"
intact "after the resets"

# --- slow clients from 127.0.0.2: more connections than max_clients (48),
# each trickling its CONNECT; the appliance at 127.0.0.1 is served at once
mkfifo "$T/slow.ctl"
python3 "$CLIENTS" hold --proxy "$P" --source 127.0.0.2 --count 60 --gap 1 --hold 40 <"$T/slow.ctl" >"$T/slow.out" &
SLOWPID=$!
pids+=("$SLOWPID")
exec 9>"$T/slow.ctl"
wait_for "the slow clients to connect" 10 0.1 log_has "$T/slow.out" HOLDING
check "slow clients: 60 connections made" grep -q "HOLDING open=60" "$T/slow.out"
t0=$(date +%s.%N)
get "$BASE/small.bin?during=slow"
t1=$(date +%s.%N)
check "slow clients: the appliance is served while they hold" [ "$CODE" = 200 ]
echo "# the appliance waited $(python3 -c "print(round($t1 - $t0, 3))") s under 60 slow clients from 127.0.0.2"
check "slow clients: beyond max_clients_per_source: 503 events naming the source" \
	grep -q '"event.action":"proxy-busy".*"source.ip":"127.0.0.2".*max_clients_per_source' "$EV"
# The admitted ones trickle a byte a second: cut at 3 s from their
# connection however many bytes came, not kept while bytes keep coming.
wait_for "the slow clients' head timeout" 10 0.1 \
	log_has "$EV" '"event.action":"proxy-refused".*"source.ip":"127.0.0.2".*did not arrive within 3000 ms'
check "slow clients: the head timeout counts from the connection (3 s, not per byte)" \
	grep -q '"event.action":"proxy-refused".*"source.ip":"127.0.0.2".*did not arrive within 3000 ms' "$EV"
exec 9>&-
wait "$SLOWPID" 2>/dev/null
intact "after the slow clients"

# --- 1,500 idle connections from 127.0.0.3
mkfifo "$T/idle.ctl"
python3 "$CLIENTS" hold --idle --proxy "$P" --source 127.0.0.3 --count 1500 --hold 30 <"$T/idle.ctl" >"$T/idle.out" &
IDLEPID=$!
pids+=("$IDLEPID")
exec 9>"$T/idle.ctl"
wait_for "the idle connections to be made" 20 0.1 log_has "$T/idle.out" HOLDING
check "idle flood: 1500 connections attempted" grep -q "HOLDING open=" "$T/idle.out"
get "$BASE/small.bin?during=idle"
check "idle flood: the appliance is served" [ "$CODE" = 200 ]
check "idle flood: the gateway is alive" alive
exec 9>&-
wait "$IDLEPID" 2>/dev/null
intact "after the idle flood"

# --- request smuggling shapes inside the tunnel: 400, and pipelining
cl smuggle >"$T/smuggle.out" 2>&1
for shape in cl-and-te two-cl unknown-coding space-before-colon te-chunked; do
	check "smuggling: $shape refused with 400" grep -q "^$shape 400$" "$T/smuggle.out"
done
cl pipeline --url /files/small.bin --url2 /files/small2.bin >"$T/pipe.out" 2>&1
check "pipelining: two requests answered in order" \
	[ "$(cat "$T/pipe.out")" = "$(printf 'HTTP/1.1 200 OK small firmware\nHTTP/1.1 200 OK small firmware two')" ]

# --- a client that gives up while its download is fetched: the vetting
# completes and is committed; its retry (while the first is still in flight)
# is answered without a second vendor fetch
cl giveup --url "/files/mid.bin?giveup=1&rate=700000" --after 0.5 >"$T/giveup.out" 2>&1
get "$BASE/mid.bin?giveup=1&rate=700000"
check "give-up: the retry gets the bytes" cmp -s "$T/body" "$T/www/mid.bin"
check "give-up: the vendor was asked once" \
	[ "$(grep -c 'GET /files/mid.bin?giveup=1&rate=700000' "$T/origin.log")" = 1 ]
intact "after the client that gave up"

# --- SIGHUP during a download: the download completes
curl -s -o "$T/hup.body" --max-time 60 --proxy "http://127.0.0.1:$P" --cacert "$CA" \
	"$BASE/big.bin?hup=1&rate=4000000" &
HUPCURL=$!
# the fetch is under way: the vendor was asked and bytes are in the spool
fetching() { log_has "$T/origin.log" 'GET /files/big.bin[?]hup=1' && [ -n "$(find "$T/state/spool" -mindepth 1 -size +0 2>/dev/null)" ]; }
wait_for "the download to be under way" 10 0.02 fetching
kill -HUP "$FWPID"
wait "$HUPCURL"
check "SIGHUP during a download: delivered intact" cmp -s "$T/hup.body" "$T/www/big.bin"
check "SIGHUP: the signatures were reloaded" grep -q '"event.action":"fwgate-reload"' "$EV"
intact "after SIGHUP"

# --- only the appliance: a source outside [proxy] clients, proxy credentials
P2=$(free_port)
write_conf "$T/auth.conf" "$P2" "$T/state2" "clients = 127.0.0.1/32" "auth = basic"
sed -i "s#file = $T/events.log#file = $T/events2.log#" "$T/auth.conf"
mkdir -p "$T/state2"
printf 'appliance-secret-1\n' | "$FW" proxyuser add appliance -c "$T/auth.conf" >/dev/null 2>&1
FW1=$FWPID
start_fwgate fw2 "$T/auth.conf"
FW2=$FWPID
FWPID=$FW1
c2() { curl -s -o "$T/body2" -w '%{http_connect}' --max-time 20 --proxy "http://127.0.0.1:$P2" --cacert "$T/state2/ca/ca.crt" "$@" \
	"$BASE/small.bin?auth=1"; }
check "a source outside [proxy] clients: 403" [ "$(c2 --interface 127.0.0.2)" = 403 ]
check "... an event naming the source" \
	grep -q '"event.action":"proxy-client-refused".*"source.ip":"127.0.0.2"' "$T/events2.log"
check "no credentials: 407" [ "$(c2)" = 407 ]
check "wrong credentials: 407" [ "$(c2 --proxy-user appliance:wrong-password)" = 407 ]
check "... an event with the user" grep -q '"event.action":"proxy-auth-refused".*refused (user \\"appliance\\")' "$T/events2.log"
c2 --proxy-user appliance:appliance-secret-1 >/dev/null
check "the right credentials: served" cmp -s "$T/body2" "$T/www/small.bin"
kill -TERM "$FW2"
wait "$FW2" 2>/dev/null

# --- out of descriptors: a gateway with a hard limit of 96 descriptors and
# more idle connections than that; accept rests instead of spinning (an
# event says why), and once the idle ones time out the appliance is served
P3=$(free_port)
write_conf "$T/emfile.conf" "$P3" "$T/state3" "max_clients = 400" "max_clients_per_source = 400"
sed -i -e 's/^max_clients = 48$//' -e 's/^max_clients_per_source = 12$//' "$T/emfile.conf"
sed -i "s#file = $T/events.log#file = $T/events3.log#" "$T/emfile.conf"
(ulimit -Sn 96 && ulimit -Hn 96 && exec "$FW" run -c "$T/emfile.conf") >"$T/emfile.out" 2>"$T/emfile.err" &
FW3=$!
pids+=("$FW3")
wait_for "the gateway with 96 descriptors to serve" 10 0.05 serving_or_gone "$T/emfile.err" "$FW3"
check "low descriptor limit: a warning at start" grep -q "the descriptor limit is 96" "$T/emfile.err"
mkfifo "$T/emfile.ctl"
python3 "$CLIENTS" hold --idle --spread --proxy "$P3" --count 150 --hold 20 <"$T/emfile.ctl" >"$T/emfile-hold.out" &
EMHOLD=$!
pids+=("$EMHOLD")
exec 9>"$T/emfile.ctl"
wait_for "accept to fail for want of descriptors" 5 0.05 log_has "$T/events3.log" '"event.action":"proxy-accept-failed"'
check "out of descriptors: an event says accept rests" \
	grep -q '"event.action":"proxy-accept-failed".*Too many open files' "$T/events3.log"
ticks() { awk '{print $14 + $15}' "/proc/$FW3/stat"; }
k0=$(ticks)
sleep 2 # the measured interval itself
k1=$(ticks)
echo "# out of descriptors: the gateway used $((k1 - k0)) clock ticks of CPU in 2 s"
check "out of descriptors: the accept loop does not spin (under 0.5 s of CPU in 2 s)" [ $((k1 - k0)) -lt 50 ]
exec 9>&-
wait "$EMHOLD" 2>/dev/null
code=000
emfile_served() {
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy "http://127.0.0.1:$P3" \
		--cacert "$T/state3/ca/ca.crt" "$BASE/small.bin?emfile=1")
	[ "$code" = 200 ]
}
wait_for "a download once the descriptors are free" 12 0.2 emfile_served
check "out of descriptors: once they are free the appliance is served" [ "$code" = 200 ]
check "out of descriptors: the gateway is alive" kill -0 "$FW3"
kill -TERM "$FW3"
wait "$FW3" 2>/dev/null

# --- kill -9 at random moments, 12 rounds: during a fetch, a scan, a
# commit, a sandbox job; each time the gateway comes up by itself, its store
# verifies, and an intact download works
kinds=(fetch scan commit sandbox)
for round in $(seq 1 12); do
	kind=${kinds[$((round % 4))]}
	case $kind in
	fetch) url="$BASE/mid.bin?round=$round&rate=500000" ;;
	scan) url="$BASE/scan.bin?round=$round" ;;
	commit) url="$BASE/big.bin?round=$round" ;;
	sandbox) url="$BASE/pkg.zip?round=$round" ;;
	esac
	curl -s -o /dev/null --max-time 60 --proxy "http://127.0.0.1:$P" --cacert "$CA" "$url" &
	CURLPID=$!
	sleep "$(python3 -c "import random; print(round(random.uniform(0.1, 1.4), 2))")" # the random moment tested
	SUP=$(pgrep -P "$FWPID" | head -n 1)
	kill -KILL "$FWPID"
	wait "$FWPID" 2>/dev/null
	wait "$CURLPID" 2>/dev/null
	gone=1
	if [ -z "$SUP" ] || wait_for "the scanner to end with the gateway" 5 0.1 exited "$SUP"; then
		gone=0
	fi
	check "kill -9 round $round ($kind): the scanner went with the gateway" [ $gone = 0 ]
	start_fwgate "fw-r$round" "$T/fwgate.conf"
	check "kill -9 round $round ($kind): the gateway came up by itself" alive
	"$FW" store verify -c "$T/fwgate.conf" >"$T/verify.out" 2>&1
	check "kill -9 round $round ($kind): fwgate store verify returns 0" [ $? = 0 ]
	intact "kill -9 round $round ($kind)"
done
check "the start event reports what killed runs left" grep -q '"fwgate.start.removed.spool"' "$EV"

# SIGTERM right after SIGHUP: the reload does not hold the stop up.
kill -HUP "$FWPID"
kill -TERM "$FWPID"
stopped=1
wait_for "the gateway to stop" 10 0.1 exited "$FWPID" && stopped=0
check "SIGTERM during a reload stops the gateway within 10 s" [ $stopped = 0 ]
check "... with its stop event" grep -q '"event.action":"fwgate-stop"' "$EV"
grep -h "removed what an earlier run left" "$T"/fw-r*.err | sort | uniq -c | sed 's/^/# /'

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
