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

# A bad [sandbox] rules_file: the message names the file in front of the
# rule's line (the path used to be dropped: "rules:1: ..." alone).
printf 'a 5 string "abc\n' >"$T/bad.rules"
printf '[state]\ndir = state-rules\n[sandbox]\nrules_file = bad.rules\n' >"$T/rules.conf"
echo hello >"$T/hello.bin"
expect "bad rules_file names its path" 2 "fwgate scan: $T/bad.rules: rules:1: unterminated string" -- "$FW" scan "$T/hello.bin" -c "$T/rules.conf"

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

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
