#!/usr/bin/env bash
# Integration tests of fwgate push against the Redfish BMC stand-in
# (tests/redfish/bmc.py): an image vetted by the real gateway (through the
# proxy from the real TLS origin) is pushed, and one staff released; the
# stand-in downloads ImageURI over HTTPS verifying the CA and the bytes it
# got equal the approved blob; a quarantined or unknown image is refused with nothing
# sent; wrong BMC credentials, a failed task, an untrusted BMC certificate
# and hostile answers (other origins, dot segments, a huge body, a wrong
# type, no HTTPS, a task that never ends) are refused; the audit rows.
# ImageURI is the gateway's own mirror on its console listener, with
# [mirror] auth = basic (the BMC group mirror-bmc).
# Usage: push.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
BMC_PY=$SRC/tests/redfish/bmc.py
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-push-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"

# --- PKI: the test CA's pki.sh, plus leaves for localhost (the BMC and the
# mirror stand-in) and one from a CA nobody trusts.
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
leaf() { # NAME CA
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
		-keyout "$T/pki/$1.key" -out "$T/pki/$1.csr" 2>/dev/null &&
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$T/pki/$1.ext" &&
	openssl x509 -req -in "$T/pki/$1.csr" -CA "$T/pki/$2.crt" -CAkey "$T/pki/$2.key" -CAcreateserial \
		-days 30 -sha256 -extfile "$T/pki/$1.ext" -out "$T/pki/$1.crt" 2>/dev/null
}
leaf local testca && leaf untrusted otherca || { echo "leaf certificates failed"; exit 1; }

# --- the origin, the gateway, one approved and one quarantined image
mkdir -p "$T/www" "$T/sigs"
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"
fwdata $((512 * 1024 + 3)) "$T/www/bios-1.2.bin"
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$T/www/bad.bin"
# An encrypted package: held as unscannable, then released by staff.
printf 'vendor secret firmware\n' >"$T/secret.bin"
(cd "$T" && zip -q -P sesame "$T/www/locked-2.0.zip" secret.bin) || { echo "zip failed"; exit 1; }
start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"
S=$T/state
CONF=$T/fwgate.conf
GP=$(free_port)
CP=$(free_port)
MP=$CP
printf 'mirror-secret-pass\n' >"$T/mirror.pw"
{
	printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\nfour_eyes = false\n' "$GP" "$CP"
	printf '[mirror]\nauth = basic\n'
	printf '[state]\ndir = %s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$S" "$T" "$T"
	printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\n' "$T"
	printf 'resolve = vendor.test:%s:127.0.0.1\n' "$OP"
	printf '[scanner]\nsignatures = %s/sigs\ntimeout_seconds = 60\nmax_seconds = 30\n' "$T"
	printf '[log]\nfile = %s/events.log\n' "$T"
} >"$CONF"
mkdir -p "$S" && chmod 700 "$S"
"$FW" mirror user add mirror-bmc --password-file "$T/mirror.pw" -c "$CONF" >/dev/null 2>&1 ||
	{ echo "fwgate mirror user add failed"; exit 1; }
start_fwgate fw "$CONF"
fetch() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 60 --proxy "http://127.0.0.1:$GP" \
		--cacert "$S/ca/ca.crt" "https://vendor.test:$OP/files/$1"
}
check "the image is vetted and served (200)" [ "$(fetch bios-1.2.bin)" = 200 ]
check "the infected image is held (403)" [ "$(fetch bad.bin)" = 403 ]
check "the encrypted package is held (403)" [ "$(fetch locked-2.0.zip)" = 403 ]
GOOD=$(sha256sum "$T/www/bios-1.2.bin" | cut -d' ' -f1)
LOCKED=$(sha256sum "$T/www/locked-2.0.zip" | cut -d' ' -f1)
BAD=$(sha256sum "$T/www/bad.bin" | cut -d' ' -f1)
BLOB=$S/objects/${GOOD:0:2}/$GOOD
check "the approved blob is in the store" [ -f "$BLOB" ]

# --- BMC stand-ins: start_bmc NAME [bmc.py args...]; sets BMC_PORT
printf 'bmc-admin-password\n' >"$T/bmc.pw"
printf 'not-the-password\n' >"$T/wrong.pw"
start_bmc() {
	local name=$1; shift
	python3 "$BMC_PY" --cert "$T/pki/local.crt" --key "$T/pki/local.key" --image-ca "$S/ca/ca.crt" \
		--out "$T/$name.got" --log "$T/$name.log" --user admin --password bmc-admin-password \
		--run-seconds 1.2 "$@" >"$T/$name.out" 2>"$T/$name.err" &
	pids+=($!)
	wait_for "BMC $name" 5 0.05 log_has "$T/$name.out" '^READY [0-9]+$' || { echo "bmc $name: $(cat "$T/$name.err")"; exit 1; }
	BMC_PORT=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$T/$name.out")
	touch "$T/$name.log"
}
start_bmc bmc
BMC=https://localhost:$BMC_PORT
# push ARGS...: fwgate push with the BMC's CA and credentials; RC, $T/p.out, $T/p.err
push() {
	"$FW" push "$@" -c "$CONF" >"$T/p.out" 2>"$T/p.err"
	RC=$?
	cat "$T/p.err" >>"$T/push.err"
}
creds=(--user admin --password-file "$T/bmc.pw" --bmc-ca "$T/pki/testca.crt")
mcreds=(--mirror-user mirror-bmc --mirror-password-file "$T/mirror.pw")

# --- a push that works
push "$BMC" --image "$GOOD" "${creds[@]}" "${mcreds[@]}" --timeout 60
check "push: exit 0" [ "$RC" = 0 ]
check "push: the ImageURI is on the mirror, named from the URL" grep -qF "ImageURI https://localhost:$MP/firmware/$GOOD/bios-1.2.bin" "$T/p.out"
check "push: progress shows the running task" grep -qE '^task 1: Running' "$T/p.out"
check "push: the task ends Completed, TaskStatus OK" grep -qE '^task 1: Completed, TaskStatus OK$' "$T/p.out"
check "the BMC received exactly the approved blob" cmp -s "$T/bmc.got/bios-1.2.bin" "$BLOB"
check "the BMC was asked for HTTPS with the mirror's user" grep -qF "TransferProtocol=HTTPS Username=mirror-bmc" "$T/bmc.log"
check "the mirror password is not in the BMC's log" not grep -qF mirror-secret-pass "$T/bmc.log"

push "$BMC" --image "$GOOD" "${creds[@]}" "${mcreds[@]}" --name fw.bin --json
check "push --json: exit 0" [ "$RC" = 0 ]
check "push --json: one document, completed, Completed/OK, task URL on the BMC" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["result"] == "completed" and d["exit"] == 0 and d["state"] == "approved", d
assert d["task"]["state"] == "Completed" and d["task"]["status"] == "OK" and d["task"]["percent"] == 100, d
assert d["task"]["url"].startswith(sys.argv[2] + "/redfish/v1/TaskService/Tasks/"), d
assert d["image_uri"].endswith("/" + sys.argv[3] + "/fw.bin"), d
' "$T/p.out" "$BMC" "$GOOD"

# --- a released image is pushed like an approved one
LID=$("$FW" quarantine list --json -c "$CONF" | python3 -c '
import json, sys
print([o["id"] for o in json.load(sys.stdin) if o["sha256"] == sys.argv[1]][0])' "$LOCKED")
"$FW" quarantine release "$LID" --reason "vendor confirmed the package" -c "$CONF" >/dev/null 2>&1
check "the encrypted package is released" [ $? = 0 ]
push "$BMC" --image "$LOCKED" "${creds[@]}" "${mcreds[@]}" --json
check "released image: pushed, completed, state released" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["result"] == "completed" and d["state"] == "released" and d["name"] == "locked-2.0.zip", d
' "$T/p.out"
check "released image: the BMC received its bytes" cmp -s "$T/bmc.got/locked-2.0.zip" "$T/www/locked-2.0.zip"

# --- the Task found by its Location alone; Retry-After honoured; no task at all
start_bmc byloc --answer location --retry-after 4 --run-seconds 2.5
push "https://localhost:$BMC_PORT" --image "$GOOD" "${creds[@]}" "${mcreds[@]}"
check "Location only: the task is followed to Completed, exit 0" bash -c "[ $RC = 0 ] && grep -q '^task 1: Completed' '$T/p.out'"
check "Retry-After: 4 is honoured (2 polls where 2 s polling would make 3)" \
	[ "$(grep -c '^GET /redfish/v1/TaskService/Tasks/1 ' "$T/byloc.log")" = 2 ]
check "the BMC received the blob" cmp -s "$T/byloc.got/bios-1.2.bin" "$BLOB"
start_bmc notask --answer none
push "https://localhost:$BMC_PORT" --image "$GOOD" "${creds[@]}" "${mcreds[@]}" --json
check "no task (204): exit 0, said so" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["result"] == "accepted" and d["post_status"] == 204 and d["task"] is None, d
' "$T/p.out"

# --- refused before anything is sent
lines=$(wc -l <"$T/bmc.log")
push "$BMC" --image "$BAD" "${creds[@]}"
check "quarantined image: exit 1" [ "$RC" = 1 ]
check "quarantined image: its state is said" grep -qF "$BAD is quarantined" "$T/p.err"
push "$BMC" --image "$BAD" "${creds[@]}" --json
check "quarantined image --json: result refused, state quarantined" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["result"] == "refused" and d["state"] == "quarantined" and d["exit"] == 1, d
' "$T/p.out"
push "$BMC" --image "$(printf '%064d' 7)" "${creds[@]}"
check "unknown image: exit 1, not in the store" bash -c "[ $RC = 1 ] && grep -qF 'not in the store' '$T/p.err'"
check "nothing reached the BMC for either" [ "$(wc -l <"$T/bmc.log")" = "$lines" ]

# --- the BMC refuses, the task fails, TLS
push "$BMC" --image "$GOOD" --user admin --password-file "$T/wrong.pw" --bmc-ca "$T/pki/testca.crt"
check "wrong BMC credentials: exit 1" [ "$RC" = 1 ]
check "wrong BMC credentials: the 401 is said" grep -qF "refused the credentials (401 Unauthorized)" "$T/p.err"
start_bmc distrust --image-ca "$T/pki/otherca.crt"
push "https://localhost:$BMC_PORT" --image "$GOOD" "${creds[@]}" "${mcreds[@]}"
check "the BMC does not trust the mirror: the task ends in Exception, exit 1" [ "$RC" = 1 ]
check "the BMC does not trust the mirror: its message is shown" grep -qE '^task [0-9]+: Exception.*CERTIFICATE_VERIFY_FAILED' "$T/p.out"
check "the BMC does not trust the mirror: the failure is said on stderr" grep -qF "the update failed on the BMC" "$T/p.err"
check "the BMC does not trust the mirror: no image saved" [ -z "$(ls -A "$T/distrust.got")" ]
push "$BMC" --image "$GOOD" "${creds[@]}"
check "no mirror credentials: Exception (401 at the mirror), exit 1" bash -c "[ $RC = 1 ] && grep -q 'Exception.*401' '$T/p.out'"
push "$BMC" --image "$GOOD" --user admin --password-file "$T/bmc.pw"
check "BMC certificate not in the system store: exit 2" [ "$RC" = 2 ]
start_bmc untrusted --cert "$T/pki/untrusted.crt" --key "$T/pki/untrusted.key"
push "https://localhost:$BMC_PORT" --image "$GOOD" "${creds[@]}"
check "BMC certificate from another CA: exit 2, certificate named" bash -c "[ $RC = 2 ] && grep -qi certificate '$T/p.err'"
check "the untrusted BMC got no request" [ ! -s "$T/untrusted.log" ]

# --- hostile answers: the URLs point at a second stand-in, which must see nothing
start_bmc other
OTHER=$BMC_PORT
evil() { # NAME EXPECTED_RC PATTERN bmc.py-args...
	local name=$1 want=$2 pat=$3; shift 3
	start_bmc "$name" "$@"
	push "https://localhost:$BMC_PORT" --image "$GOOD" "${creds[@]}" "${mcreds[@]}" --timeout 5
	check "hostile BMC ($name): exit $want" [ "$RC" = "$want" ]
	check "hostile BMC ($name): said why" grep -qE -- "$pat" "$T/p.err"
}
evil odata 2 'another origin' --evil odata --evil-url "https://localhost:$OTHER/redfish/v1/UpdateService"
evil target 2 'another origin' --evil target --evil-url "https://127.0.0.1:$OTHER/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate"
evil location 2 'another origin' --evil location --evil-url "https://127.0.0.1:$OTHER/redfish/v1/TaskService/Tasks/1"
evil task-odata 2 'another origin' --evil task-odata --evil-url "https://evil.test/redfish/v1/TaskService/Tasks/1"
evil dotdot 2 'dot segment' --evil dotdot
evil huge 2 'over 1048576 bytes' --evil huge
evil badtype 2 'PercentComplete is not an integer' --evil badtype
evil no-https 1 'does not allow TransferProtocol HTTPS' --evil no-https
evil stuck 2 'still Running after --timeout 5 s' --evil stuck
check "the other origin saw no request" [ ! -s "$T/other.log" ]

# --- usage
push "http://localhost:$BMC_PORT" --image "$GOOD"
check "an http:// BMC URL is a usage error (2)" [ "$RC" = 2 ]
push "$BMC" --image nothex
check "a bad --image is a usage error (2)" [ "$RC" = 2 ]
push "$BMC" --image "$GOOD" --user admin
check "--user without --password-file is a usage error (2)" [ "$RC" = 2 ]

# --- the audit
"$FW" audit list --json -c "$CONF" >"$T/audit.json" 2>"$T/audit.err"
check "audit: bmc-push rows for the completed and the refused pushes" python3 -c '
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["action"] == "bmc-push"]
ok = [r for r in rows if sys.argv[2] in r["detail"] and ": completed, task Completed" in r["detail"]]
no = [r for r in rows if sys.argv[3] in r["detail"] and ": refused" in r["detail"] and "quarantined" in r["detail"]]
assert ok and ok[0]["object_id"] and ok[0]["who"] and sys.argv[4] in ok[0]["detail"], rows
assert no, rows
' "$T/audit.json" "$GOOD" "$BAD" "https://localhost:"
"$FW" audit verify -c "$CONF" >/dev/null 2>&1
check "audit: the chain is intact" [ $? = 0 ]

check "events: a bmc-push event of success for the image, and one of failure" python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if "bmc-push" in l]
assert any(e["event.action"] == "bmc-push" and e["event.outcome"] == "success" and e["file.hash.sha256"] == sys.argv[2] and e["fwgate.task_state"] == "Completed" for e in ev), ev
assert any(e["event.outcome"] == "failure" and e["file.hash.sha256"] == sys.argv[3] for e in ev), ev
' "$T/events.log" "$GOOD" "$BAD"

kill -TERM "$FWPID" 2>/dev/null
wait "$FWPID" 2>/dev/null
check "no sanitizer spoke in the gateway" not grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$T/fw.err"
check "no sanitizer spoke in fwgate push" not grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$T/push.err"

echo "1..$((pass + fail))"
echo "# pass $pass fail $fail"
[ "$fail" = 0 ]
