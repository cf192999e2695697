#!/usr/bin/env python3
"""Man pages from the two places that already document fwgate, so that
neither can drift from the program: fwgate.conf(5) from
etc/fwgate.conf.example (every key, its default and its comment) and
fwgate(8) from the built binary's `fwgate help` and `fwgate help COMMAND`
(the command table in cli/main.c). Writes roff only; never edits a source.

  manpages.py conf5 EXAMPLE OUT VERSION
  manpages.py cmd8 FWGATE OUT VERSION
"""
import re
import subprocess
import sys

SECTION_RE = re.compile(r"^\[([a-z_]+)\]\s*$")
KEY_RE = re.compile(r"^([a-z_][a-z0-9_]*)\s*=\s*(.*?)\s*$")

# Where the Debian package puts things (debian/): said as such in FILES.
PACKAGED_FILES = [
    ("/usr/bin/fwgate", "the program"),
    ("/etc/fwgate/fwgate.conf", "the configuration, see fwgate.conf(5)"),
    ("/etc/fwgate/fwgate-policy.json", "the rule card ([policy] file)"),
    ("/etc/fwgate/allowlist", "the vendor domain allow-list ([policy] allowlist), empty as shipped"),
    ("/var/lib/fwgate", "the state directory: database, blobs, quarantine, spool, the CA (mode 0700, "
     "user fwgate)"),
    ("/var/log/fwgate/events.log", "the JSON event log"),
    ("/lib/systemd/system/fwgate.service", "the systemd unit (installed, neither enabled nor started)"),
]


class ManError(Exception):
    pass


def esc(text):
    """Roff-escapes one line of running text: backslashes and minus signs
    (a "-" is a hyphen to groff; options need the minus), and a leading
    dot or quote that troff would take for a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def header(name, section, version, title, summary):
    return [
        f'.TH {name.upper()} {section} "" "fwgate {esc(version)}" "{title}"',
        # No hyphenation and a ragged right: key and option names stay whole,
        # so that a reader (and the test) finds them as written.
        ".nh",
        ".ad l",
        ".SH NAME",
        f"{name} \\- {esc(summary)}",
    ]


def files_section():
    out = [".SH FILES", "As installed by the Debian package:"]
    for path, what in PACKAGED_FILES:
        out += [".TP", f".I {esc(path)}", esc(what)]
    return out


def parse_example(path):
    """Returns (intro lines, [(section, [(keys [(name, default)], doc lines)])]).
    A comment block documents the key below it; keys that follow with no
    comment of their own share it. A key with no comment above it in its
    section, or a comment that documents no key, is an error."""
    intro, sections, pending = [], [], []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        where = f"{path}:{no}"
        if line.startswith(("#", ";")):
            text = line[1:]
            pending.append(text[1:] if text.startswith(" ") else text)
            continue
        if line == "":
            if not sections:
                intro += pending + [""]
                pending = []
            elif pending:
                raise ManError(f"{where}: a comment documents no key")
            continue
        m = SECTION_RE.match(line)
        if m:
            if pending and not sections:
                intro += pending
            elif pending:
                raise ManError(f"{where}: a comment documents no key")
            pending = []
            sections.append((m.group(1), []))
            continue
        m = KEY_RE.match(line)
        if not m or not sections:
            raise ManError(f"{where}: neither a comment, a [section] nor a key = value line")
        entries = sections[-1][1]
        if pending:
            entries.append(([(m.group(1), m.group(2))], pending))
            pending = []
        elif entries:
            entries[-1][0].append((m.group(1), m.group(2)))
        else:
            raise ManError(f"{where}: key {m.group(1)} has no comment saying what it does")
    if pending:
        raise ManError(f"{path}: the last comment documents no key")
    if not sections:
        raise ManError(f"{path}: no [section]")
    return intro, sections


def paragraphs(lines):
    """Comment lines as roff: blank lines start a new paragraph."""
    out, joined = [], []
    for line in lines:
        # a word the comment split at its hyphen ("comma-" / "separated")
        if joined and line.strip() and re.search(r"[a-z]-$", joined[-1]) and line[:1].islower():
            joined[-1] += line
        else:
            joined.append(line)
    for line in joined:
        if line.strip() == "":
            if out and out[-1] != ".PP":
                out.append(".PP")
        else:
            out.append(esc(line))
    while out and out[-1] == ".PP":
        out.pop()
    return out


def conf5(example, version):
    intro, sections = parse_example(example)
    out = header("fwgate.conf", 5, version, "File Formats",
                 "configuration of the fwgate firmware inspection gateway")
    out += [".SH SYNOPSIS", ".I /etc/fwgate/fwgate.conf", ".SH DESCRIPTION"]
    out += paragraphs(intro)
    out += [".PP", "This page is made from the example configuration of the source tree "
            "(etc/fwgate.conf.example), which is the file fwgate's own tests load: each key "
            "below is shown with its default value."]
    out += [".SH SECTIONS AND KEYS"]
    for name, entries in sections:
        out.append(f".SS [{name}]")
        for keys, doc in entries:
            for i, (key, default) in enumerate(keys):
                value = f"\\fI{esc(default)}\\fR" if default else "(empty)"
                out += [".TP" if i == 0 else ".TQ", f"\\fB{esc(key)}\\fR = {value}"]
            out += paragraphs(doc)
    out += files_section()
    out += [".SH SEE ALSO", ".BR fwgate (8)"]
    return out


def run_help(fwgate, *args):
    r = subprocess.run([fwgate, "help", *args], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise ManError(f"{fwgate} help {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout.splitlines()


def parse_help(lines):
    """`fwgate help`: a title line, a usage line, "commands:", one
    "  name summary" line each, a blank line, then closing notes."""
    title = lines[0].split(": ", 1)[1] if ": " in lines[0] else ""
    try:
        start = lines.index("commands:") + 1
    except ValueError as e:
        raise ManError("fwgate help printed no \"commands:\" line") from e
    cmds, end = [], start
    while end < len(lines) and lines[end].strip():
        m = re.match(r"^  (\S+)\s+(.*)$", lines[end])
        if not m:
            raise ManError(f"fwgate help: cannot read the command line \"{lines[end]}\"")
        cmds.append((m.group(1), m.group(2)))
        end += 1
    if not cmds or not title:
        raise ManError("fwgate help listed no command or no title")
    notes = [line for line in lines[end:] if line.strip()]
    usage = [line for line in lines[:start] if line.startswith("usage:")]
    return title, usage, cmds, notes


def usage8(lines):
    """One command's usage text: the "usage:" lines (and their indented
    continuations) as a literal block, then the description, whose
    indented lines (options, examples) stay literal."""
    out, i = [".PP", ".nf"], 0
    while i < len(lines) and lines[i].strip():
        out.append(esc(lines[i]))
        i += 1
    out.append(".fi")
    literal = False
    for line in lines[i:]:
        if not line.strip():
            continue
        indented = line.startswith(" ")
        if indented and not literal:
            out += [".PP", ".RS", ".nf"]
        elif not indented and literal:
            out += [".fi", ".RE", ".PP"]
        elif not indented and out[-1] == ".fi":
            out.append(".PP")
        literal = indented
        out.append(esc(line.strip() if not indented else line[2:] if line.startswith("  ") else line))
    if literal:
        out += [".fi", ".RE"]
    return out


def cmd8(fwgate, version):
    title, usage, cmds, notes = parse_help(run_help(fwgate))
    out = header("fwgate", 8, version, "System Administration", title)
    out += [".SH SYNOPSIS", ".nf"] + [esc(u[len("usage: "):]) for u in usage] + [".fi"]
    out += [".SH DESCRIPTION",
            "fwgate is the HTTPS forward proxy through which a server\\-management appliance "
            "reaches its vendor's download service: it decrypts the download, inspects every "
            "byte (types, archives, UEFI images, ClamAV, a sandbox) and lets only vetted images "
            "through, keeping them for BMC pushes and offline mirroring. One program holds "
            "every command below; fwgate run is the gateway itself.", ".PP"]
    out += [esc(n) for n in notes]
    out.append(".SH COMMANDS")
    for name, summary in cmds:
        out += [f".SS {esc(name)}", esc(summary) + "."]
        out += usage8(run_help(fwgate, name))
    out += files_section()
    out += [".SH SEE ALSO", ".BR fwgate.conf (5),", ".BR systemctl (1)"]
    return out


def main(argv):
    if len(argv) != 5 or argv[1] not in ("conf5", "cmd8"):
        print(__doc__.strip().splitlines()[-2].strip(), file=sys.stderr)
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    mode, src, dst, version = argv[1:]
    try:
        lines = conf5(src, version) if mode == "conf5" else cmd8(src, version)
    except (ManError, OSError) as e:
        print(f"manpages.py: {e}", file=sys.stderr)
        return 1
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
