#!/usr/bin/env bash
# Integration tests of the fwgate binary as an operator uses it: exit
# codes, one-line usage errors, -c anywhere, config and policy refusals,
# and `fwgate run` starting, logging and stopping on SIGTERM.
# Usage: cli.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-cli-XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
. "$HERE/lib.sh"

# expect NAME RC [grep PATTERN for stdout+stderr] -- CMD...
expect() {
	local name=$1 want=$2 pat=$3; shift 4
	timeout 20 "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" != "$want" ]; then
		bad "$name" "exit $rc, wanted $want" "stdout: $(head -c 600 "$T/out")" "stderr: $(head -c 600 "$T/err")"
	elif [ -n "$pat" ] && ! cat "$T/out" "$T/err" | grep -qE -- "$pat"; then
		bad "$name" "output lacks /$pat/" "stdout: $(head -c 600 "$T/out")" "stderr: $(head -c 600 "$T/err")"
	else
		ok "$name"
	fi
}

# Usage errors are one line on stderr and nothing on stdout.
one_line_error() {
	if [ "$(wc -l <"$T/err")" = 1 ] && [ ! -s "$T/out" ]; then ok "$1: one line"; else bad "$1: one line" "$(cat "$T/err")"; fi
}

REF="$SRC/tests/data/out_of_band_server_management.json"

expect "help lists commands" 0 "" -- "$FW" help
for c in help version run policy config; do
	grep -qE "^  $c " "$T/out" && ok "help lists $c" || bad "help lists $c" "$(cat "$T/out")"
done
expect "help run" 0 "usage: fwgate run" -- "$FW" help run
expect "help unknown" 2 'unknown command "nope"' -- "$FW" help nope
one_line_error "help unknown"
expect "no command" 2 "usage: fwgate COMMAND" -- "$FW"
expect "unknown command" 2 'fwgate: unknown command "frobnicate"' -- "$FW" frobnicate
one_line_error "unknown command"
expect "unknown global option" 2 'unknown option "--frob"' -- "$FW" --frob
one_line_error "unknown global option"
expect "version" 0 "^fwgate [0-9]" -- "$FW" version
for lib in OpenSSL libcurl libmicrohttpd libclamav libarchive libmagic SQLite jansson; do
	grep -q "^$lib " "$T/out" && ok "version names $lib" || bad "version names $lib" "$(cat "$T/out")"
done
expect "version unknown option" 2 'unknown option "--short"' -- "$FW" version --short
one_line_error "version unknown option"

expect "policy check reference card" 0 "rule: +firmware_update" -- "$FW" policy check "$REF"
if [ -f "$SRC/../shared/policy/out_of_band_server_management.json" ]; then
	expect "policy check shared card" 0 "antivirus: +block" -- "$FW" policy check "$SRC/../shared/policy/out_of_band_server_management.json"
fi
expect "policy check embedded" 0 "embedded default" -- "$FW" policy check
expect "policy check --json" 0 '"rule": "firmware_update"' -- "$FW" policy check --json "$REF"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" && ok "policy --json parses" || bad "policy --json parses"
expect "policy other rule refused" 2 'rules\[1\]\.decryption\.mode: fwgate inspects' -- "$FW" policy check "$REF" --rule bmc_management
expect "policy unknown option" 2 'unknown option "--frob"' -- "$FW" policy check --frob
one_line_error "policy unknown option"
expect "policy no subcommand" 2 'needs a subcommand' -- "$FW" policy

sed 's/"pe",/"foo",/' "$REF" >"$T/bad.json"
expect "policy bad file type" 2 'rules\[5\]\.security_profiles\.sandboxing\.file_types\[1\]: unknown file type "foo"' -- "$FW" policy check "$T/bad.json"
printf '{"rules": [' >"$T/trunc.json"
expect "policy truncated JSON" 2 "trunc.json:1:" -- "$FW" policy check "$T/trunc.json"
expect "policy missing file" 2 'cannot open ".*nope.json": No such file' -- "$FW" policy check "$T/nope.json"

# A config naming its own card: -c works before the command, after it,
# and between its arguments.
sed 's/"id": "out_of_band_server_management"/"id": "cfg_card"/' "$REF" >"$T/card.json"
printf '[policy]\nfile = card.json\n[state]\ndir = state\n' >"$T/fwgate.conf"
expect "-c before the command" 0 "card cfg_card" -- "$FW" -c "$T/fwgate.conf" policy check
expect "-c after the arguments" 0 '"card": "cfg_card"' -- "$FW" policy check --json -c "$T/fwgate.conf"
expect "-c between arguments" 0 '"card": "cfg_card"' -- "$FW" policy -c "$T/fwgate.conf" check --json
expect "--config=FILE" 0 "card cfg_card" -- "$FW" policy check --config="$T/fwgate.conf"
expect "-c twice" 2 "given twice" -- "$FW" -c "$T/fwgate.conf" policy check -c "$T/fwgate.conf"
one_line_error "-c twice"
expect "-c without FILE" 2 "-c needs a FILE" -- "$FW" policy check -c
expect "-c missing file" 2 "nope.conf: cannot open: No such file" -- "$FW" -c "$T/nope.conf" config check
expect "config check default" 0 "^listen = 127.0.0.1:3128" -- "$FW" config check
expect "config check file" 0 "^dir = $T/state" -- "$FW" config check -c "$T/fwgate.conf"

printf '[proxy]\nlisten = 127.0.0.1:3128\nmax_clients = lots\n' >"$T/bad.conf"
expect "config bad value" 2 "bad.conf:3: \[proxy\] max_clients: \"lots\" is not a whole number" -- "$FW" config check -c "$T/bad.conf"
one_line_error "config bad value"

# A bad config stops `run` before anything exists on disk.
printf '[state]\ndir = never\n[proxy]\nlisten = 127.0.0.1:99999\n' >"$T/bad2.conf"
expect "run refuses bad config" 2 "bad2.conf:4: \[proxy\] listen" -- "$FW" run -c "$T/bad2.conf"
[ ! -e "$T/never" ] && ok "run with bad config created nothing" || bad "run with bad config created nothing"
printf '[state]\ndir = never\n[policy]\nfile = bad.json\n' >"$T/bad3.conf"
expect "run refuses bad policy" 2 "file_types\[1\]: unknown file type" -- "$FW" run -c "$T/bad3.conf"
[ ! -e "$T/never" ] && ok "run with bad policy created nothing" || bad "run with bad policy created nothing"
expect "run unknown option" 2 'unknown option "--daemon"' -- "$FW" run --daemon

# A bad [scanner] yara_rules: scan and run refuse to start, and the message
# names the rule file and line.
printf 'rule ok { condition: true }\n\nrule broken { strings: $a = "abc" condition: $b }\n' >"$T/bad.yar"
printf '[state]\ndir = state-rules\n[scanner]\nyara_rules = bad.yar\n' >"$T/rules.conf"
echo hello >"$T/hello.bin"
expect "bad yara_rules names file:line (scan)" 2 "fwgate scan: .*$T/bad.yar:3: undefined string" -- "$FW" scan "$T/hello.bin" -c "$T/rules.conf"
printf '[policy]\nfile = card.json\n[state]\ndir = state-rules\n[scanner]\nyara_rules = bad.yar\n' >"$T/rules-run.conf"
expect "bad yara_rules names file:line (run)" 2 "$T/bad.yar:3: undefined string" -- "$FW" run -c "$T/rules-run.conf"
printf 'rule meta_typo { meta: verdict = "malicous" condition: true }\n' >"$T/typo.yar"
printf '[state]\ndir = state-rules\n[scanner]\nyara_rules = typo.yar\n' >"$T/typo.conf"
expect "a YARA verdict meta fwgate does not know is refused" 2 'YARA rule meta_typo: meta verdict must be' -- "$FW" scan "$T/hello.bin" -c "$T/typo.conf"
printf '[scanner]\nyara_rules = nowhere.yar\n' >"$T/nowhere.conf"
expect "a missing yara_rules path is a config error" 2 'nowhere.yar' -- "$FW" scan "$T/hello.bin" -c "$T/nowhere.conf"

# run: starts, logs its start, stops on SIGTERM with exit 0 and a stop event.
"$FW" run -c "$T/fwgate.conf" >"$T/run.out" 2>"$T/run.err" &
pid=$!
wait_for "the start event" 5 0.05 log_has "$T/state/events.log" fwgate-start
if grep -q '"event.action":"fwgate-start"' "$T/state/events.log" 2>/dev/null; then ok "run logs fwgate-start"; else bad "run logs fwgate-start" "$(cat "$T/run.err")"; fi
[ "$(stat -c %a "$T/state")" = 700 ] && ok "state dir is 0700" || bad "state dir is 0700" "$(stat -c %a "$T/state")"
kill -TERM "$pid"
timeout 10 tail --pid="$pid" -f /dev/null
wait "$pid"
rc=$?
[ "$rc" = 0 ] && ok "run exits 0 on SIGTERM" || bad "run exits 0 on SIGTERM" "exit $rc"
grep -q '"event.action":"fwgate-stop".*"fwgate.reason":"SIGTERM"' "$T/state/events.log" && ok "run logs fwgate-stop" || bad "run logs fwgate-stop" "$(cat "$T/state/events.log")"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)
' "$T/state/events.log" && ok "event log lines are JSON" || bad "event log lines are JSON"

# --- the console's accounts and tokens (fwgate user, fwgate token)
printf '[state]\ndir = %s/acct\n' "$T" >"$T/acct.conf"
PW='correct horse battery staple'
printf '%s\n' "$PW" >"$T/pw"
expect "user add (password file)" 0 "added alice \(reviewer\)" -- "$FW" user add alice --role reviewer --password-file "$T/pw" -c "$T/acct.conf"
cp "$T/out" "$T/all.out"; cat "$T/err" >>"$T/all.out"
expect "user add (password on stdin)" 0 "added bob \(admin\)" -- sh -c "printf '%s\n' 'another long password' | '$FW' user add bob --role admin -c '$T/acct.conf'"
expect "user add: duplicate refused" 2 "exists already" -- "$FW" user add alice --role viewer --password-file "$T/pw" -c "$T/acct.conf"
printf 'short\n' >"$T/shortpw"
expect "user add: a short password refused" 2 "at least 12 characters" -- "$FW" user add carol --role viewer --password-file "$T/shortpw" -c "$T/acct.conf"
expect "user add: no role" 2 "needs --role" -- "$FW" user add carol --password-file "$T/pw" -c "$T/acct.conf"
one_line_error "user add: no role"
expect "user add: bad role" 2 '"boss" is not a role' -- "$FW" user add carol --role boss --password-file "$T/pw" -c "$T/acct.conf"
expect "user add: bad name" 2 'is not an account name' -- "$FW" user add 'car ol' --role viewer --password-file "$T/pw" -c "$T/acct.conf"
expect "user add: an option it does not take" 2 'add does not take --json' -- "$FW" user add carol --role viewer --json -c "$T/acct.conf"
one_line_error "user add: an option it does not take"
expect "user list" 0 "^alice +reviewer +enabled" -- "$FW" user list -c "$T/acct.conf"
cat "$T/out" "$T/err" >>"$T/all.out"
expect "user list --json" 0 '"name": "bob"' -- "$FW" user list --json -c "$T/acct.conf"
cat "$T/out" "$T/err" >>"$T/all.out"
python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert [(r["name"], r["role"], r["disabled"]) for r in rows] == [("alice", "reviewer", False), ("bob", "admin", False)], rows
assert all("pwhash" not in r for r in rows), rows
' "$T/out" && ok "user list --json: names, roles, no hash" || bad "user list --json: names, roles, no hash" "$(cat "$T/out")"
expect "user passwd" 0 "changed the password of alice" -- "$FW" user passwd alice --password-file "$T/pw" -c "$T/acct.conf"
cat "$T/out" "$T/err" >>"$T/all.out"
expect "user passwd: unknown account" 2 "no account nobody" -- "$FW" user passwd nobody --password-file "$T/pw" -c "$T/acct.conf"
expect "user disable" 0 "disabled bob" -- "$FW" user disable bob -c "$T/acct.conf"
expect "user list shows disabled" 0 "^bob +admin +disabled" -- "$FW" user list -c "$T/acct.conf"
expect "user enable" 0 "enabled bob" -- "$FW" user enable bob -c "$T/acct.conf"
expect "user role" 0 "alice is now admin" -- "$FW" user role alice --role admin -c "$T/acct.conf"
expect "user unknown subcommand" 2 'unknown subcommand "frob"' -- "$FW" user frob -c "$T/acct.conf"
one_line_error "user unknown subcommand"
expect "help user" 0 "usage: fwgate user add NAME" -- "$FW" help user

expect "token add" 0 "^fwg_[A-Za-z0-9_-]{43}$" -- "$FW" token add ci-bot --role reviewer -c "$T/acct.conf"
SECRET=$(head -n1 "$T/out")
[ "$(wc -l <"$T/out")" = 1 ] && ok "token add: the secret alone on stdout" || bad "token add: the secret alone on stdout" "$(cat "$T/out")"
grep -q "shown this once" "$T/err" && ok "token add: says the secret is shown once" || bad "token add: says the secret is shown once" "$(cat "$T/err")"
HASH=$(printf '%s' "$SECRET" | sha256sum | cut -d' ' -f1)
python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("SELECT hash FROM tokens WHERE name = ?", ("ci-bot",)).fetchone() == (sys.argv[2],)
assert db.execute("SELECT count(*) FROM tokens WHERE hash LIKE ?", ("%fwg_%",)).fetchone() == (0,)
' "$T/acct/fwgate.db" "$HASH" && ok "token add: the store keeps the SHA-256 of the secret" || bad "token add: the store keeps the SHA-256 of the secret"
expect "token add: duplicate" 2 "exists already" -- "$FW" token add ci-bot --role viewer -c "$T/acct.conf"
expect "token list" 0 "^ci-bot +reviewer +active" -- "$FW" token list -c "$T/acct.conf"
cat "$T/out" "$T/err" >>"$T/all.out"
expect "token revoke" 0 "revoked the token ci-bot" -- "$FW" token revoke ci-bot -c "$T/acct.conf"
expect "token list --json: revoked" 0 '"revoked": true' -- "$FW" token list --json -c "$T/acct.conf"
cat "$T/out" "$T/err" >>"$T/all.out"
expect "token revoke: unknown" 2 "no token nobody" -- "$FW" token revoke nobody -c "$T/acct.conf"
expect "token add: no role" 2 "needs --role" -- "$FW" token add x -c "$T/acct.conf"

expect "audit list after the account changes" 0 "account-add" -- "$FW" audit list --json -c "$T/acct.conf"
cat "$T/out" "$T/err" >>"$T/all.out"
python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
acts = [r["action"] for r in rows]
for a in ("account-add", "account-passwd", "account-disable", "account-enable", "account-role", "token-add", "token-revoke"):
    assert a in acts, (a, acts)
assert all(r["detail"].endswith("via cli") for r in rows), rows
' "$T/out" && ok "audit: every account and token change, via cli" || bad "audit: every account and token change, via cli" "$(cat "$T/out")"
expect "audit verify after the account changes" 0 "intact" -- "$FW" audit verify -c "$T/acct.conf"
# The password never shows: not in any output, the audit or the database.
if grep -qF "$PW" "$T/all.out" || grep -aqF "$PW" "$T/acct/fwgate.db" "$T/acct/fwgate.db-wal" 2>/dev/null ||
	grep -aqF "$SECRET" "$T/acct/fwgate.db" "$T/acct/fwgate.db-wal" 2>/dev/null; then
	bad "no password or token secret in the output, the audit or the database"
else
	ok "no password or token secret in the output, the audit or the database"
fi

# --- quarantine review from the command line, four eyes
# Three held-back objects, written as the store would have them (the
# gateway is not run here): suspicious, infected, unscannable.
qstate() {
	python3 - "$1" <<'PY'
import hashlib, json, os, sqlite3, sys
d = sys.argv[1]
db = sqlite3.connect(os.path.join(d, "fwgate.db"))
for i, (v, reason) in enumerate((("suspicious", "unsafe member name pkg.zip!../x"),
                                 ("infected", "signature Fwgate.Test.EICAR in pkg.zip!eicar.com"),
                                 ("unscannable", "encrypted member pkg.zip!secret.bin")), 1):
    body = ("object %d" % i).encode()
    sha = hashlib.sha256(body).hexdigest()
    os.makedirs(os.path.join(d, "quarantine", sha[:2]), exist_ok=True)
    with open(os.path.join(d, "quarantine", sha[:2], sha), "wb") as f:
        f.write(body)
    doc = {"path": "pkg.zip", "sha256": sha, "size": len(body), "mime": "application/zip", "file_type": "archive",
           "verdict": v, "reasons": [reason],
           "signatures": [{"name": "Fwgate.Test.EICAR", "member": "pkg.zip!eicar.com", "member_sha256": "ab" * 32}]
                         if v == "infected" else [],
           "members": [{"path": "pkg.zip!eicar.com", "depth": 1, "size": 68, "sha256": "ab" * 32,
                        "mime": "text/plain", "file_type": "other", "verdict": v}]}
    db.execute("INSERT INTO objects (id, sha256, size, mime, file_type, state, first_seen) VALUES (?, ?, ?, ?, ?, 'quarantined', 1700000000 + ?)",
               (i, sha, len(body), "application/zip", "archive", i))
    db.execute("INSERT INTO scans (object_id, time, engine, verdict, reason, doc) VALUES (?, 1700000000, 'test', ?, ?, ?)",
               (i, v, reason, json.dumps(doc)))
    db.execute("INSERT INTO urls (url, object_id, fetched_at, verified_at, host) VALUES (?, ?, 1700000000, 1700000000, ?)",
               ("https://dl%d.vendor.example/pkg%d.zip" % (i % 2, i), i, "dl%d.vendor.example" % (i % 2)))
db.commit()
PY
}
printf '[state]\ndir = %s/rev\n' "$T" >"$T/rev.conf"
printf '[state]\ndir = %s/rev1\n[console]\nfour_eyes = false\n' "$T" >"$T/rev1.conf"
"$FW" quarantine list -c "$T/rev.conf" >/dev/null 2>&1 && "$FW" quarantine list -c "$T/rev1.conf" >/dev/null 2>&1
qstate "$T/rev" && qstate "$T/rev1" && ok "quarantine fixtures" || bad "quarantine fixtures"

expect "quarantine list" 0 "^3 +quarantined +unscannable" -- "$FW" quarantine list -c "$T/rev.conf"
expect "quarantine list --verdict infected --json" 0 '"id": 2' -- "$FW" quarantine list --verdict infected --json -c "$T/rev.conf"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert [x["id"] for x in r] == [2], r' "$T/out" &&
	ok "quarantine list --verdict: only the infected one" || bad "quarantine list --verdict: only the infected one" "$(cat "$T/out")"
expect "quarantine list --host" 0 "" -- "$FW" quarantine list --host dl1.vendor.example --json -c "$T/rev.conf"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert [x["id"] for x in r] == [3, 1], r' "$T/out" &&
	ok "quarantine list --host: the host's objects, newest first" || bad "quarantine list --host" "$(cat "$T/out")"
expect "quarantine list --limit 1" 0 "1 of 3 shown; the next page: --before 3" -- "$FW" quarantine list --limit 1 -c "$T/rev.conf"
expect "quarantine list --limit 1 --before 3" 0 "^2 +quarantined +infected" -- "$FW" quarantine list --limit 1 --before 3 -c "$T/rev.conf"
expect "quarantine list --state released: none" 0 "" -- "$FW" quarantine list --state released --json -c "$T/rev.conf"
[ "$(tr -d ' \n' <"$T/out")" = "[]" ] && ok "quarantine list --state released: []" || bad "quarantine list --state released: []" "$(cat "$T/out")"
expect "quarantine list --state bad" 2 '"lost" is not a state' -- "$FW" quarantine list --state lost -c "$T/rev.conf"
expect "quarantine list --limit 0" 2 "--limit takes 1 to 1000" -- "$FW" quarantine list --limit 0 -c "$T/rev.conf"
expect "quarantine list takes no --reason" 2 "list does not take --reason" -- "$FW" quarantine list --reason x -c "$T/rev.conf"
one_line_error "quarantine list takes no --reason"

expect "quarantine show for people" 0 "^object 2: quarantined, verdict infected" -- "$FW" quarantine show 2 -c "$T/rev.conf"
for pat in "sha256 +[0-9a-f]{64}" "https://dl0.vendor.example/pkg2.zip" "eicar.com +other +68  abababababababab  infected" \
	"signature: Fwgate.Test.EICAR" "reason: signature Fwgate.Test.EICAR"; do
	grep -qE -- "$pat" "$T/out" && ok "quarantine show names /$pat/" || bad "quarantine show names /$pat/" "$(cat "$T/out")"
done
expect "quarantine show --json" 0 '"verdict": "infected"' -- "$FW" quarantine show 2 --json -c "$T/rev.conf"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["id"] == 2 and d["request"] is None, d' "$T/out" &&
	ok "quarantine show --json parses" || bad "quarantine show --json parses"
expect "quarantine show: unknown" 2 "no object 99" -- "$FW" quarantine show 99 -c "$T/rev.conf"

expect "release by alice: a request" 0 "release of object 1 requested by alice: a second reviewer must confirm it with fwgate quarantine release 1 --as OTHER" \
	-- "$FW" quarantine release 1 --reason "vendor ticket 42" --as alice -c "$T/rev.conf"
expect "quarantine requests" 0 "^1 +suspicious +alice" -- "$FW" quarantine requests -c "$T/rev.conf"
expect "quarantine list shows the request" 0 "release requested by alice: vendor ticket 42" -- "$FW" quarantine list -c "$T/rev.conf"
expect "release by alice again: refused" 2 "requested by alice: a second reviewer must confirm it" -- "$FW" quarantine release 1 --reason "really" --as alice -c "$T/rev.conf"
expect "still quarantined after alice's second try" 0 "^object 1: quarantined" -- "$FW" quarantine show 1 -c "$T/rev.conf"
expect "release confirmed by bob" 0 "object 1 released by bob: hash checked" -- "$FW" quarantine release 1 --reason "hash checked" --as bob -c "$T/rev.conf"
expect "released" 0 "^object 1: released" -- "$FW" quarantine show 1 -c "$T/rev.conf"
expect "no open request left" 0 "no open release request" -- "$FW" quarantine requests -c "$T/rev.conf"

expect "infected: request without override refused" 2 "override-infected" -- "$FW" quarantine release 2 --reason "x" --as alice -c "$T/rev.conf"
expect "infected: request with override (--json)" 0 '"outcome": "requested"' -- "$FW" quarantine release 2 --reason "test file" --override-infected --as alice --json -c "$T/rev.conf"
expect "infected: confirmation without override refused" 2 "override" -- "$FW" quarantine release 2 --reason "ok" --as bob -c "$T/rev.conf"
expect "cancel" 0 "release request of object 2 is withdrawn by carol" -- "$FW" quarantine cancel 2 --as carol -c "$T/rev.conf"
expect "cancel: none open" 2 "no open release request" -- "$FW" quarantine cancel 2 -c "$T/rev.conf"
expect "release 3 requested" 0 "requested by alice" -- "$FW" quarantine release 3 --reason "fine" --as alice -c "$T/rev.conf"
expect "reject closes the request" 0 "object 3 rejected by dave" -- "$FW" quarantine reject 3 --reason "unsigned" --as dave -c "$T/rev.conf"
expect "rejected, no request" 0 "no open release request" -- "$FW" quarantine requests -c "$T/rev.conf"
expect "audit: the review rows, via cli" 0 "" -- "$FW" audit list --json -c "$T/rev.conf"
python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
acts = [(r["action"], r["who"], r["object_id"]) for r in rows]
want = [("release-request", "alice", 1), ("release-confirm", "bob", 1), ("release", "bob", 1),
        ("release-request", "alice", 2), ("release-cancel", "carol", 2), ("release-request", "alice", 3),
        ("reject", "dave", 3)]
assert acts == want, acts
assert all("via cli" in r["detail"] for r in rows), rows
' "$T/out" && ok "audit: request, confirm, release, cancel, reject, via cli" || bad "audit: the review rows" "$(cat "$T/out")"
expect "audit verify after the reviews" 0 "intact" -- "$FW" audit verify -c "$T/rev.conf"

# four_eyes = false: a release is at once.
expect "four_eyes = false: released at once" 0 "object 1 released by alice" -- "$FW" quarantine release 1 --reason "fine" --as alice -c "$T/rev1.conf"
expect "four_eyes = false: --json" 0 '"outcome": "released"' -- "$FW" quarantine release 2 --reason "test file" --override-infected --as alice --json -c "$T/rev1.conf"
expect "help quarantine" 0 "four_eyes" -- "$FW" help quarantine

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
