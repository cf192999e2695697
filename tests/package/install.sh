#!/usr/bin/env bash
# The Debian package on this machine, as root: install build-deb's .deb,
# check what it made (user, /var/lib/fwgate 0700, the configuration passes
# fwgate config check as the fwgate user, man pages, the unit unstarted),
# then either run the unit (systemd is PID 1: a download from a local TLS
# origin through it, reload, stop) or verify it offline (systemd-analyze
# verify and security), and finally purge and check what purge leaves.
#   tests/package/install.sh [DEB]     (default build-deb/fwgate_*.deb)
# Refuses to run where fwgate is installed or /var/lib/fwgate exists: its
# purge would remove an operator's state.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$SRC/tests/integration
# lib.sh first (wait_for, log_has, fwdata, start_origin, make_card): it
# sets pass=0 fail=0 and its own ok/bad/check, which this script's below
# replace; sourced later, it zeroed the counts of every check made before
# the unit's (a failed install check then ended in "0 failed", exit 0).
source "$HERE/lib.sh"
deb=${1:-$(ls "$SRC"/build-deb/fwgate_*_*.deb 2>/dev/null | head -n 1)}
unit=/lib/systemd/system/fwgate.service
conf=/etc/fwgate/fwgate.conf
pass=0 fail=0 pids=()
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "    $l"; done; }
# check NAME CMD...: CMD's output is shown only when it fails
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "failed: $*" "$out"; fi
}

[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (it installs and purges the package)"; exit 2; }
[ -f "$deb" ] || { echo "install.sh: no .deb (tools/dev.sh deb makes build-deb/fwgate_VERSION_ARCH.deb)"; exit 2; }
if dpkg-query -W -f='${Status}' fwgate 2>/dev/null | grep -q installed || [ -e /var/lib/fwgate ]; then
	echo "install.sh: fwgate is installed here, or /var/lib/fwgate exists: not touching them"
	exit 2
fi

# ---- install
env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
check "the package is installed" dpkg-query -W -f='${Status}' fwgate
check "fwgate system user and group" bash -c '[ "$(id -gn fwgate)" = fwgate ] && [ "$(id -u fwgate)" -lt 1000 ]'
check "/var/lib/fwgate is 0700 fwgate:fwgate" [ "$(stat -c '%a %U:%G' /var/lib/fwgate)" = "700 fwgate:fwgate" ]
check "/var/log/fwgate is 0750 fwgate:fwgate" [ "$(stat -c '%a %U:%G' /var/log/fwgate)" = "750 fwgate:fwgate" ]
out=$(runuser -u fwgate -- fwgate -c "$conf" config check 2>&1) || true
check "fwgate config check of $conf as the fwgate user" grep -qx 'dir = /var/lib/fwgate' <<<"$out"
check "... with the packaged rule card and allow-list" \
	grep -q '^file = /etc/fwgate/fwgate-policy.json$' <<<"$out"
check "conffiles: the configuration, the rule card, the allow-list" \
	bash -c '[ "$(dpkg-query -W -f="\${Conffiles}" fwgate | awk "{print \$1}" | grep -c "^/etc/fwgate/")" = 3 ]'
check "man -w fwgate.conf" bash -c 'man -w fwgate.conf | grep -q "/man5/fwgate.conf.5"'
check "man -w 8 fwgate" bash -c 'man -w 8 fwgate | grep -q "/man8/fwgate.8"'
check "the unit is installed, not enabled" bash -c "[ -f $unit ] && ! systemctl is-enabled --quiet fwgate.service 2>/dev/null"

# ---- the unit
if [ -d /run/systemd/system ]; then
	# systemd runs this machine: a download through the unit's gateway from
	# a local TLS origin it is told to trust, a reload, a stop. Files live in
	# /run (the unit's /tmp is private) and are readable by the fwgate user.
	T=$(mktemp -d /run/fwgate-pkgtest.XXXXXX)
	chmod 0755 "$T"
	dropin=/etc/systemd/system/fwgate.service.d/pkgtest.conf
	cleanup() {
		systemctl stop fwgate.service 2>/dev/null || true
		rm -f "$dropin"
		rmdir /etc/systemd/system/fwgate.service.d 2>/dev/null || true
		systemctl daemon-reload || true
		for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
		rm -rf "$T"
	}
	trap cleanup EXIT
	bash "$HERE/pki.sh" "$T/pki" >/dev/null
	chmod 0755 "$T/pki"
	chmod 0644 "$T/pki/testca.crt"
	mkdir -p "$T/www"
	fwdata 300000 "$T/www/fw.bin"
	start_origin origin
	P=$(free_port)
	echo vendor.test >"$T/allowlist"
	make_card "$T/card.json" "$ORIGIN_PORT"
	python3 - "$conf" "$T/fwgate.conf" <<PY
import re, sys
want = {("proxy", "listen"): "127.0.0.1:$P", ("console", "listen"): "off",
        ("policy", "file"): "$T/card.json", ("policy", "allowlist"): "$T/allowlist", ("upstream", "ca_file"): "$T/pki/testca.crt",
        ("upstream", "resolve"): "vendor.test:$ORIGIN_PORT:127.0.0.1", ("upstream", "allow_private"): "true"}
sec, out = None, []
for line in open(sys.argv[1]):
    m = re.match(r"^\[([a-z_]+)\]", line)
    sec = m.group(1) if m else sec
    m = re.match(r"^([a-z_]+)\s*=", line)
    if m and (sec, m.group(1)) in want:
        line = f"{m.group(1)} = {want.pop((sec, m.group(1)))}\n"
    out.append(line)
assert not want, want
open(sys.argv[2], "w").writelines(out)
PY
	chmod 0644 "$T/fwgate.conf" "$T/allowlist" "$T/card.json"
	mkdir -p "$(dirname "$dropin")"
	printf '[Service]\nExecStart=\nExecStart=/usr/bin/fwgate -c %s run\nTimeoutStartSec=90s\n' "$T/fwgate.conf" >"$dropin"
	systemctl daemon-reload
	check "systemctl start fwgate (Type=notify: READY=1 within 90 s)" systemctl start fwgate.service
	check "the unit is active" systemctl is-active --quiet fwgate.service
	code=$(curl -s -o "$T/got.bin" -w '%{http_code}' --max-time 60 --proxy "http://127.0.0.1:$P" \
		--cacert /var/lib/fwgate/ca/ca.crt "https://vendor.test:$ORIGIN_PORT/files/fw.bin") || true
	check "a download through the unit's gateway: 200, the origin's bytes" \
		bash -c "[ '$code' = 200 ] && cmp -s '$T/www/fw.bin' '$T/got.bin'"
	check "the event log is /var/log/fwgate/events.log" log_has /var/log/fwgate/events.log '"fwgate-start"'
	systemctl reload fwgate.service
	check "systemctl reload: the log is reopened (SIGHUP)" \
		wait_for "the reopen event" 30 0.2 log_has /var/log/fwgate/events.log '"fwgate-reopen-log"'
	check "still active after the reload" systemctl is-active --quiet fwgate.service
	check "fwgate status as the fwgate user (the control socket in /var/lib/fwgate)" \
		bash -c "runuser -u fwgate -- fwgate -c '$T/fwgate.conf' status | grep -q '^scanner *up'"
	# Restart=on-failure: a killed main process comes back (RestartSec=5s)
	main=$(systemctl show -P MainPID fwgate.service)
	kill -KILL "$main"
	check "Restart=on-failure: active again with a new main process after SIGKILL" \
		wait_for "the restart" 30 0.5 bash -c "systemctl is-active --quiet fwgate.service &&
			[ \"\$(systemctl show -P MainPID fwgate.service)\" != $main ] &&
			[ \"\$(systemctl show -P NRestarts fwgate.service)\" = 1 ]"
	systemctl stop fwgate.service
	check "systemctl stop: inactive" bash -c '! systemctl is-active --quiet fwgate.service'
	cleanup
	trap - EXIT
else
	echo "systemd is not PID 1 here: the unit is verified offline, not started"
fi
check "systemd-analyze verify $unit: no warning" \
	bash -c "out=\$(systemd-analyze verify $unit 2>&1); echo \"\$out\"; [ -z \"\$out\" ]"
systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -n 1 || true

# ---- purge: Debian's meaning, everything fwgate made but its user
dpkg --purge fwgate >/dev/null 2>&1
check "purge: the package is gone" bash -c '! dpkg-query -W -f="\${Status}" fwgate 2>/dev/null | grep -q installed'
check "purge: /var/lib/fwgate (CA key, store) removed" [ ! -e /var/lib/fwgate ]
check "purge: /var/log/fwgate removed" [ ! -e /var/log/fwgate ]
check "purge: /etc/fwgate removed" [ ! -e /etc/fwgate ]
check "purge: the fwgate user stays (Debian keeps system users)" getent passwd fwgate

echo "package: $pass passed, $fail failed"
[ "$fail" = 0 ]
