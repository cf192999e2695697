#!/usr/bin/env bash
# Integration tests of the signature watch of `fwgate run` with a real TLS
# origin and real curl: a database written into the signature directory
# (freshclam's way: a temporary file, then a rename) is loaded without any
# command or signal; a broken one keeps the old engine serving; a replaced
# directory is watched again; with watch_signatures = false nothing
# reloads until SIGHUP; signatures older than max_signature_age_hours
# raise the warning event and the /metrics flag.
# Usage: sigwatch.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-sigwatch-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"

mkdir -p "$T/www" "$T/state1" "$T/state2" "$T/sigs1" "$T/sigs2"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
printf 'firmware X for the signature watch\n' >"$T/www/x.bin"
printf 'a clean firmware image\n' >"$T/www/clean.bin"
printf 'firmware Y for the signature watch\n' >"$T/www/y.bin"
printf 'firmware Z for the signature watch\n' >"$T/www/z.bin"
start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"

# conf N SIGDIR [KEY = VALUE lines for [scanner]...]: writes $T/fwN.conf, sets PN
conf() {
	local n=$1 sigs=$2; shift 2
	local p c
	p=$(free_port)
	c=$(free_port)
	eval "P$n=$p; C$n=$c"
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$p" "$c"
		printf '[state]\ndir = %s/state%s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$T" "$n" "$T" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\nresolve = vendor.test:%s:127.0.0.1\n' "$T" "$OP"
		printf '[scanner]\nsignatures = %s\ntimeout_seconds = 10\nmax_seconds = 5\nworkers = 1\n' "$sigs"
		for kv in "$@"; do printf '%s\n' "$kv"; done
		printf '[log]\nfile = %s/events%s.log\n' "$T" "$n"
	} >"$T/fw$n.conf"
}

# fetch PORT CA URL: sets CODE, body in $T/body
fetch() {
	CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 30 --proxy "http://127.0.0.1:$1" --cacert "$2" "$3")
}

# sig NAME HEX_OF_CONTENT DIR: a ClamAV body signature, written like freshclam
# writes a database: a temporary name ClamAV does not load, then a rename
sig() {
	printf 'Fwgate.Test.%s:0:*:%s\n' "$1" "$2" >"$3/.tmp-$1"
	mv "$3/.tmp-$1" "$3/$1.ndb"
}
hex() { python3 -c 'import sys; print(open(sys.argv[1], "rb").read().hex())' "$1"; }
count() { grep -cE -- "$2" "$1" 2>/dev/null; }

cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs1/"
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs2/"

# ------------------------------------------------------------- watched
conf 1 "$T/sigs1" "reload_debounce_seconds = 1"
start_fwgate fw1 "$T/fw1.conf"
EV1=$T/events1.log
CA1=$T/state1/ca/ca.crt
check "start: the directories are watched" log_has "$T/fw1.err" "watching the signature directories"
check "start: no age warning for fresh signatures" not log_has "$EV1" '"event.action":"fwgate-signatures-outdated"'

fetch "$P1" "$CA1" "https://vendor.test:$OP/files/x.bin?v=1"
check "X before the update: delivered" [ "$CODE" = 200 ]

# A file ClamAV does not load changes nothing; the database after it does.
printf 'not a database\n' >"$T/sigs1/notes.txt"
sig Sigwatch "$(hex "$T/www/x.bin")" "$T/sigs1"
wait_for "the watch's reload" 20 0.1 log_has "$EV1" '"event.action":"fwgate-reload".*"fwgate.reload.trigger":"watch"'
check "update on disk: a reload event, triggered by the watch" \
	log_has "$EV1" '"event.action":"fwgate-reload",.*"fwgate.reload.trigger":"watch"'
check "the reload names the database that changed, not the other file" \
	log_has "$EV1" '"fwgate.reload.change":"Sigwatch.ndb in [^"]*/sigs1"'
check "the reload event: the signature count" log_has "$EV1" '"fwgate-reload",.*"fwgate.signatures.count":2[,}]'
check "the reload event: the local databases and their age" \
	log_has "$EV1" '"fwgate-reload",.*"fwgate.signatures.databases":"local: 2 files \(newest [^"]*, [0-9]+ s old\) in [^"]*/sigs1"'
check "the reload event: no ClamAV version (local files only)" log_has "$EV1" '"fwgate.signatures.version":"none"'
check "one change, one reload" [ "$(count "$EV1" '"event.action":"fwgate-reload"')" = 1 ]
fetch "$P1" "$CA1" "https://vendor.test:$OP/files/x.bin?v=2"
check "X after the update (a new URL): blocked" [ "$CODE" = 403 ]
check "X after the update: the new signature named" grep -q "Fwgate.Test.Sigwatch" "$T/body"
wait_for "the infected event" 5 0.05 log_has "$EV1" 'Fwgate.Test.Sigwatch'
check "X after the update: quarantined as infected" log_has "$EV1" '"fwgate.verdict":"infected".*Fwgate.Test.Sigwatch|Fwgate.Test.Sigwatch.*"fwgate.verdict":"infected"'

# A broken database: the reload fails, the old engine serves on.
printf 'this is not a signature\n' >"$T/sigs1/.tmp-broken"
mv "$T/sigs1/.tmp-broken" "$T/sigs1/broken.ndb"
wait_for "the failed reload's event" 20 0.1 log_has "$EV1" '"event.action":"fwgate-reload-failed"'
check "broken database: a failed reload event from the watch" \
	log_has "$EV1" '"event.action":"fwgate-reload-failed",.*"fwgate.reload.trigger":"watch"'
check "broken database: the event says why" log_has "$EV1" '"fwgate-reload-failed",.*"fwgate.reason":"[^"]*broken.ndb|"fwgate-reload-failed",.*"fwgate.reason":"ClamAV cannot load'
check "broken database: the event lists the serving (old) signatures" \
	log_has "$EV1" '"fwgate-reload-failed",.*"fwgate.signatures.count":2[,}]'
fetch "$P1" "$CA1" "https://vendor.test:$OP/files/x.bin?v=3"
check "broken database: X still detected by the old engine" [ "$CODE" = 403 ]
check "broken database: the old signature still named" grep -q "Fwgate.Test.Sigwatch" "$T/body"
fetch "$P1" "$CA1" "https://vendor.test:$OP/files/clean.bin?v=3"
check "broken database: a clean file still delivered" [ "$CODE" = 200 ]
check "broken database: byte-identical" cmp -s "$T/body" "$T/www/clean.bin"

# The directory replaced by another (no broken file; a signature for Y):
# the watch follows the name and the new contents are loaded. (X stays
# quarantined in the store whatever the signatures say now.)
mkdir "$T/sigs1.new"
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs1.new/"
sig SigwatchY "$(hex "$T/www/y.bin")" "$T/sigs1.new"
fetch "$P1" "$CA1" "https://vendor.test:$OP/files/z.bin?v=4"
check "Z before the replacement: delivered" [ "$CODE" = 200 ]
n=$(count "$EV1" '"event.action":"fwgate-reload"')
mv "$T/sigs1" "$T/sigs1.old" && mv "$T/sigs1.new" "$T/sigs1"
wait_for "the reload of the replaced directory" 20 0.1 log_count_ge "$EV1" '"event.action":"fwgate-reload"' $((n + 1))
check "replaced directory: reloaded" log_count_ge "$EV1" '"event.action":"fwgate-reload"' $((n + 1))
check "replaced directory: its contents listed" \
	log_has "$EV1" '"fwgate-reload",.*"fwgate.reload.change":"[^"]*sigs1".*"fwgate.signatures.count":2[,}]'
fetch "$P1" "$CA1" "https://vendor.test:$OP/files/y.bin?v=4"
check "replaced directory: its signature for Y blocks Y" grep -q "Fwgate.Test.SigwatchY" "$T/body"
# ... and the new directory is watched in turn.
sig SigwatchZ "$(hex "$T/www/z.bin")" "$T/sigs1"
wait_for "a reload from the new directory" 20 0.1 log_count_ge "$EV1" '"event.action":"fwgate-reload"' $((n + 2))
fetch "$P1" "$CA1" "https://vendor.test:$OP/files/z.bin?v=5"
check "replaced directory: watched in its turn (Z blocked now)" grep -q "Fwgate.Test.SigwatchZ" "$T/body"
kill "$FWPID"
wait_for "fwgate 1 to stop" 20 0.1 exited "$FWPID"

# ------------------------------------------------- not watched, and old
# Signatures last changed 30 days ago, a maximum age of a day.
printf 'Fwgate.Test.Old:0:*:%s\n' "$(printf 'an old signature nobody updates' | od -An -tx1 | tr -d ' \n')" >"$T/sigs2/old.ndb"
touch -d '30 days ago' "$T/sigs2/old.ndb" "$T/sigs2/eicar.ndb"
conf 2 "$T/sigs2" "watch_signatures = false" "reload_debounce_seconds = 1" "max_signature_age_hours = 24"
start_fwgate fw2 "$T/fw2.conf"
EV2=$T/events2.log
CA2=$T/state2/ca/ca.crt
check "watch off: said at start" log_has "$T/fw2.err" "not watched \(\[scanner\] watch_signatures = false\)"
wait_for "the age warning" 10 0.1 log_has "$EV2" '"event.action":"fwgate-signatures-outdated"'
check "old signatures: a warning event at start" \
	log_has "$EV2" '"event.action":"fwgate-signatures-outdated",.*"fwgate.signatures.check":"start"'
check "old signatures: the event gives the age and the limit" \
	log_has "$EV2" '"fwgate-signatures-outdated",.*"fwgate.signatures.age_seconds":259[0-9]{4},"fwgate.signatures.max_age_seconds":86400'
check "old signatures: the reason names the directory and the key" \
	log_has "$EV2" '"fwgate.reason":"the signatures in [^"]*/sigs2 are 720 h old[^"]*max_signature_age_hours \(24 h\)'
check "old signatures: said on stderr" log_has "$T/fw2.err" "warning: the signatures in .*/sigs2 are 720 h old"

# /metrics: the age and the flag.
TOK=$("$FW" token add metrics --role viewer -c "$T/fw2.conf" 2>/dev/null | grep -o 'fwg_[A-Za-z0-9_-]*' | head -n 1)
curl -s -o "$T/metrics" --max-time 30 --cacert "$CA2" -H "Authorization: Bearer $TOK" "https://127.0.0.1:$C2/metrics"
metric() { awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "missing" }' "$T/metrics"; }
check "/metrics: fwgate_scanner_signatures_outdated 1" [ "$(metric fwgate_scanner_signatures_outdated)" = 1 ]
check "/metrics: fwgate_scanner_signatures_age_seconds is 30 days" \
	awk -v a="$(metric fwgate_scanner_signatures_age_seconds)" 'BEGIN { exit !(a >= 2592000 && a < 2592000 + 600) }'

# Not watched: a new database changes nothing until SIGHUP.
fetch "$P2" "$CA2" "https://vendor.test:$OP/files/x.bin?w=1"
check "watch off: X delivered" [ "$CODE" = 200 ]
sig Sigwatch "$(hex "$T/www/x.bin")" "$T/sigs2"
# The absence of an event is awaited for three debounce periods and more.
not wait_for "no reload (none is expected)" 4 0.2 log_has "$EV2" '"event.action":"fwgate-reload' 2>/dev/null
check "watch off: no reload on a change" not log_has "$EV2" '"event.action":"fwgate-reload'
fetch "$P2" "$CA2" "https://vendor.test:$OP/files/x.bin?w=2"
check "watch off: X still delivered" [ "$CODE" = 200 ]
kill -HUP "$FWPID"
wait_for "the SIGHUP reload" 20 0.1 log_has "$EV2" '"event.action":"fwgate-reload"'
check "watch off: SIGHUP reloads, and says so" \
	log_has "$EV2" '"event.action":"fwgate-reload",.*"fwgate.reload.trigger":"sighup"'
check "the reload: the directory is fresh again, no new age warning" \
	[ "$(count "$EV2" '"event.action":"fwgate-signatures-outdated"')" = 1 ]
fetch "$P2" "$CA2" "https://vendor.test:$OP/files/x.bin?w=3"
check "watch off: X blocked after SIGHUP" [ "$CODE" = 403 ]
kill "$FWPID"
wait_for "fwgate 2 to stop" 20 0.1 exited "$FWPID"

echo "# $pass passed, $fail failed"
[ "$fail" = 0 ]
