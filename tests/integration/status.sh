#!/usr/bin/env bash
# Integration tests of fwgate run as a daemon: `fwgate status` over the
# control socket (the numbers after a real download and a refusal, hostile
# control clients that must not stall anyone), systemd's notify protocol
# (READY, RELOADING, STOPPING, WATCHDOG through a datagram socket like
# systemd's), and [run] user: started as root, the gateway, its scanner
# supervisor and workers run as that user with no capability left.
# Usage: status.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-status-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$T"/*.notify.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"

mkdir -p "$T/www" "$T/sigs"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
fwdata $((256 * 1024 + 17)) "$T/www/fw.bin"
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"
start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"

# conf FILE STATE_DIR [EXTRA]: a gateway on free ports, two workers
conf() {
	P=$(free_port) PC=$(free_port) PM=$(free_port)
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$P" "$PC"
		printf '[mirror]\nhttp_listen = 127.0.0.1:%s\n' "$PM"
		printf '[state]\ndir = %s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$2" "$T" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\n' "$T"
		printf 'resolve = vendor.test:%s:127.0.0.1\n' "$OP"
		printf '[scanner]\nsignatures = %s/sigs\nworkers = 2\n' "$T"
		printf '%b' "${3:-}"
	} >"$1"
}

fetch() {
	CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 --proxy "http://127.0.0.1:$P" \
		--cacert "$STATE/ca/ca.crt" "$@")
}

# json_check DOC PYTHON_EXPR: the expression over d (the document) is true
json_check() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }

# start_notified NAME CONF: fwgate run under notify_harness.py; sets FWPID
start_notified() {
	python3 "$HERE/notify_harness.py" "$T/$1.sock" "$T/$1.notify" 2000000 -- "$FW" run -c "$2" \
		>"$T/$1.out" 2>"$T/$1.err" &
	pids+=($!)
	HPID=$!
	wait_for "fwgate $1 to serve" 15 0.05 serving_or_gone "$T/$1.err" "$HPID"
	FWPID=$(cat "$T/$1.notify.pid" 2>/dev/null)
	log_has "$T/$1.err" "serving on" && return 0
	echo "fwgate $1 did not start: $(cat "$T/$1.err")"
	exit 1
}

STATE=$T/state
conf "$T/fwgate.conf" "$STATE"

# --- no gateway
"$FW" status -c "$T/fwgate.conf" >"$T/none.out" 2>"$T/none.err"
rc=$?
check "no gateway: exit 2" [ "$rc" = 2 ]
check "no gateway: says so" grep -q "no gateway is running on this state directory" "$T/none.err"

# --- a gateway under the notify harness: a download, a refusal
start_notified fw1 "$T/fwgate.conf"
N=$T/fw1.notify
check "control socket created 0660" [ "$(stat -c %a "$STATE/control.sock")" = 660 ]
check "READY=1 after the listeners are up" log_has "$N" '^READY=1\|STATUS=serving on 127.0.0.1:'"$P"
fetch "https://vendor.test:$OP/files/fw.bin"
check "download through the gateway: 200" [ "$CODE" = 200 ]
check "download: byte-identical" cmp -s "$T/body" "$T/www/fw.bin"
fetch "https://notlisted.test:$OP/files/fw.bin"
check "a host off the allow-list: refused" [ "$CODE" = 000 ] || [ "$CODE" = 403 ]
wait_for "uptime" 3 0.1 bash -c "sleep 1.1"

"$FW" status --json -c "$T/fwgate.conf" >"$T/status.json" 2>"$T/status.err"
check "status --json: exit 0" [ $? = 0 ]
size=$(stat -c %s "$T/www/fw.bin")
check "status: version and pid" json_check "$T/status.json" "d['version'] != '' and d['pid'] == $FWPID"
check "status: uptime > 0, started RFC 3339" json_check "$T/status.json" \
	"d['uptime_seconds'] > 0 and d['started'].endswith('Z') and d['started'][10] == 'T'"
check "status: listeners as configured" json_check "$T/status.json" \
	"[(l['name'], l['address']) for l in d['listeners']] == [('proxy', '127.0.0.1:$P'), ('console', '127.0.0.1:$PC'), ('mirror_http', '127.0.0.1:$PM')]"
check "status: 1 approved object with its bytes" json_check "$T/status.json" \
	"d['store']['objects']['approved'] == {'count': 1, 'bytes': $size}"
check "status: workers configured 2, alive 2" json_check "$T/status.json" \
	"d['scanner']['workers']['configured'] == 2 and d['scanner']['workers']['alive'] == 2 and d['scanner']['up']"
check "status: no supervisor restart" json_check "$T/status.json" "d['scanner']['restarts'] == 0"
check "status: signatures loaded" json_check "$T/status.json" "d['signatures']['count'] >= 1 and 'summary' in d['signatures']"
check "status: connections counted" json_check "$T/status.json" \
	"d['connections']['accepted'] >= 2 and d['connections']['open'] >= 0"
check "status: sandbox queue by state" json_check "$T/status.json" \
	"set(d['sandbox']['jobs']) == {'queued', 'running', 'done', 'failed'} and 'runners' in d['sandbox']"
check "status: the refusal among the last errors" json_check "$T/status.json" \
	"any(e['domain'] == 'notlisted.test' and e['action'] == 'proxy-connect-refused' and 'allow-list' in e['reason'] for e in d['last_errors'])"

"$FW" status -c "$T/fwgate.conf" >"$T/status.txt" 2>&1
check "status for people: exit 0" [ $? = 0 ]
check "status for people: listeners line" grep -qE "^listeners +proxy 127.0.0.1:$P, console 127.0.0.1:$PC, mirror_http" "$T/status.txt"
check "status for people: store line" grep -qE "^store +approved 1 \(256.0 KiB\)" "$T/status.txt"
check "status for people: workers" grep -qE "^scanner +up; workers 2 of 2 alive" "$T/status.txt"
check "status for people: last error" grep -qE "^last errors +[0-9T:.-]+Z proxy-connect-refused notlisted.test: " "$T/status.txt"

# --- hostile control clients stall no one
SOCK=$STATE/control.sock
python3 "$HERE/control_clients.py" "$SOCK" silent 2 9 >"$T/silent.out" 2>&1 &
pids+=($!)
SILENT=$!
wait_for "silent clients" 5 0.05 log_has "$T/silent.out" CONNECTED
t0=$(date +%s%N)
python3 "$HERE/control_clients.py" "$SOCK" flood >"$T/flood.out" 2>&1
"$FW" status --json -c "$T/fwgate.conf" >"$T/status2.json" 2>"$T/status2.err"
src=$?
fetch "https://vendor.test:$OP/files/fw.bin?again"
t1=$(date +%s%N)
check "status beside silent and flooding clients: answered" [ "$src" = 0 ]
check "download beside them: 200" [ "$CODE" = 200 ]
check "neither waited for the silent clients (< 3 s)" [ $(((t1 - t0) / 1000000)) -lt 3000 ]
check "1 MiB request: refused as too long" grep -q '"error":"request too long' "$T/flood.out"
python3 "$HERE/control_clients.py" "$SOCK" garbage >"$T/garbage.out" 2>&1
check "garbage request: unknown request" grep -q '"error":"unknown request' "$T/garbage.out"
wait "$SILENT"
check "silent clients closed by the gateway at its deadline" \
	bash -c "[ \$(grep -cE '^closed [4-7]\.[0-9] b..\$' '$T/silent.out') = 2 ]"

# --- notify: reload and stop
kill -HUP "$FWPID"
wait_for "reload done" 20 0.1 log_count_ge "$N" '^READY=1' 2
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" grep -qE '^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=' "$N"
# ready_after_reload LOG: the last RELOADING=1 is followed by a READY=1
ready_after_reload() { awk '/^RELOADING=1/ { r = NR } /^READY=1/ { if (r && NR > r) ok = 1; else ok = 0 } END { exit !(r && ok) }' "$1"; }
check "READY=1 after the reload" ready_after_reload "$N"
check "WATCHDOG=1 pings (every second for WATCHDOG_USEC=2 s)" log_count_ge "$N" '^WATCHDOG=1$' 2
"$FW" reload -c "$T/fwgate.conf" >/dev/null 2>&1
wait_for "second reload done" 20 0.1 log_count_ge "$N" '^READY=1' 3
check "fwgate reload: RELOADING then READY again" log_count_ge "$N" '^RELOADING=1' 2
kill -TERM "$FWPID"
wait_for "the gateway to stop" 20 0.1 exited "$FWPID"
wait "$HPID"
check "SIGTERM: clean exit" [ $? = 0 ]
check "SIGTERM: STOPPING=1" log_has "$N" '^STOPPING=1\|STATUS=stopping \(SIGTERM\)'
check "control socket removed at stop" not test -e "$STATE/control.sock"
"$FW" status -c "$T/fwgate.conf" >/dev/null 2>"$T/none2.err"
check "after the stop: no gateway, exit 2" [ $? = 2 ]

# --- a killed run's socket is replaced at start; without NOTIFY_SOCKET nothing is sent
start_fwgate fw2 "$T/fwgate.conf"
kill -KILL "$FWPID"
wait_for "the gateway to die" 10 0.1 exited "$FWPID"
wait "$FWPID" 2>/dev/null
check "killed run: its socket is left" test -S "$STATE/control.sock"
"$FW" status -c "$T/fwgate.conf" >/dev/null 2>"$T/stale.err"
check "stale socket: no gateway, exit 2" [ $? = 2 ]
check "stale socket: nothing answers" grep -q "nothing answers on the control socket" "$T/stale.err"
start_fwgate fw3 "$T/fwgate.conf"
"$FW" status --json -c "$T/fwgate.conf" >"$T/status3.json" 2>&1
check "restart after a kill: status answers" json_check "$T/status3.json" "d['pid'] == $FWPID"
kill -TERM "$FWPID"
wait_for "the gateway to stop" 20 0.1 exited "$FWPID"

# tree_ids PID UID GID: every thread of the gateway, its scanner
# supervisor and the workers has the ids UID/GID (real, effective, saved,
# filesystem) and no capability; sets procs and ids_ok (yes or what not)
tree_ids() {
	local p t s
	procs="$1 $(pgrep -P "$1") $(for c in $(pgrep -P "$1"); do pgrep -P "$c"; done)"
	ids_ok=yes
	for p in $procs; do
		for t in /proc/$p/task/*; do
			s=$(cat "$t/status" 2>/dev/null) || continue
			echo "$s" | grep -qE "^Uid:\s+$2\s+$2\s+$2\s+$2$" || ids_ok="no: $t Uid"
			echo "$s" | grep -qE "^Gid:\s+$3\s+$3\s+$3\s+$3$" || ids_ok="no: $t Gid"
			echo "$s" | grep -qE '^CapEff:\s+0+$' || ids_ok="no: $t CapEff"
			echo "$s" | grep -qE '^CapPrm:\s+0+$' || ids_ok="no: $t CapPrm"
		done
	done
}

# --- [run] user
if [ "$(id -u)" != 0 ]; then
	echo "ok - # SKIP [run] user: the test must run as root to switch users (uid $(id -u))"
else
	RU=nobody
	# What the gateway reads after the switch must be readable by nobody.
	chmod 755 "$T"
	chmod -R a+rX "$T/pki" "$T/sigs" "$T/card.json" "$T/allow.txt"
	mkdir -m 700 "$T/state-root"
	conf "$T/root.conf" "$T/state-root" "[run]\nuser = $RU\n"
	"$FW" run -c "$T/root.conf" >/dev/null 2>"$T/root.err"
	check "state dir owned by root: refused, exit 2" [ $? = 2 ]
	check "state dir owned by root: says what to run" grep -q "run \`chown -R $RU: $T/state-root\`" "$T/root.err"

	STATE=$T/state-user
	conf "$T/user.conf" "$STATE" "[run]\nuser = $RU\n"
	start_notified fw4 "$T/user.conf"
	uid=$(id -u "$RU") gid=$(id -g "$RU")
	check "state dir created for the user, 0700" [ "$(stat -c '%u %a' "$STATE")" = "$uid 700" ]
	check "logs the user it runs as" grep -q "running as user $RU (uid $uid" "$T/fw4.err"
	tree_ids "$FWPID" "$uid" "$gid"
	check "every thread of each: Uid/Gid of $RU, CapEff and CapPrm 0 ($ids_ok)" [ "$ids_ok" = yes ]
	groups=$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$FWPID/status" | xargs -n1 | sort -n | xargs)
	check "supplementary groups are the user's ($groups)" [ "$groups" = "$(id -G "$RU" | xargs -n1 | sort -n | xargs)" ]
	fetch "https://vendor.test:$OP/files/fw.bin"
	check "download as $RU: 200" [ "$CODE" = 200 ]
	check "download as $RU: byte-identical" cmp -s "$T/body" "$T/www/fw.bin"
	"$FW" status --json -c "$T/user.conf" >"$T/status4.json" 2>&1
	check "status of the gateway running as $RU" json_check "$T/status4.json" \
		"d['store']['objects']['approved']['count'] == 1 and d['pid'] == $FWPID"
	check "READY=1 from the gateway running as $RU" log_has "$T/fw4.notify" '^READY=1'
	kill -TERM "$FWPID"
	wait_for "the gateway to stop" 20 0.1 exited "$FWPID"

	# A proxy port below 1024: CAP_NET_BIND_SERVICE alone is kept across
	# the switch, then dropped by every thread once the listeners are bound.
	LOW=$(python3 -c 'import socket
for p in range(1023, 900, -1):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: s.close()')
	conf "$T/low.conf" "$STATE" "[run]\nuser = $RU\n"
	sed -i "s/^listen = 127.0.0.1:$P\$/listen = 127.0.0.1:$LOW/" "$T/low.conf"
	P=$LOW
	start_fwgate fw5 "$T/low.conf"
	check "port $LOW: the bind capability kept, then dropped" \
		grep -q "CAP_NET_BIND_SERVICE dropped by every thread" "$T/fw5.err"
	tree_ids "$FWPID" "$uid" "$gid"
	check "port $LOW: every thread without a capability ($ids_ok)" [ "$ids_ok" = yes ]
	fetch "https://vendor.test:$OP/files/fw.bin?low"
	check "port $LOW: download as $RU: 200" [ "$CODE" = 200 ]
	kill -TERM "$FWPID"
	wait_for "the gateway to stop" 20 0.1 exited "$FWPID"
fi

# An ASan+UBSan build reports on stderr (and a leak only at exit).
check "no sanitizer report from any gateway" not grep -l "Sanitizer" "$T"/*.err

echo "# $pass passed, $fail failed"
[ "$fail" = 0 ]
