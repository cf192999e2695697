#!/usr/bin/env python3
"""Cross-checks fwgate's UEFI walk against UEFIExtract (Debian package
uefitool-cli), a parser nobody here wrote.

Usage: uefi_crosscheck.py FWGATE CONFIG IMAGE...

For each image, UEFIExtract dumps every element ("IMAGE all"); every
leaf section that holds code or data (PE32, TE, PIC, COMPAT16, raw) and
every raw file gives (file GUID, UI name, kind, SHA-256 of its bytes).
`fwgate scan --json` gives the same from its members (guid, ui, section,
sha256). The two sets must be equal: same modules, same names, same
bytes. UEFIExtract 0.28.0+A62 as Debian ships it has no Brotli decoder:
a Brotli GUID-defined section it leaves opaque is decoded here with
Debian's brotli command and its volume dumped by UEFIExtract in turn, so
that what fwgate found inside is still checked by a parser of its own.
Prints one "ok"/"not ok" line per image; exits 1 on any difference.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

BROTLI_GUID = "3D532050-5CDA-4FD0-879E-0F7F630D5AFB"
KINDS = {"PE32 image": "PE32", "TE image": "TE", "PIC": "PIC", "16-bit image": "COMPAT16", "Raw": "RAW"}


def info(path):
    out = {}
    try:
        with open(os.path.join(path, "info.txt"), encoding="utf-8", errors="replace") as f:
            for line in f:
                k, _, v = line.partition(":")
                out.setdefault(k.strip(), v.strip())
    except FileNotFoundError:
        pass
    return out


def body(path):
    p = os.path.join(path, "body.bin")
    return open(p, "rb").read() if os.path.exists(p) else b""


def dump(image, work):
    """UEFIExtract's dump directory of image (made in work)."""
    dst = os.path.join(work, "%d.img" % len(os.listdir(work)))
    shutil.copyfile(image, dst)
    subprocess.run(["UEFIExtract", dst, "all"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=300, check=False)
    return dst + ".dump"


def ui_of(file_dir):
    for name in sorted(os.listdir(file_dir)):
        p = os.path.join(file_dir, name)
        if os.path.isdir(p) and info(p).get("Subtype") == "UI":
            text = info(p).get("Text", "")
            if text:
                return text
            raw = body(p)
            return raw.decode("utf-16-le", errors="replace").split("\0")[0]
    return ""


def collect(top, work, out, file_guid="", ui=""):
    for name in sorted(os.listdir(top)):
        p = os.path.join(top, name)
        if not os.path.isdir(p):
            continue
        meta = info(p)
        t, sub = meta.get("Type", ""), meta.get("Subtype", "")
        g, u = file_guid, ui
        if t == "File":
            g = meta.get("File GUID", "").upper()
            u = ui_of(p)
            if sub == "Raw" and not any(os.path.isdir(os.path.join(p, c)) for c in os.listdir(p)):
                out.add((g, "", "FILE", hashlib.sha256(body(p)).hexdigest()))
        elif t == "Section" and sub in KINDS:
            children = [c for c in os.listdir(p) if os.path.isdir(os.path.join(p, c))]
            if not children:
                out.add((g, u if KINDS[sub] != "RAW" or u else "", KINDS[sub], hashlib.sha256(body(p)).hexdigest()))
        elif t == "Section" and sub == "GUID defined" and meta.get("Section GUID", "").upper() == BROTLI_GUID:
            children = [c for c in os.listdir(p) if os.path.isdir(os.path.join(p, c))]
            if not children or all(info(os.path.join(p, c)).get("Type") == "Padding" for c in children):
                brotli_inner(body(p), work, out, g, u)
                continue
        collect(p, work, out, g, u)


def brotli_inner(data, work, out, g, u):
    """A Brotli section's stream (EDK2's 16-byte header, then Brotli)
    decoded by Debian's brotli command; a volume in it dumped again."""
    plain = subprocess.run(["brotli", "-d", "-c"], input=data[16:], stdout=subprocess.PIPE, check=True).stdout
    off = 0
    while off + 4 <= len(plain):
        size = int.from_bytes(plain[off:off + 3], "little")
        stype = plain[off + 3]
        hdr = 4
        if size == 0xFFFFFF:
            size, hdr = struct.unpack_from("<I", plain, off + 4)[0], 8
        if size < hdr:
            break
        if stype == 0x17:
            vol = os.path.join(work, "brotli-%d.fv" % off)
            with open(vol, "wb") as f:
                f.write(plain[off + hdr:off + size])
            collect(dump(vol, work), work, out, g, u)
        off = (off + size + 3) & ~3


def fwgate_set(fw, conf, image):
    args = [fw, "scan", "--json", image] + (["-c", conf] if conf else [])
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    doc = json.loads(r.stdout)
    out = set()
    for m in doc.get("members", []):
        sec = m.get("section")
        if sec in ("PE32", "TE", "PIC", "COMPAT16", "RAW", "FILE"):
            out.add((m.get("guid", "").upper(), m.get("ui", "") if sec != "FILE" else "", sec, m["sha256"]))
    return doc, out


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    fw, conf, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    failed = 0
    for image in images:
        with tempfile.TemporaryDirectory() as work:
            theirs = set()
            top = dump(image, work)
            if os.path.isdir(top):
                collect(top, work, theirs)
            doc, ours = fwgate_set(fw, conf, image)
        name = os.path.basename(image)
        if doc.get("members_listed") != doc.get("members_total"):
            print("not ok - %s: fwgate listed %s of %s members" % (name, doc.get("members_listed"),
                                                                    doc.get("members_total")))
            failed += 1
        elif ours == theirs:
            kinds = {}
            for e in ours:
                kinds[e[2]] = kinds.get(e[2], 0) + 1
            print("ok - %s: %d modules as UEFIExtract lists them (%s)" % (
                name, len(ours), ", ".join("%s %d" % kv for kv in sorted(kinds.items())) or "none"))
        else:
            failed += 1
            print("not ok - %s: fwgate and UEFIExtract differ" % name)
            for e in sorted(theirs - ours):
                print("    only UEFIExtract: %s" % (e,))
            for e in sorted(ours - theirs):
                print("    only fwgate:      %s" % (e,))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
