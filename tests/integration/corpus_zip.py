#!/usr/bin/env python3
"""Builds the hostile archives of tests/integration/scan.sh that the
command-line tools cannot make: crafted zips (overlapping entries, bad
CRC, unsafe and unprintable member names, many members) and tars with
links pointing outside the archive.

Usage: corpus_zip.py KIND OUT [ARGS...]   (see the KINDS table below)
Standard library only; deterministic output."""

import io
import struct
import sys
import tarfile
import zipfile
import zlib

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
DATE = (2024, 1, 1, 0, 0, 0)


def info(name, method=zipfile.ZIP_STORED):
    zi = zipfile.ZipInfo(name, DATE)
    zi.compress_type = method
    zi.external_attr = 0o644 << 16
    return zi


class RawInfo(zipfile.ZipInfo):
    """A ZipInfo whose name is written as its exact bytes (latin-1 round
    trip, no UTF-8 flag) instead of zipfile's UTF-8 encoding."""
    __slots__ = ()

    def _encodeFilenameFlags(self):
        return self.filename.encode("latin-1"), self.flag_bits & ~0x800


def raw_info(name_bytes, method=zipfile.ZIP_STORED):
    zi = RawInfo(name_bytes.decode("latin-1"), DATE)
    zi.compress_type = method
    zi.external_attr = 0o644 << 16
    return zi


def unsafe_names(out, *names):
    """One small member per name: '../../etc/passwd', '/etc/passwd', ..."""
    with zipfile.ZipFile(out, "w") as z:
        for n in names:
            z.writestr(info(n), b"root:x:0:0:root:/root:/bin/sh\n")


def odd_names(out):
    """Members whose names hold control characters, '!', '\\', bytes that
    are not UTF-8 and more than 255 bytes; all harmless content."""
    names = [
        b"esc\x1b[31mred\x07bell.txt",
        b"new\nline\rcr\ttab.txt",
        b"bang!not-a-level.txt",
        b"back\\slash.txt",
        b"caf\xe9-latin1.txt",
        b"del\x7f.txt",
        b"L" * 300 + b".txt",
    ]
    with zipfile.ZipFile(out, "w") as z:
        for n in names:
            z.writestr(raw_info(n), b"harmless\n")


def many(out, count):
    """count empty members in one zip."""
    count = int(count)
    with zipfile.ZipFile(out, "w") as z:
        for i in range(count):
            z.writestr(info("e/%06d" % i), b"")


def bomb(out, mib, method="deflate"):
    """One member of MiB zeros, deflated (about 1:1000) or bzip2ed (far more)."""
    m = {"deflate": zipfile.ZIP_DEFLATED, "bzip2": zipfile.ZIP_BZIP2}[method]
    with zipfile.ZipFile(out, "w", compresslevel=9) as z:
        with z.open(info("zeros.bin", m), "w", force_zip64=True) as w:
            chunk = bytes(1 << 20)
            for _ in range(int(mib)):
                w.write(chunk)


def nested_bomb(out, inner_count, mib):
    """A zip of inner_count zips, each holding MiB zeros deflated."""
    buf = io.BytesIO()
    bomb(buf, mib)
    inner = buf.getvalue()
    with zipfile.ZipFile(out, "w") as z:
        for i in range(int(inner_count)):
            z.writestr(info("inner%02d.zip" % i, zipfile.ZIP_DEFLATED), inner)


def layered(out, inner_kib, copies):
    """A nested bomb whose every level stays under a ratio of about 1:50
    while the whole tree expands several hundred times: inner.zip holds
    inner_kib KiB of two-symbol noise (deflates about 1:6); the outer
    tar.gz holds `copies` copies of inner.zip, which gzip, one stream,
    finds each time in its 32 KiB window."""
    import random
    rnd = random.Random(7)
    noise = bytes(rnd.choice(b"AB") for _ in range(int(inner_kib) << 10))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compresslevel=9) as z:
        z.writestr(info("noise.bin", zipfile.ZIP_DEFLATED), noise)
    inner = buf.getvalue()
    if len(inner) >= 32000:
        raise SystemExit("layered: inner zip too large for gzip's window")
    with tarfile.open(out, "w:gz", format=tarfile.GNU_FORMAT, compresslevel=9) as t:
        for i in range(int(copies)):
            ti = tarfile.TarInfo("layer%03d.zip" % i)
            ti.size, ti.mtime, ti.mode = len(inner), 1704067200, 0o644
            t.addfile(ti, io.BytesIO(inner))


def overlap(out, entries, mib):
    """Fifield-style overlap: one local file (MiB zeros, deflated) and
    `entries` central-directory records all pointing at it, so the
    archive claims entries x MiB from one compressed kernel."""
    entries, size = int(entries), int(mib) << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = c.compress(bytes(size)) + c.flush()
    crc = zlib.crc32(bytes(size))
    name = b"kernel.bin"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5821,
                        crc, len(data), size, len(name), 0) + name + data
    cd = b""
    for i in range(entries):
        # every record names the same bytes; the names differ as in Fifield's construction
        n = b"k%04d.bin" % i
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x5821,
                          crc, len(data), size, len(n), 0, 0, 0, 0, 0o644 << 16, 0) + n
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, len(cd), len(local), 0)
    with open(out, "wb") as f:
        f.write(local + cd + eocd)


def bad_crc(out):
    """A stored member whose data has one byte flipped after the CRC was
    computed."""
    payload = bytes(range(256)) * 64
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(info("data.bin"), payload)
    blob = bytearray(open(out, "rb").read())
    at = blob.index(payload)  # stored: the payload is verbatim after the local header
    blob[at + 1000] ^= 0xFF
    open(out, "wb").write(bytes(blob))


def tar_links(out, kind):
    """A tar with a link leading outside the archive, then a regular file."""
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
        ti = tarfile.TarInfo("fw/readme.txt")
        body = b"harmless\n"
        ti.size, ti.mtime, ti.mode = len(body), 1704067200, 0o644
        t.addfile(ti, io.BytesIO(body))
        li = tarfile.TarInfo("fw/config")
        li.mtime, li.mode = 1704067200, 0o777
        if kind == "symlink":          # fw/config -> /etc/passwd
            li.type, li.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "symlink-up":     # fw/config -> ../../../etc/passwd
            li.type, li.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
        elif kind == "hardlink":       # fw/config hard-linked to ../../etc/shadow
            li.type, li.linkname = tarfile.LNKTYPE, "../../etc/shadow"
        elif kind == "hardlink-abs":   # fw/config hard-linked to /etc/shadow
            li.type, li.linkname = tarfile.LNKTYPE, "/etc/shadow"
        elif kind == "inside":         # fw/config -> readme.txt: harmless
            li.type, li.linkname = tarfile.SYMTYPE, "readme.txt"
        else:
            raise SystemExit("unknown link kind " + kind)
        t.addfile(li)


def tar_unsafe(out, *names):
    """A tar with members under unsafe names (tarfile keeps them as given)."""
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
        for n in names:
            ti = tarfile.TarInfo(n)
            body = b"root:x:0:0:root:/root:/bin/sh\n"
            ti.size, ti.mtime, ti.mode = len(body), 1704067200, 0o644
            t.addfile(ti, io.BytesIO(body))


def clean_random(out, kib):
    """A deflated zip of pseudo-random data (deterministic), 7 bits per
    byte: firmware-like, under the coverage check's entropy bound."""
    import random
    rnd = random.Random(4)
    with zipfile.ZipFile(out, "w") as z:
        for i in range(3):
            data = bytes(b & 0x7F for b in rnd.randbytes(int(kib) << 10))
            z.writestr(info("fw/part%d.bin" % i, zipfile.ZIP_DEFLATED), data)
        z.writestr(info("fw/README.txt", zipfile.ZIP_DEFLATED), b"firmware 1.2.3\n" * 40)


KINDS = {
    "unsafe-names": unsafe_names,
    "odd-names": odd_names,
    "many": many,
    "bomb": bomb,
    "nested-bomb": nested_bomb,
    "layered": layered,
    "overlap": overlap,
    "bad-crc": bad_crc,
    "tar-links": tar_links,
    "tar-unsafe": tar_unsafe,
    "clean-random": clean_random,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in KINDS:
        raise SystemExit("usage: corpus_zip.py {%s} OUT [ARGS...]" % ",".join(KINDS))
    KINDS[sys.argv[1]](sys.argv[2], *sys.argv[3:])
