#!/usr/bin/env bash
# Fails when C sources call a function the house style bans (STYLE.md):
# unbounded or truncating string functions and unchecked conversions.
# Usage: check-banned.sh SOURCE_ROOT
set -u
root=${1:-.}
cd "$root" || exit 2
hits=$(grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|strncat|gets|strtok|atoi)[[:space:]]*\(' \
	--include='*.c' --include='*.h' common cli include tests proxy allowlist scanner store console bundle redfish sandbox bench 2>/dev/null)
if [ -n "$hits" ]; then
	echo "banned functions called:"
	echo "$hits"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "1 passed, 0 failed"
