#!/usr/bin/env bash
# The generated man pages: groff and man-db render them without a warning
# (lintian runs the same man --warnings), fwgate.conf(5) shows every
# section and key of etc/fwgate.conf.example with its default, and
# fwgate(8) every command `fwgate help` lists with its usage line. The
# example and the help are read here on their own, not through
# tools/manpages.py, so that a key or command the generator drops fails.
#   check.sh FWGATE.CONF.5 FWGATE.8 EXAMPLE FWGATE
set -euo pipefail
conf5=$1 man8=$2 example=$3 fwgate=$4
fail=0
bad() {
	echo "FAIL: $*"
	fail=1
}

for page in "$conf5" "$man8"; do
	err=$(groff -man -Tutf8 -ww -z "$page" 2>&1 >/dev/null) || bad "groff exits $? on $page"
	[ -z "$err" ] || bad "groff warns on $page: $err"
	err=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) ||
		bad "man exits $? on $page"
	[ -z "$err" ] || bad "man --warnings on $page: $err"
done

# Rendered as plain text, one space for any run of blanks.
render() {
	groff -man -Tascii -P-cbou "$1" | sed -e 's/[[:space:]]\+/ /g' -e 's/^ //'
}
text5=$(render "$conf5")
text8=$(render "$man8")

n_keys=0 section=
while IFS= read -r line; do
	if [[ $line =~ ^\[([a-z_]+)\][[:space:]]*$ ]]; then
		section=${BASH_REMATCH[1]}
		grep -qxF "[$section]" <<<"$text5" || bad "fwgate.conf.5 has no section [$section]"
	elif [[ $line =~ ^([a-z_][a-z0-9_]*)[[:space:]]*=[[:space:]]*(.*[^[:space:]])?[[:space:]]*$ ]]; then
		key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]:-(empty)}
		n_keys=$((n_keys + 1))
		# the key with its default, under its own section's heading
		awk -v s="[$section]" -v k="$key = $value" '
			$0 == s { inside = 1; next }
			/^\[[a-z_]+\]$/ { inside = 0 }
			inside && $0 == k { found = 1 }
			END { exit !found }' <<<"$text5" || bad "fwgate.conf.5 lacks \"$key = $value\" in [$section]"
	fi
done <"$example"
[ "$n_keys" -gt 50 ] || bad "only $n_keys keys read from $example"

n_cmds=0
while read -r name _; do
	n_cmds=$((n_cmds + 1))
	grep -qxF "$name" <<<"$text8" || bad "fwgate.8 has no heading for the command $name"
	usage=$("$fwgate" help "$name" | head -n 1 | sed -e 's/[[:space:]]\+/ /g')
	grep -qF -- "$usage" <<<"$text8" || bad "fwgate.8 lacks the usage of $name: $usage"
done < <("$fwgate" help | sed -n '/^commands:$/,/^$/{/^  /p}')
[ "$n_cmds" -gt 10 ] || bad "only $n_cmds commands read from fwgate help"

[ $fail = 0 ] && echo "man pages: $n_keys keys, $n_cmds commands, no groff or man warning"
exit $fail
