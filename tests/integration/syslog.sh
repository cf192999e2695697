#!/usr/bin/env bash
# Integration test of event forwarding to a remote syslog collector, with
# Debian's real rsyslogd as the receiver (unprivileged, foreground, on
# 127.0.0.1: imtcp with octet counting, and a TLS listener through the gtls
# driver with a certificate of the test PKI for the name localhost). Real downloads and refusals
# through `fwgate run` with curl; every event of the gateway's events.log
# must arrive over TCP and over TLS with its structured data intact (parsed
# back field by field); a killed collector must not fail or hold a
# download, drops are counted and reported after the reconnect; a wrong CA
# means no delivery and a clear error, never plaintext; a policy with
# log_forwarding false forwards nothing; UDP datagrams arrive too.
# Usage: syslog.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-syslog-XXXXXX")
pids=()
RSPID=
cleanup() {
	for p in "${pids[@]}" $RSPID; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"

RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
if [ ! -x "$RSYSLOGD" ] || [ ! -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] &&
	! ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1; then
	echo "rsyslog and rsyslog-gnutls are required (tools/dev.sh installs them)"
	exit 1
fi

# --- the PKI, the collector's certificate (its address and name), the origin
mkdir -p "$T/www" "$T/rs"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
(
	cd "$T/pki" &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout collector.key \
		-out collector.csr -subj /CN=collector 2>/dev/null &&
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n' >collector.ext &&
	openssl x509 -req -in collector.csr -CA testca.crt -CAkey testca.key -CAcreateserial -days 2 \
		-extfile collector.ext -out collector.crt 2>/dev/null &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key \
		-out client.csr -subj /CN=fwgate-client 2>/dev/null &&
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:fwgate-client\n' >client.ext &&
	openssl x509 -req -in client.csr -CA testca.crt -CAkey testca.key -CAcreateserial -days 2 \
		-extfile client.ext -out client.crt 2>/dev/null
) || { echo "collector certificate failed"; exit 1; }
printf 'small firmware\n' >"$T/www/small.bin"
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$T/www/eicar.com"
for i in 1 2 3 4 5 6; do printf 'firmware %s\n' "$i" >"$T/www/fw$i.bin"; done
mkdir -p "$T/sigs"
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"
start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"

# --- the collector: one rsyslogd, a plain and a TLS listener, one file
RTCP=$(free_port)
RTLS=$(free_port)
RMTLS=$(free_port)
RUDP=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RLOG=$T/rs/received.log
cat >"$T/rs/rsyslog.conf" <<EOF
global(workDirectory="$T/rs" maxMessageSize="64k"
       DefaultNetstreamDriverCAFile="$T/pki/testca.crt"
       DefaultNetstreamDriverCertFile="$T/pki/collector.crt"
       DefaultNetstreamDriverKeyFile="$T/pki/collector.key")
module(load="imtcp" MaxSessions="50")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$RUDP" name="udp")
input(type="imtcp" address="127.0.0.1" port="$RTCP" name="tcp")
input(type="imtcp" address="127.0.0.1" port="$RTLS" name="tls"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="$RMTLS" name="mtls"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
template(name="fields" type="string"
         string="%inputname%\t%procid%\t%msgid%\t%pri%\t%timereported:::date-rfc3339%\t%app-name%\t%structured-data%\t%msg%\n")
action(type="omfile" file="$RLOG" template="fields")
EOF
rs_listening() {
	ss -Hltn "( sport = :$RTCP or sport = :$RTLS or sport = :$RMTLS )" 2>/dev/null | grep -c LISTEN | grep -qx 3 &&
		ss -Hlun "( sport = :$RUDP )" 2>/dev/null | grep -q .
}
start_rsyslog() {
	"$RSYSLOGD" -n -f "$T/rs/rsyslog.conf" -i "$T/rs/pid" >>"$T/rs/out" 2>&1 &
	RSPID=$!
	wait_for "rsyslogd to listen" 10 0.05 rs_listening || { echo "rsyslogd did not start: $(cat "$T/rs/out")"; exit 1; }
}
stop_rsyslog() {
	kill -KILL "$RSPID" 2>/dev/null
	wait "$RSPID" 2>/dev/null
	RSPID=
	rm -f "$T/rs/pid"
}
start_rsyslog

# The checker: every event of EVENTS (the gateway's events.log) arrived at
# the collector from PID over INPUT, whole: MSG is the JSON line, each
# field is a structured-data parameter with its value, the profile is
# there, MSGID is event.action and PRI is local4 with the outcome's
# severity (siem_high_priority: error for a failure, else notice).
# Modes: all (every event arrived), some (what arrived is intact; prints
# how many arrived), none (nothing from PID arrived).
cat >"$T/check.py" <<'PY'
import json, re, sys
events_path, recv_path, pid, inp, mode = sys.argv[1:6]
BOM = "\ufeff"

def sd_parse(sd):
    m = re.match(r'^\[fwgate@32473((?: [^= \]"]+="(?:[^"\\\]]|\\["\\\]])*")*)\]$', sd)
    if not m:
        raise ValueError("structured data does not parse: " + sd[:200])
    params = {}
    for name, val in re.findall(r' ([^= \]"]+)="((?:[^"\\\]]|\\["\\\]])*)"', m.group(1)):
        params[name] = re.sub(r'\\(["\\\]])', r'\1', val)
    return params

def pname(key):
    # fw_syslog_param_name for names of at most 32 characters
    assert len(key) <= 32, key
    return "".join("_" if (c < "!" or c > "~" or c in '=]"') else c for c in key) or "_"

got = []
with open(recv_path, encoding="utf-8") as f:
    for line in f:
        parts = line.rstrip("\n").split("\t", 7)
        if len(parts) == 8 and parts[1] == pid:
            got.append(parts)
events = [l.rstrip("\n") for l in open(events_path, encoding="utf-8") if l.strip()]
if mode == "none":
    if got:
        sys.exit("%d message(s) from %s arrived: %s" % (len(got), pid, got[0][:4]))
    sys.exit(0)
by_msg = {}
for g in got:
    if g[0] != inp:
        sys.exit("a message came over %s, not %s" % (g[0], inp))
    msg = g[7]
    if not msg.startswith(BOM):
        sys.exit("MSG does not start with the BOM: " + msg[:80])
    by_msg[msg[len(BOM):]] = g
if mode == "some":
    unknown = [m for m in by_msg if m not in events]
    if unknown:
        sys.exit("a message that is no event of the log: " + unknown[0][:200])
    events = [e for e in events if e in by_msg]
    print(len(events))
missing = [e for e in events if e not in by_msg]
if missing:
    sys.exit("%d of %d event(s) did not arrive, first: %s" % (len(missing), len(events), missing[0][:300]))
for e in events:
    inp_, pid_, msgid, pri, ts, app, sd, msg = by_msg[e]
    ev = json.loads(e)
    params = sd_parse(sd)
    for k, v in ev.items():
        want = v if isinstance(v, str) else json.dumps(v)
        want = "".join("\ufffd" if ord(c) < 0x20 or ord(c) == 0x7f else c for c in want)
        if params.get(pname(k)) != want:
            sys.exit("field %s: SD has %r, the event %r" % (k, params.get(pname(k)), want))
    if params.get("profile") != "siem_high_priority":
        sys.exit("no profile in " + sd[:200])
    if len(params) != len(ev) + 1:
        sys.exit("SD has %d parameters for %d fields" % (len(params), len(ev)))
    if msgid != ev["event.action"] or app != "fwgate":
        sys.exit("MSGID %s / APP-NAME %s for %s" % (msgid, app, ev["event.action"]))
    sev = 3 if ev["event.outcome"] == "failure" else 5
    if int(pri) != 20 * 8 + sev:
        sys.exit("PRI %s for outcome %s" % (pri, ev["event.outcome"]))
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|\+00:00)$", ts):
        sys.exit("TIMESTAMP " + ts)
PY
# delivered EVENTS PID INPUT: every event arrived intact
delivered() { python3 "$T/check.py" "$1" "$RLOG" "$2" "$3" all 2>"$T/check.err"; }
# n_lines FILE: events in the log
n_lines() { local n; n=$(grep -c . "$1" 2>/dev/null); echo "${n:-0}"; }

# gateway NAME TARGET [extra [log] lines]: config and start; sets FWPID, EV, GP, CA
gateway() {
	local name=$1 target=$2; shift 2
	GP=$(free_port)
	EV=$T/$name.events.log
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = off\n' "$GP"
		printf '[state]\ndir = %s/%s.state\n[policy]\nfile = %s\nallowlist = %s/allow.txt\n' "$T" "$name" "${CARD:-$T/card.json}" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\nresolve = vendor.test:%s:127.0.0.1\n' "$T" "$OP"
		printf '[scanner]\nsignatures = %s/sigs\nworkers = 1\ntimeout_seconds = 60\nmax_seconds = 30\n' "$T"
		printf '[log]\nfile = %s\nsyslog_facility = local4\nsyslog_target = %s\n' "$EV" "$target"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$T/$name.conf"
	start_fwgate "$name" "$T/$name.conf"
	CA=$T/$name.state/ca/ca.crt
}
stop_gateway() { kill "$FWPID" 2>/dev/null; wait "$FWPID" 2>/dev/null; }

# fetch URL: through the current gateway; CODE (a refused CONNECT: its status)
fetch() {
	CODE=$(curl -s -o "$T/body" -w '%{http_code} %{http_connect}' --max-time 30 \
		--proxy "http://127.0.0.1:$GP" --cacert "$CA" "$1")
	CURLRC=$?
	if [ "${CODE% *}" = 000 ]; then CODE=${CODE#* }; else CODE=${CODE% *}; fi
}
# traffic: an allowed download, an infected one, a refused CONNECT
traffic() {
	fetch "https://vendor.test:$OP/files/small.bin"
	check "$1: allowed download: 200" [ "$CODE.$CURLRC" = 200.0 ]
	fetch "https://vendor.test:$OP/files/eicar.com"
	check "$1: infected download: 403" [ "$CODE" = 403 ]
	fetch "https://notlisted.test:$OP/files/small.bin"
	check "$1: not allow-listed: CONNECT refused (403)" [ "$CODE" = 403 ]
}
# all_arrived EVENTS PID INPUT: waited for (bounded), then checked
all_arrived() {
	wait_for "$1 to arrive over $3" 30 0.1 delivered "$@"
	if delivered "$@"; then ok "$4"; else bad "$4" "$(cat "$T/check.err")"; fi
}

# --- TCP: every event arrives, octet-counted, structured data intact
gateway tcp "tcp://127.0.0.1:$RTCP"
check "tcp: connected (stderr)" wait_for "the connection" 10 0.05 log_has "$T/tcp.err" "syslog: connected to tcp://127.0.0.1:$RTCP"
traffic tcp
check "tcp: the downloads made events" log_count_ge "$EV" '"proxy-request"|"proxy-connect-refused"' 3
all_arrived "$EV" "$FWPID" tcp "tcp: every event arrived with its structured data"

# A killed collector: downloads go on at full speed (nothing waits on the
# network), the loss of the connection is an event, and after the
# collector is back every event queued meanwhile arrives.
stop_rsyslog
for i in 1 2; do
	fetch "https://vendor.test:$OP/files/fw$i.bin"
	check "tcp, collector killed: download $i completes (200)" [ "$CODE.$CURLRC" = 200.0 ]
	check "tcp, collector killed: download $i byte-identical" cmp -s "$T/body" "$T/www/fw$i.bin"
done
wait_for "the error event" 15 0.1 log_has "$EV" '"fwgate-syslog-error"'
check "tcp, collector killed: the loss is an event" log_has "$EV" '"event.action":"fwgate-syslog-error".*"fwgate.syslog.target":"tcp://127.0.0.1:'"$RTCP"
check "tcp, collector killed: and a line on stderr" log_has "$T/tcp.err" "fwgate: syslog tcp://127.0.0.1:$RTCP: "
start_rsyslog
all_arrived "$EV" "$FWPID" tcp "tcp: after the collector is back, every event arrived (the outage's included)"
# The stop event is emitted just before the log closes: the close flushes it.
stop_gateway
stop_arrived() { awk -F'\t' -v p="$FWPID" '$2 == p && $3 == "fwgate-stop"' "$RLOG" | grep -q .; }
wait_for "the stop event at the collector" 10 0.1 stop_arrived
check "tcp: the stop event was flushed at close" stop_arrived
all_arrived "$EV" "$FWPID" tcp "tcp: after the stop, still every event arrived"

# --- TLS: the same over RFC 5425, verified against the test CA and the name
gateway tls "tls://localhost:$RTLS" "syslog_ca_file = $T/pki/testca.crt" "syslog_queue = 2"
check "tls: connected (stderr)" wait_for "the connection" 10 0.05 log_has "$T/tls.err" "syslog: connected to tls://localhost:$RTLS"
traffic tls
all_arrived "$EV" "$FWPID" tls "tls: every event arrived with its structured data"

# A killed collector with a queue of 2: more events than fit are dropped
# and counted, downloads still complete; after the reconnect a report of
# the drops is an event that reaches the collector too.
stop_rsyslog
for i in 3 4 5 6; do
	fetch "https://vendor.test:$OP/files/fw$i.bin"
	check "tls, collector killed: download $i completes (200)" [ "$CODE.$CURLRC" = 200.0 ]
done
start_rsyslog
wait_for "the drop report" 40 0.1 log_has "$EV" '"fwgate-syslog-dropped"'
check "tls: the drops are reported after the reconnect" \
	log_has "$EV" '"event.action":"fwgate-syslog-dropped".*"fwgate.syslog.dropped":[1-9]'
check "tls: and on stderr" log_has "$T/tls.err" "event\(s\) were not forwarded to the syslog collector"
drop_arrived() { awk -F'\t' -v p="$FWPID" '$2 == p && $3 == "fwgate-syslog-dropped"' "$RLOG" | grep -q .; }
wait_for "the drop report at the collector" 30 0.1 drop_arrived
check "tls: the drop report reached the collector" drop_arrived
if n=$(python3 "$T/check.py" "$EV" "$RLOG" "$FWPID" tls some 2>"$T/check.err"); then
	ok "tls: what arrived is intact ($n events)"
else
	bad "tls: what arrived is intact" "$(cat "$T/check.err")"
fi
check "tls: fewer arrived than were logged (drops)" [ "${n:-0}" -lt "$(n_lines "$EV")" ]
stop_gateway

# --- TLS with a client certificate, to a collector that requires one
gateway mtls "tls://localhost:$RMTLS" "syslog_ca_file = $T/pki/testca.crt" \
	"syslog_cert_file = $T/pki/client.crt" "syslog_key_file = $T/pki/client.key"
fetch "https://vendor.test:$OP/files/small.bin"
check "mtls: download 200" [ "$CODE" = 200 ]
all_arrived "$EV" "$FWPID" mtls "mtls: with the client certificate every event arrived"
stop_gateway
gateway nocert "tls://localhost:$RMTLS" "syslog_ca_file = $T/pki/testca.crt"
wait_for "the error event" 15 0.1 log_has "$EV" '"fwgate-syslog-error"'
fetch "https://vendor.test:$OP/files/small.bin"
check "no client certificate: download 200" [ "$CODE" = 200 ]
check "no client certificate: the collector refuses, an error event" log_has "$EV" '"fwgate-syslog-error"'
stop_gateway
check "no client certificate: nothing arrived" python3 "$T/check.py" "$EV" "$RLOG" "$FWPID" mtls none

# --- UDP: one datagram a message (RFC 5426), the same structured data
gateway udp "udp://127.0.0.1:$RUDP"
traffic udp
all_arrived "$EV" "$FWPID" udp "udp: every event arrived with its structured data"
stop_gateway

# --- TLS with the wrong CA: no delivery, a clear error, no plaintext
gateway wrongca "tls://localhost:$RTLS" "syslog_ca_file = $T/pki/otherca.crt"
fetch "https://vendor.test:$OP/files/small.bin"
check "wrong CA: the download completes (200)" [ "$CODE" = 200 ]
wait_for "the error event" 15 0.1 log_has "$EV" '"fwgate-syslog-error"'
check "wrong CA: the error event says the certificate is not trusted" \
	log_has "$EV" '"event.action":"fwgate-syslog-error".*certificate is not trusted'
check "wrong CA: and stderr" log_has "$T/wrongca.err" "syslog tls://localhost:$RTLS: .*certificate is not trusted"
check "wrong CA: never connected" not log_has "$T/wrongca.err" "syslog: connected"
check "wrong CA: nothing arrived" python3 "$T/check.py" "$EV" "$RLOG" "$FWPID" tls none
stop_gateway

# --- TLS to the right CA at an address the certificate does not name
# (it names localhost only): the identity is checked, not just the chain
gateway wrongname "tls://127.0.0.1:$RTLS" "syslog_ca_file = $T/pki/testca.crt"
wait_for "the error event" 15 0.1 log_has "$EV" '"fwgate-syslog-error"'
check "wrong name: refused, the certificate does not match" \
	log_has "$EV" '"event.action":"fwgate-syslog-error".*certificate is not trusted: [^"]*mismatch'
check "wrong name: never connected" not log_has "$T/wrongname.err" "syslog: connected"
stop_gateway

# --- the policy forbids forwarding: a warning, nothing sent
python3 - "$T/card.json" "$T/card-nofwd.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["rules"][0]["logging"]["log_forwarding"] = False
json.dump(c, open(sys.argv[2], "w"))
PY
CARD=$T/card-nofwd.json gateway nofwd "tcp://127.0.0.1:$RTCP"
check "log_forwarding false: a start warning" log_has "$T/nofwd.err" "log_forwarding is false: no event is forwarded"
fetch "https://vendor.test:$OP/files/small.bin"
check "log_forwarding false: download 200" [ "$CODE" = 200 ]
stop_gateway
check "log_forwarding false: nothing arrived" python3 "$T/check.py" "$EV" "$RLOG" "$FWPID" tcp none

# --- a bad target stops the start with FILE:LINE
printf '[log]\nsyslog_target = tcp://[::1]\n' >"$T/bad.conf"
"$FW" config check -c "$T/bad.conf" >/dev/null 2>"$T/bad.err"
check "bad target: config check exits 2" [ $? = 2 ]
check "bad target: FILE:LINE and the reason" log_has "$T/bad.err" "bad.conf:2: \[log\] syslog_target: .*an IPv6 address is written \[ADDRESS\]:PORT"

echo "passed $pass, failed $fail"
[ "$fail" = 0 ]
