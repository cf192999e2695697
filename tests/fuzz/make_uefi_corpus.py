#!/usr/bin/env python3
"""Writes the corpus of the fuzz_uefi target (tests/fuzz/corpus/uefi).

Usage: python3 tests/fuzz/make_uefi_corpus.py [OUTDIR]

The first byte of each input picks the entry (see fuzz_uefi.c): 'P' the
image parser, 'L'/'X'/'B'/'E'/'T' the LZMA, LZMA x86, Brotli, EFI and Tiano
decoders. Inputs:
  - every crafted image of tests/data/uefi_samples.py that fits the replay
    driver's 64 KiB (volumes with each compression, capsules, a flash
    descriptor image, the refusals);
  - volumes rebuilt from real modules of Debian's OVMF_CODE_4M.fd (package
    ovmf): the smallest FFS files of its PEI, DXE and SEC volumes, bytes as
    shipped, in a volume of 60 KiB at most; and the same volume in an LZMA
    section, as OVMF ships its main volume;
  - each decoder's stream alone.
Run again when the generator changes; the output is committed.
"""
import lzma
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "data"))
import uefi_samples as us  # noqa: E402

OVMF = "/usr/share/OVMF/OVMF_CODE_4M.fd"
LIMIT = 64 * 1024 - 1


def volumes(data):
    """(offset, bytes) of each firmware volume at an 8-aligned offset."""
    out, off = [], 0
    while off + 56 <= len(data):
        if data[off + 40:off + 44] == b"_FVH":
            n = struct.unpack_from("<Q", data, off + 32)[0]
            if 56 <= n <= len(data) - off:
                out.append((off, data[off:off + n]))
                off += (n + 7) & ~7
                continue
        off += 8
    return out


def ffs_files(vol):
    """The FFS files of a volume, bytes as they are."""
    hlen = struct.unpack_from("<H", vol, 48)[0]
    ext = struct.unpack_from("<H", vol, 52)[0]
    off = hlen
    if ext:
        off = ext + struct.unpack_from("<I", vol, ext + 16)[0]
    off = (off + 7) & ~7
    files = []
    while off + 24 <= len(vol):
        if vol[off:off + 24] == b"\xff" * 24:
            break
        size = int.from_bytes(vol[off + 20:off + 23], "little")
        if size < 24 or off + size > len(vol):
            break
        files.append(vol[off:off + size])
        off = (off + size + 7) & ~7
    return files


def real_inputs():
    if not os.path.exists(OVMF):
        raise SystemExit("make_uefi_corpus.py: %s is needed (Debian package ovmf)" % OVMF)
    img = open(OVMF, "rb").read()
    picks = []
    at = img.find(us.guid(us.LZMA_GUID))
    # GUID-defined section: 4-byte header, GUID, DataOffset, Attributes.
    sec = at - 4
    data_off = struct.unpack_from("<H", img, at + 16)[0]
    size = int.from_bytes(img[sec:sec + 3], "little")
    inner = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(img[sec + data_off:sec + size])
    for _, vol in volumes(inner) + volumes(img):
        files = sorted((f for f in ffs_files(vol) if f[18] not in (0xF0,)), key=len)
        picks.append(files[:4])
    out = []
    for i, files in enumerate(picks):
        chosen, total = [], 0
        for f in files:
            if total + len(f) + 8 > 56 * 1024:
                break
            chosen.append(f)
            total += len(f) + 8
        if not chosen:
            continue
        vol = us.volume(chosen, name_guid="7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1")
        out.append(("ovmf-fv%d" % i, b"P" + vol))
        wrapped = us.volume([us.ffs_file("9E21FD93-9C72-4C15-8C4B-E77F1DB2D792", 0x0B,
                                         us.lzma_section(us.section(0x17, vol)))])
        out.append(("ovmf-fv%d-lzma" % i, b"P" + wrapped))
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "uefi")
    os.makedirs(out, exist_ok=True)
    import tempfile
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        sys.argv = ["uefi_samples.py", tmp]
        us.main()
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".bin"):
                data = open(os.path.join(tmp, name), "rb").read()
                if len(data) < LIMIT:
                    entries.append((name[:-4], b"P" + data))
    entries += real_inputs()
    payload = us.stream(us.section(0x10, us.pe_image(b"FWGATE-FUZZ " + bytes(range(256)) * 8)), us.ui("Fuzz"))
    alone = bytearray(lzma.compress(payload, format=lzma.FORMAT_ALONE))
    struct.pack_into("<Q", alone, 5, len(payload))
    entries.append(("stream-lzma", b"L" + bytes(alone)))
    x86 = us.lzma_section(payload, x86=True)
    entries.append(("stream-lzmaf86", b"X" + x86[24:]))  # after the GUID-defined header
    br = us.brotli_section(payload)
    entries.append(("stream-brotli", b"B" + br[24:]))
    entries.append(("stream-efi", b"E" + us.efi_compress(payload, False)))
    entries.append(("stream-tiano", b"T" + us.efi_compress(payload, True)))
    for name, data in entries:
        assert len(data) <= LIMIT + 1, name
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("%d inputs in %s" % (len(entries), out))


if __name__ == "__main__":
    main()
