#!/usr/bin/env bash
# Integration tests of the staff console through the real gateway
# (`fwgate run`), with real curl and openssl as the staff's clients and
# the real TLS origin feeding the quarantine through the proxy: TLS and
# the security headers, accounts from the CLI, the login lockout, sessions
# (logout, password change), CSRF and cross-site refusals, roles, four-eyes
# release (the same reviewer cannot confirm; an infected override needs an
# admin), reject, audit with the chain status, escaping of hostile member
# names and URLs, the JSON API with tokens, /metrics, request bounds; then
# the browser test (tests/browser/console_test.mjs, headless Chromium).
# Usage: console.sh FWGATE_BINARY SOURCE_ROOT [SCREENSHOT_DIR]
set -u
FW=$1
SRC=$2
SHOTS=${3:-}
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-console-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"

# --- the origin, its files, the gateway
mkdir -p "$T/www" "$T/sigs"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
python3 - "$T/www" "$EICAR" <<'PY' || { echo "corpus failed"; exit 1; }
import os, sys, zipfile
d, eicar = sys.argv[1], sys.argv[2]
# An infected package whose member is named like markup.
with zipfile.ZipFile(os.path.join(d, "xss.zip"), "w") as z:
    z.writestr("<script>alert(1)</script>", eicar)
    z.writestr("readme.txt", "release notes\n")
# Two more infected packages (one to reject, one to release by override).
for n in ("reject.zip", "override.zip"):
    with zipfile.ZipFile(os.path.join(d, n), "w") as z:
        z.writestr("payload.bin", eicar + "\n" + n)
PY
# A package the gateway cannot open (encrypted): held, not infected.
printf 'vendor secret firmware\n' >"$T/secret.bin"
(cd "$T" && zip -q -P sesame "$T/www/locked.zip" secret.bin) || { echo "zip failed"; exit 1; }
cp "$T/www/locked.zip" "$T/www/locked2.zip"
printf 'more\n' >>"$T/secret.bin"
(cd "$T" && zip -q -P sesame "$T/www/locked2.zip" secret.bin)

start_origin origin
OP=$ORIGIN_PORT
BASE="https://vendor.test:$OP/files"
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"

S=$T/state
EV=$T/events.log
CONF=$T/fwgate.conf
GP=$(free_port)
CP=$(free_port)
{
	printf '[proxy]\nlisten = 127.0.0.1:%s\n' "$GP"
	printf '[console]\nlisten = 127.0.0.1:%s\nmax_connections_per_source = 6\nrequest_timeout_seconds = 5\n' "$CP"
	printf 'lockout_failures = 3\nlockout_seconds = 2\nlockout_max_seconds = 4\n'
	printf '[state]\ndir = %s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$S" "$T" "$T"
	printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\n' "$T"
	printf 'resolve = vendor.test:%s:127.0.0.1\n' "$OP"
	printf '[scanner]\nsignatures = %s/sigs\ntimeout_seconds = 60\nmax_seconds = 30\n' "$T"
	printf '[log]\nfile = %s\n' "$EV"
} >"$CONF"
start_fwgate fw "$CONF"
FWP=$FWPID
CA=$S/ca/ca.crt
CON="https://127.0.0.1:$CP"

# fetch URL: through the proxy; CODE
fetch() {
	CODE=$(curl -s -o "$T/pbody" -w '%{http_code}' --max-time 60 --proxy "http://127.0.0.1:$GP" --cacert "$CA" "$1")
}
for f in xss.zip reject.zip override.zip locked.zip locked2.zip; do
	fetch "$BASE/$f"
	check "proxy: $f is held (403)" [ "$CODE" = 403 ]
done
# The same infected package under a URL with markup in its query (curl
# sends it as it is; the proxy takes it, and the store keeps it as sent).
MARKUP_URL="$BASE/xss.zip?a=\"><img/src=x/onerror=alert(2)>"
fetch "$MARKUP_URL"
check "proxy: the package under a URL with markup is held (403)" [ "$CODE" = 403 ]

# c METHOD PATH [curl args...]: one request to the console; CODE, the
# body in $T/cb, the head in $T/ch
c() {
	local m=$1 p=$2; shift 2
	CODE=$(curl -s -o "$T/cb" -D "$T/ch" -w '%{http_code}' --max-time 30 --cacert "$CA" -X "$m" "$@" "$CON$p")
}
hdr() { sed -n "s/^$1:[[:space:]]*//Ip" "$T/ch" | tr -d '\r' | tail -n 1; }
body_has() { grep -qF -- "$1" "$T/cb"; }

# --- TLS, headers, no session
c GET /
check "no session: GET / answers 303" [ "$CODE" = 303 ]
check "no session: sent to /login" [ "$(hdr Location)" = /login ]
check "HSTS on every answer" [ "$(hdr Strict-Transport-Security)" = "max-age=31536000" ]
check "a strict CSP on every answer" bash -c "grep -qi \"^Content-Security-Policy: default-src 'none'; script-src 'self'\" '$T/ch'"
check "no caching of pages" [ "$(hdr Cache-Control)" = no-store ]
c GET /login
check "login page: 200" [ "$CODE" = 200 ]
check "login page: no inline script" not grep -qiE '<script>|<script [^>]*>[^<]|onload=|onclick=|style=' "$T/cb"
check "the console's certificate is the gateway CA's, for 127.0.0.1" \
	bash -c "echo | openssl s_client -connect 127.0.0.1:$CP -CAfile '$CA' -verify_ip 127.0.0.1 -verify_return_error 2>/dev/null | grep -q 'Verify return code: 0'"
check "TLS 1.1 is refused" not bash -c "echo | openssl s_client -connect 127.0.0.1:$CP -tls1_1 2>/dev/null | grep -q 'Cipher is ECDHE'"
check "plain HTTP gets no page" not bash -c "curl -s --max-time 5 http://127.0.0.1:$CP/login | grep -q fwgate"
c GET /api/v1/whoami
check "API without a token: 401" [ "$CODE" = 401 ]
check "API without a token: JSON error" body_has '"status":401'
c PUT /login
check "PUT: 405" [ "$CODE" = 405 ]

# --- accounts from the CLI
pw() { printf '%s\n' "$2" >"$T/pw.$1"; chmod 600 "$T/pw.$1"; }
pw alice 'alice-correct-horse-1'
pw bob 'bob-battery-staple-22'
pw carol 'carol-admin-secret-333'
pw victor 'victor-viewer-only-4444'
"$FW" user add alice --role reviewer --password-file "$T/pw.alice" -c "$CONF" >"$T/u.out" 2>&1
check "user add alice (reviewer)" [ $? = 0 ]
"$FW" user add bob --role reviewer --password-file "$T/pw.bob" -c "$CONF" >>"$T/u.out" 2>&1
"$FW" user add carol --role admin --password-file "$T/pw.carol" -c "$CONF" >>"$T/u.out" 2>&1
"$FW" user add victor --role viewer --password-file "$T/pw.victor" -c "$CONF" >>"$T/u.out" 2>&1
check "user list shows the four accounts and roles" bash -c "'$FW' user list -c '$CONF' | grep -q 'carol.*admin'"

# login NAME [PASSWORD]: a fresh cookie jar $T/jar.NAME; CODE of the POST
login() {
	local pass=${2:-$(cat "$T/pw.$1")}
	rm -f "$T/jar.$1"
	c POST /login -c "$T/jar.$1" --data-urlencode "user=$1" --data-urlencode "password=$pass"
}
# csrf NAME: the CSRF token of NAME's session (from the account page)
csrf() {
	curl -s --max-time 30 --cacert "$CA" -b "$T/jar.$1" "$CON/account" |
		sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1
}
# act NAME PATH [field=value...]: a form POST with NAME's session and CSRF token
act() {
	local who=$1 path=$2 tok; shift 2
	tok=$(csrf "$who")
	local args=()
	for f in "$@"; do args+=(--data-urlencode "$f"); done
	c POST "$path" -b "$T/jar.$who" --data-urlencode "csrf=$tok" "${args[@]}"
}

# --- the lockout
for i in 1 2 3; do
	login alice "wrong-password-$i"
	check "wrong password $i: 401" [ "$CODE" = 401 ]
done
login alice
check "after 3 failures the right password is refused too (429)" [ "$CODE" = 429 ]
check "the refusal says to wait" body_has "try again in"
check "failed logins are events" log_count_ge "$EV" '"event.action":"console-login-failed"' 3
check "the lockout is an event" log_has "$EV" '"event.action":"console-login-locked"'
check "no password in the event log" not grep -qE 'wrong-password|alice-correct-horse' "$EV"
sleep 2.2
login alice
check "after the lockout: login works (303)" [ "$CODE" = 303 ]
check "the session cookie is HttpOnly, Secure, SameSite=Strict" \
	bash -c "grep -i '^Set-Cookie: fwgate_session=' '$T/ch' | grep -q 'Secure; HttpOnly; SameSite=Strict'"
login bob
login carol
login victor
check "viewer logs in" [ "$CODE" = 303 ]

# --- pages
c GET / -b "$T/jar.alice"
check "dashboard: 200" [ "$CODE" = 200 ]
check "dashboard: quarantined count" bash -c "grep -q 'id=\"objects-quarantined\"><span class=\"n\">5<' '$T/cb'"
c GET "/quarantine?verdict=infected" -b "$T/jar.alice"
check "quarantine list filtered by verdict: 3 infected" body_has '3 object(s) match.'
c GET "/quarantine?state=nonsense" -b "$T/jar.alice"
check "quarantine list: an unknown state is refused (400)" [ "$CODE" = 400 ]
# id_of /NAME: the object of the origin's file NAME, by its SHA-256 (an
# object's listed URL is its newest, which may be another of its URLs)
id_of() {
	"$FW" quarantine list --json -c "$CONF" | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    if o.get("sha256") == sys.argv[1]:
        print(o["id"]); break' "$(sha256sum "$T/www${1}" | cut -d' ' -f1)"
}
XSS=$(id_of /xss.zip)
REJ=$(id_of /reject.zip)
OVR=$(id_of /override.zip)
LCK=$(id_of /locked.zip)
LCK2=$(id_of /locked2.zip)
c GET "/objects/$XSS" -b "$T/jar.victor"
check "object page: 200 for a viewer" [ "$CODE" = 200 ]
cp "$T/cb" "$T/xss-page"
check "object page: the hostile member name is escaped" body_has '&lt;script&gt;alert(1)&lt;/script&gt;'
check "object page: the hostile member name is never markup" not body_has '<script>alert(1)'
check "object page: the signature and its member chain" body_has 'xss.zip!&lt;script&gt;'
check "object page: the URL with markup is escaped" body_has '?a=&quot;&gt;&lt;img/src=x/onerror=alert(2)&gt;'
check "object page: the URL with markup is never markup" not body_has '<img/src'
c GET "/quarantine" -b "$T/jar.victor"
check "quarantine list: no markup from a URL" not body_has '<img/src'
check "object page: no byte of the held blob" not body_has 'EICAR-STANDARD'
check "object page: a viewer gets no review form" not body_has 'id="release-form"'

# --- CSRF, cross-site, roles
c POST "/objects/$LCK/release" -b "$T/jar.alice" --data-urlencode "reason=no token"
check "POST without a CSRF token: 403" [ "$CODE" = 403 ]
c POST "/objects/$LCK/release" -b "$T/jar.alice" --data-urlencode "csrf=$(printf '%064d' 0)" --data-urlencode "reason=forged"
check "POST with a wrong CSRF token: 403" [ "$CODE" = 403 ]
c POST "/objects/$LCK/release" -b "$T/jar.alice" -H 'Sec-Fetch-Site: cross-site' \
	--data-urlencode "csrf=$(csrf alice)" --data-urlencode "reason=cross-site"
check "a cross-site POST with the right token: 403" [ "$CODE" = 403 ]
act victor "/objects/$LCK/release" "reason=viewer tries"
check "a viewer cannot release: 403" [ "$CODE" = 403 ]
check "nothing changed by the refusals" bash -c "'$FW' quarantine show $LCK --json -c '$CONF' | grep -q '\"state\": *\"quarantined\"'"
head -c 20000 /dev/zero | tr '\0' a >"$T/big"
c POST "/objects/$LCK/release" -b "$T/jar.alice" -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary "@$T/big"
check "a body over 16 KiB: 413" [ "$CODE" = 413 ]

# --- four eyes
act alice "/objects/$LCK/release" "reason=vendor confirmed the archive password"
check "alice asks for a release: 200" [ "$CODE" = 200 ]
check "alice asks for a release: a second reviewer must confirm" body_has 'a second reviewer must confirm'
check "still quarantined after one reviewer" bash -c "'$FW' quarantine show $LCK --json -c '$CONF' | grep -q '\"state\": *\"quarantined\"'"
act alice "/objects/$LCK/release" "reason=confirming my own"
check "alice cannot confirm her own request: 403" [ "$CODE" = 403 ]
c GET /requests -b "$T/jar.bob"
check "the pending release is listed" body_has "vendor confirmed the archive password"
act bob "/objects/$LCK/release" "reason=checked the vendor advisory"
check "bob confirms: 200" [ "$CODE" = 200 ]
check "bob confirms: released" body_has "released by bob"
fetch "$BASE/locked.zip"
check "the released package is served through the proxy" [ "$CODE" = 200 ]

# the override of an infected verdict needs an admin where it takes effect
act bob "/objects/$OVR/release" "reason=lab sample"
check "an infected release without the override is refused" [ "$CODE" != 200 ]
act bob "/objects/$OVR/release" "reason=lab sample, known test file" "override_infected=1"
check "bob asks for an infected override: 200" [ "$CODE" = 200 ]
act alice "/objects/$OVR/release" "reason=agree" "override_infected=1"
check "a reviewer cannot confirm an infected override: 403" [ "$CODE" = 403 ]
act carol "/objects/$OVR/release" "reason=admin agrees" "override_infected=1"
check "an admin confirms the override: 200" [ "$CODE" = 200 ]

# reject, withdraw
act alice "/objects/$REJ/reject" "reason=EICAR in a firmware package"
check "reject: 200" [ "$CODE" = 200 ]
act alice "/objects/$LCK2/release" "reason=ask then withdraw"
act alice "/objects/$LCK2/cancel"
check "withdraw a request: 200" [ "$CODE" = 200 ]
act bob "/objects/$LCK2/release" "reason=now mine"
check "after the withdrawal a new request is bob's" body_has 'a second reviewer must confirm'

# --- audit
c GET /audit -b "$T/jar.victor"
check "audit page: chain verified" body_has 'id="chain">Chain verified'
check "audit page: the request, the confirmation and the release" \
	bash -c "grep -q 'release-request' '$T/cb' && grep -q 'release-confirm' '$T/cb'"
check "audit rows say where from" body_has "console 127.0.0.1"
"$FW" audit verify -c "$CONF" >/dev/null 2>&1
check "fwgate audit verify agrees" [ $? = 0 ]
c GET "/events?action=console-login-failed" -b "$T/jar.alice"
check "events search finds the failed logins" body_has 'console-login-failed'

# --- sessions: logout, password change
cp "$T/jar.victor" "$T/jar.victor.old"
OLD_CSRF=$(csrf victor)
act victor /logout
check "logout: 303" [ "$CODE" = 303 ]
c GET / -b "$T/jar.victor.old"
check "the logged-out session cookie is refused" [ "$CODE" = 303 ]
c POST "/objects/$LCK2/reject" -b "$T/jar.victor.old" --data-urlencode "csrf=$OLD_CSRF" --data-urlencode "reason=stale"
check "a stale CSRF token with a dead session: 403" [ "$CODE" = 403 ]
cp "$T/jar.bob" "$T/jar.bob.old"
"$FW" user passwd bob --password-file "$T/pw.carol" -c "$CONF" >/dev/null 2>&1
c GET / -b "$T/jar.bob.old"
check "a password change ends the account's sessions" [ "$CODE" = 303 ]
"$FW" user disable carol -c "$CONF" >/dev/null 2>&1
c GET / -b "$T/jar.carol"
check "disabling an account ends its sessions" [ "$CODE" = 303 ]

# --- the API
TOK=$("$FW" token add robot --role reviewer -c "$CONF" 2>/dev/null | grep -o 'fwg_[A-Za-z0-9_-]*' | head -n 1)
VTOK=$("$FW" token add watcher --role viewer -c "$CONF" 2>/dev/null | grep -o 'fwg_[A-Za-z0-9_-]*' | head -n 1)
check "token add prints a secret once" [ -n "$TOK" ]
c GET /api/v1/whoami -H "Authorization: Bearer $TOK"
check "API whoami with a token" body_has '"name":"robot"'
c GET "/api/v1/quarantine?state=quarantined" -H "Authorization: Bearer $VTOK"
check "API quarantine list" bash -c "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"total\"] >= 1 and d[\"items\"]' '$T/cb'"
c GET "/api/v1/objects/$XSS" -H "Authorization: Bearer $VTOK"
check "API object: the member name as data" body_has '<script>alert(1)</script>'
check "API object: served as JSON" [ "$(hdr Content-Type)" = application/json ]
c POST "/api/v1/objects/$LCK2/reject" -H "Authorization: Bearer $VTOK" -H 'Content-Type: application/json' -d '{"reason":"viewer"}'
check "API: a viewer token cannot reject (403)" [ "$CODE" = 403 ]
c POST "/api/v1/objects/$LCK2/release" -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' -d '{"reason":"robot confirms"}'
check "API: a second reviewer (token) confirms bob's request" [ "$CODE" = 200 ]
c POST "/api/v1/objects/$LCK2/release" -b "$T/jar.alice" -H 'Content-Type: application/json' -d '{"reason":"cookie"}'
check "API: a session cookie is not a credential (401)" [ "$CODE" = 401 ]
c POST "/api/v1/objects/$LCK2/cancel" -H "Authorization: Bearer $TOK"
check "API: cancel without a body, nothing open: 404" [ "$CODE" = 404 ]
c GET "/api/v1/audit?before=12abc" -H "Authorization: Bearer $VTOK"
check "API: a malformed id argument: 400" [ "$CODE" = 400 ]
"$FW" token revoke robot -c "$CONF" >/dev/null 2>&1
c GET /api/v1/whoami -H "Authorization: Bearer $TOK"
check "a revoked token: 401" [ "$CODE" = 401 ]
c GET /api/v1/audit -H "Authorization: Bearer $VTOK"
check "API audit: the chain verified" body_has '"status":"verified"'

# --- /metrics
c GET /metrics
check "/metrics without a token: 401" [ "$CODE" = 401 ]
c GET /metrics -H "Authorization: Bearer $VTOK"
check "/metrics with a token: 200" [ "$CODE" = 200 ]
# metric NAME{LABELS}: its value in $T/cb (0 when absent)
metric() { awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }' "$T/cb"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
check "/metrics: the held downloads counted by verdict" ge "$(metric 'fwgate_requests_total{outcome="failure",verdict="infected"}')" 3
check "/metrics: refusals on a verdict counted" ge "$(metric 'fwgate_requests_refused_total{reason="verdict"}')" 5
check "/metrics: a released download served" ge "$(metric 'fwgate_requests_total{outcome="success",verdict="unscannable"}')" 1
check "/metrics: scan durations observed" ge "$(metric fwgate_scan_duration_seconds_count)" 5
check "/metrics: vendor bytes counted" ge "$(metric fwgate_upstream_bytes_total)" 1000
check "/metrics: store objects by state" ge "$(metric 'fwgate_store_objects{state="released"}')" 2
check "/metrics: the scanner is up" [ "$(metric fwgate_scanner_up)" = 1 ]
if have promtool; then
	check "/metrics parses (promtool check metrics)" bash -c "promtool check metrics <'$T/cb' >'$T/promtool.out' 2>&1"
else
	bad "/metrics parses" "promtool (Debian package prometheus) is not installed"
fi

# --- bounds: connections from one source
python3 - "$CP" <<'PY' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(6)]
time.sleep(3)
PY
HOLD=$!
sleep 1
c GET /login
check "over max_connections_per_source: refused" [ "$CODE" != 200 ]
wait "$HOLD"
wait_for "the console to answer again" 10 0.2 bash -c "curl -s -o /dev/null --max-time 3 --cacert '$CA' '$CON/login'"
c GET /login
check "the console answers again once they close" [ "$CODE" = 200 ]
check "the gateway is still running" kill -0 "$FWP"

# --- the browser
if [ -n "$SHOTS" ]; then
	mkdir -p "$SHOTS"
	pw dora 'dora-browser-reviewer-5'
	pw eve 'eve-browser-reviewer-66'
	"$FW" user add dora --role reviewer --password-file "$T/pw.dora" -c "$CONF" >/dev/null 2>&1
	"$FW" user add eve --role reviewer --password-file "$T/pw.eve" -c "$CONF" >/dev/null 2>&1
	fetch "$BASE/xss.zip?browser=1"
	printf 'browser %s\n' "$(date +%s%N)" >"$T/secret.bin"
	(cd "$T" && zip -q -P sesame "$T/www/b4eyes.zip" secret.bin)
	fetch "$BASE/b4eyes.zip"
	printf 'browser reject %s\n' "$(date +%s%N)" >"$T/secret.bin"
	(cd "$T" && zip -q -P sesame "$T/www/breject.zip" secret.bin)
	fetch "$BASE/breject.zip"
	FOUR=$(id_of /b4eyes.zip)
	BREJ=$(id_of /breject.zip)
	NODE_PATH=$SRC/tests/browser/node_modules timeout 240 node "$SRC/tests/browser/console_test.mjs" \
		--base "$CON" --ca "$CA" --shots "$SHOTS" --xss "$XSS" --four "$FOUR" --reject "$BREJ" \
		--user1 dora --pass1 "$(cat "$T/pw.dora")" --user2 eve --pass2 "$(cat "$T/pw.eve")" >"$T/browser.out" 2>&1
	rc=$?
	sed 's/^/    browser: /' "$T/browser.out"
	check "browser test (headless Chromium): every step passed" [ $rc = 0 ]
fi

# --- a clean stop, and nothing a sanitizer saw (under ASan+UBSan)
kill -TERM "$FWP"
wait_for "the gateway to stop" 30 0.1 exited "$FWP"
wait "$FWP" 2>/dev/null
check "SIGTERM: the gateway stops with status 0" [ $? = 0 ]
check "no sanitizer report in the gateway's output" not log_has "$T/fw.err" 'Sanitizer|runtime error:'
log_has "$T/fw.err" 'Sanitizer|runtime error:' && sed -n '/Sanitizer\|runtime error:/,+30p' "$T/fw.err" | head -60

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
