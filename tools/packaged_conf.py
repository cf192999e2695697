#!/usr/bin/env python3
"""/etc/fwgate/fwgate.conf of the Debian package: etc/fwgate.conf.example
(every key, its default and its comment) with the values a packaged
install needs in place of the defaults. Each replaced key must exist once in
its section, else this fails: the package never ships a path the example
no longer has.

  packaged_conf.py EXAMPLE OUT
"""
import re
import sys

# (section, key) -> value for a packaged install (debian/ creates these paths).
PACKAGED = {
    ("state", "dir"): "/var/lib/fwgate",
    ("policy", "file"): "/etc/fwgate/fwgate-policy.json",
    ("policy", "allowlist"): "/etc/fwgate/allowlist",
    ("log", "file"): "/var/log/fwgate/events.log",
}

HEADER = """\
# fwgate.conf of the Debian package (/etc/fwgate/fwgate.conf, a conffile):
# the example configuration of fwgate's source with the package's paths for
# [state] dir, [policy] file and allowlist and [log] file. Every other key has
# its default; fwgate.conf(5) documents them all.
# As shipped the allow-list is empty, so the proxy blocks every destination:
# add the vendor domains to /etc/fwgate/allowlist and the appliance's
# addresses to [proxy] clients, then `systemctl enable --now fwgate`.
#
"""


def main(argv):
    if len(argv) != 3:
        print("usage: packaged_conf.py EXAMPLE OUT", file=sys.stderr)
        return 2
    section, done, out = None, set(), []
    with open(argv[1], encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        m = re.match(r"^\[([a-z_]+)\]\s*$", line)
        if m:
            section = m.group(1)
        m = re.match(r"^([a-z_][a-z0-9_]*)\s*=", line)
        if m and (section, m.group(1)) in PACKAGED:
            where = (section, m.group(1))
            if where in done:
                print(f"packaged_conf.py: [{section}] {m.group(1)} appears twice", file=sys.stderr)
                return 1
            done.add(where)
            line = f"{m.group(1)} = {PACKAGED[where]}"
        out.append(line)
    missing = sorted(set(PACKAGED) - done)
    if missing:
        print("packaged_conf.py: the example has no " + ", ".join(f"[{s}] {k}" for s, k in missing),
              file=sys.stderr)
        return 1
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(HEADER + "\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
