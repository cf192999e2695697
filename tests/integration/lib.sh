# Shared harness of the integration tests that run the real gateway: TAP-ish
# results, free ports, the real TLS origin and `fwgate run`. Sourced after
# the caller has set FW (the binary), SRC (the source root), HERE (this
# directory), T (its temp directory) and pids (an array its cleanup kills).

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "    $l"; done; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "failed: $*"; fi; }
not() { ! "$@"; }
in_set() { local v=$1; shift; for x in "$@"; do [ "$v" = "$x" ] && return 0; done; return 1; }

# fwdata BYTES FILE: unique test content that looks like firmware to the
# coverage check: random bytes with the top bit cleared (7 bits per byte,
# under the 7.5 at which bytes count as compressed or encrypted; uniformly
# random bytes are indistinguishable from an encrypted payload and are held).
fwdata() { head -c "$1" /dev/urandom | LC_ALL=C tr '\200-\377' '\000-\177' >"$2"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_origin NAME ARGS...: runs origin.py on $T/pki and $T/www, sets ORIGIN_PORT
start_origin() {
	local name=$1; shift
	python3 "$HERE/origin.py" --certdir "$T/pki" --docroot "$T/www" --port 0 --log "$T/$name.log" "$@" \
		>"$T/$name.out" 2>"$T/$name.err" &
	pids+=($!)
	for _ in $(seq 1 100); do
		ORIGIN_PORT=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$T/$name.out")
		[ -n "$ORIGIN_PORT" ] && return 0
		sleep 0.05
	done
	echo "origin $name did not start: $(cat "$T/$name.err")"
	exit 1
}

# start_fwgate NAME CONF: runs fwgate, waits until it serves; sets FWPID
start_fwgate() {
	"$FW" run -c "$2" >"$T/$1.out" 2>"$T/$1.err" &
	pids+=($!)
	FWPID=$!
	for _ in $(seq 1 200); do
		grep -q "serving on" "$T/$1.err" && return 0
		kill -0 "$FWPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "fwgate $1 did not start: $(cat "$T/$1.err")"
	exit 1
}

# make_card OUT PORT...: the shipped rule card, with the origin's ports
# allowed besides 443 (the tests' origins listen on free ports)
make_card() {
	local out=$1; shift
	python3 - "$SRC/etc/fwgate-policy.json" "$out" "$@" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
svc = card["rules"][0]["service"]
svc["ports"] = ["443"] + sys.argv[3:]
svc["app_default"] = False
json.dump(card, open(sys.argv[2], "w"))
PY
}

spool_empty() { [ -z "$(ls -A "$1/spool" 2>/dev/null)" ]; }
