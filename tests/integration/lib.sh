# The one harness of the integration tests (sourced by every
# tests/integration/*.sh): TAP-ish results, bounded waits, free ports, the
# real TLS origin and `fwgate run`. Sourced after the caller has set FW (the
# binary), SRC (the source root), HERE (this directory), T (its temp
# directory) and, for the gateway and the origin, pids (an array its
# cleanup kills). Holds no test of its own.

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "    $l"; done; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "failed: $*"; fi; }
not() { ! "$@"; }
in_set() { local v=$1; shift; for x in "$@"; do [ "$v" = "$x" ] && return 0; done; return 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# wait_for WHAT TIMEOUT INTERVAL CMD...: runs CMD every INTERVAL seconds
# until it succeeds, for at most TIMEOUT seconds (both may be fractions).
# Returns 0 as soon as CMD does; else 1 after saying, on stderr, what was
# awaited and for how long. The caller's check then records the failure:
# a wait never fails a test by itself, and never waits without a bound.
wait_for() {
	local what=$1 timeout=$2 every=$3 now end
	shift 3
	now=${EPOCHREALTIME/./}
	end=$((now + $(awk -v s="$timeout" 'BEGIN { printf "%d", s * 1000000 }')))
	while :; do
		"$@" && return 0
		[ "${EPOCHREALTIME/./}" -ge "$end" ] && break
		sleep "$every"
	done
	echo "wait_for: gave up after ${timeout} s waiting for $what (condition: $*)" >&2
	return 1
}

# Conditions for wait_for.
# log_has FILE PATTERN: FILE exists and a line matches the ERE PATTERN
log_has() { grep -qE -- "$2" "$1" 2>/dev/null; }
# log_count_ge FILE PATTERN N: at least N lines of FILE match PATTERN
log_count_ge() { [ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; }
# exited PID: the process has ended (or is a zombie nobody reaped)
exited() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}
# accepted PROCESS_PID PORT N: the process holds at least N accepted
# connections on its listening PORT (a connection still in the kernel's
# accept queue belongs to nobody)
accepted() { [ "$(ss -Htnp state established "( sport = :$2 )" 2>/dev/null | grep -c "pid=$1,")" -ge "$3" ]; }

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
	if wait_for "origin $name to listen" 5 0.05 log_has "$T/$name.out" '^READY [0-9]+$'; then
		ORIGIN_PORT=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$T/$name.out")
		return 0
	fi
	echo "origin $name did not start: $(cat "$T/$name.err")"
	exit 1
}

# serving_or_gone FILE PID: fwgate logged that it serves, or the process is gone
serving_or_gone() { log_has "$1" "serving on" || ! kill -0 "$2" 2>/dev/null; }

# start_fwgate NAME CONF: runs fwgate, waits until it serves; sets FWPID
start_fwgate() {
	"$FW" run -c "$2" >"$T/$1.out" 2>"$T/$1.err" &
	pids+=($!)
	FWPID=$!
	wait_for "fwgate $1 to serve" 10 0.05 serving_or_gone "$T/$1.err" "$FWPID" &&
		log_has "$T/$1.err" "serving on" && return 0
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
