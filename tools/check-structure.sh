#!/usr/bin/env bash
# The house's structural rules (issue 12), checked on every build: no
# production source file over 800 lines, and no two production files that
# call each other (tools/file_cycles.py over the object files of every
# production target of the build: what compile_commands.json lists outside
# tests/ and fuzz targets).
# Usage: check-structure.sh SOURCE_ROOT BUILD_ROOT
set -u
src=${1:?source root}
build=${2:?build root}
fail=0
long=$(cd "$src" && find common cli include proxy allowlist scanner store console bundle redfish sandbox \
	\( -name '*.c' -o -name '*.h' \) -print0 | xargs -0 wc -l | awk '$2 != "total" && $1 > 800')
if [ -n "$long" ]; then
	echo "production files over 800 lines:"
	echo "$long"
	fail=1
fi
mapfile -t objs < <(python3 - "$build" <<'PY'
import json, os, sys
b = sys.argv[1]
for e in json.load(open(os.path.join(b, 'compile_commands.json'))):
    f = e['file']
    if '/tests/' in '/' + f or f.startswith('../tests/') or 'fuzz' in os.path.basename(f):
        continue
    o = os.path.join(b, e['output'])
    if os.path.exists(o):
        print(o)
PY
)
if [ "${#objs[@]}" -lt 50 ]; then
	echo "only ${#objs[@]} production object files found under $build: build first"
	fail=1
elif ! python3 "$src/tools/file_cycles.py" "${objs[@]}"; then
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	echo "0 passed, 1 failed"
	exit 1
fi
echo "${#objs[@]} object files, no cycle; no file over 800 lines"
echo "1 passed, 0 failed"
