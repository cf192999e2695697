#!/usr/bin/env python3
"""Write crafted UEFI images for the tests, built from the UEFI PI
specification volume 3 (volumes, FFS files, sections) and the UEFI
specification (capsules, the EFI/Tiano compression).

Usage: python3 tests/data/uefi_samples.py OUTDIR [--eicar]

Each image holds DXE drivers whose PE32 sections carry a marker string
("FWGATE-MODULE-<name>"); with --eicar one module also carries the EICAR
test string. Images (OUTDIR/NAME.bin) and what is expected of them are
listed in OUTDIR/samples.json:
  {"name": ..., "modules": [[file GUID, UI name], ...], "verdict": "clean" |
   "unscannable", "reason": substring of the reason when not clean,
   "eicar_module": UI name of the module with EICAR (with --eicar)}

The EFI/Tiano compressor here is a plain LZ77 + canonical Huffman encoder
of the specification's format (blocks of three code sets); LZMA comes from
Python's lzma module (the "alone" header EDK2 writes, size filled in), and
Brotli from Debian's brotli command (EDK2's 16-byte size header prepended).
Nothing is read from the network.
"""
import heapq
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
import uuid

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

FFS2 = "8C8CE578-8A3D-4F1C-9935-896185C32DD3"
FFS3 = "5473C07A-3DCB-4DCA-BD6F-1E9689E7349A"
LZMA_GUID = "EE4E5898-3914-4259-9D6E-DC7BD79403CF"
LZMAF86_GUID = "D42AE6BD-1352-4BFB-909A-CA72A6EAE889"
BROTLI_GUID = "3D532050-5CDA-4FD0-879E-0F7F630D5AFB"
TIANO_GUID = "A31280AD-481E-41B6-95E8-127F4C984779"
CRC32_GUID = "FC1BCDB0-7D31-49AA-936A-A4600D9DD083"
UNKNOWN_GUID = "0C0C0C0C-1111-2222-3333-444455556666"
EFI_CAPSULE = "3B6686BD-0D76-4030-B70E-B5519E2FC5A0"
FMP_CAPSULE = "6DCBD5ED-E82D-4C44-BDA1-7194199AD92A"
APTIO_CAPSULE = "14EEBB90-890A-43DB-AED1-5D3C4588A418"


def guid(text):
    return uuid.UUID(text).bytes_le


def align(data, n, fill=b"\0"):
    return data + fill * ((-len(data)) % n)


# ------------------------------------------------------------ EFI/Tiano

class Bits:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, nbits, value):
        for i in range(nbits - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc = 0
                self.n = 0

    def done(self):
        if self.n:
            self.out.append(self.acc << (8 - self.n))
            self.acc = self.n = 0
        return bytes(self.out)


def huff_lengths(freq, limit):
    """Code lengths for the symbols with a non-zero frequency, at most
    limit long (frequencies are flattened until they fit)."""
    freq = list(freq)
    while True:
        heap = [(f, i, None) for i, f in enumerate(freq) if f > 0]
        if len(heap) <= 1:
            lens = [0] * len(freq)
            for _, i, _ in heap:
                lens[i] = 1
            return lens
        heapq.heapify(heap)
        counter = len(freq)
        parent = {}
        while len(heap) > 1:
            f1, i1, _ = heapq.heappop(heap)
            f2, i2, _ = heapq.heappop(heap)
            parent[i1] = counter
            parent[i2] = counter
            heapq.heappush(heap, (f1 + f2, counter, None))
            counter += 1
        lens = [0] * len(freq)
        for i, f in enumerate(freq):
            if f > 0:
                d, node = 0, i
                while node in parent:
                    node = parent[node]
                    d += 1
                lens[i] = d
        if max(lens) <= limit:
            return lens
        freq = [max(1, f >> 1) if f else 0 for f in freq]


def canon_codes(lens):
    """Canonical codes as the specification's decoder builds them:
    shorter codes first, symbols in order within a length."""
    codes = [0] * len(lens)
    code = 0
    for length in range(1, 17):
        for sym, l in enumerate(lens):
            if l == length:
                codes[sym] = code
                code += 1
        code <<= 1
    return codes


def put_pt_len(bits, lens, nbit, special):
    k = len(lens)
    while k > 0 and lens[k - 1] == 0:
        k -= 1
    bits.put(nbit, k)
    i = 0
    while i < k:
        l = lens[i]
        if l <= 6:
            bits.put(3, l)
        else:
            bits.put(l - 3, (1 << (l - 3)) - 2)
        i += 1
        if i == special:
            z = 0
            while i < 6 and i < k and lens[i] == 0 and z < 3:
                i += 1
                z += 1
            bits.put(2, z)


def c_len_symbols(clens):
    """The C lengths as code-length-set symbols: 0 one zero, 1 3..18
    zeros (4 bits), 2 20..531 zeros (9 bits), len+2 a length."""
    n = len(clens)
    while n > 0 and clens[n - 1] == 0:
        n -= 1
    out, i = [], 0
    while i < n:
        l = clens[i]
        i += 1
        if l:
            out.append((l + 2, None))
            continue
        run = 1
        while i < n and clens[i] == 0:
            i += 1
            run += 1
        while run:
            if run <= 2:
                out.append((0, None))
                run -= 1
            elif run <= 18:
                out.append((1, run - 3))
                run = 0
            elif run == 19:
                out.append((0, None))
                out.append((1, 15))
                run = 0
            else:
                take = min(run, 531)
                out.append((2, take - 20))
                run -= take
    return n, out


def efi_compress(data, tiano):
    wndbit = 19 if tiano else 13
    pbit = 5 if tiano else 4
    window = 1 << wndbit
    # LZ77, greedy, with hash chains on 3-byte prefixes.
    tokens, heads, i = [], {}, 0
    while i < len(data):
        best_len, best_dist = 0, 0
        if i + 3 <= len(data):
            key = data[i:i + 3]
            for j in reversed(heads.get(key, [])[-32:]):
                if i - j > window - 1:
                    continue
                l = 0
                while l < 256 and i + l < len(data) and data[j + l] == data[i + l]:
                    l += 1
                if l > best_len:
                    best_len, best_dist = l, i - j
        if best_len >= 3:
            tokens.append((best_len, best_dist))
            for k in range(i, i + best_len):
                heads.setdefault(data[k:k + 3], []).append(k)
            i += best_len
        else:
            tokens.append((data[i], 0))
            heads.setdefault(data[i:i + 3], []).append(i)
            i += 1
    bits = Bits()
    for start in range(0, len(tokens), 16384):
        block = tokens[start:start + 16384]
        cfreq, pfreq = [0] * 510, [0] * (wndbit + 1)
        for tok, dist in block:
            if dist == 0:
                cfreq[tok] += 1
            else:
                cfreq[256 + tok - 3] += 1
                pos = dist - 1
                pfreq[pos.bit_length()] += 1
        clens = huff_lengths(cfreq, 16)
        ccodes = canon_codes(clens)
        plens = huff_lengths(pfreq, 16)
        pcodes = canon_codes(plens)
        n, csyms = c_len_symbols(clens)
        tfreq = [0] * 19
        for s, _ in csyms:
            tfreq[s] += 1
        tlens = huff_lengths(tfreq, 16)
        tcodes = canon_codes(tlens)
        bits.put(16, len(block))
        # The code-length set (one symbol only: the zero-length form).
        if sum(1 for f in tfreq if f) == 1:
            bits.put(5, 0)
            bits.put(5, tfreq.index(max(tfreq)))
            tlens = [0] * 19
        else:
            put_pt_len(bits, tlens, 5, 3)
        if sum(1 for f in cfreq if f) == 1:
            bits.put(9, 0)
            bits.put(9, cfreq.index(max(cfreq)))
            clens = [0] * 510
        else:
            bits.put(9, n)
            for s, extra in csyms:
                bits.put(tlens[s], tcodes[s])
                if s == 1:
                    bits.put(4, extra)
                elif s == 2:
                    bits.put(9, extra)
        if sum(1 for f in pfreq if f) <= 1:
            bits.put(pbit, 0)
            bits.put(pbit, pfreq.index(max(pfreq)) if any(pfreq) else 0)
            plens = [0] * len(pfreq)
        else:
            put_pt_len(bits, plens, pbit, -1)
        for tok, dist in block:
            if dist == 0:
                bits.put(clens[tok], ccodes[tok])
            else:
                sym = 256 + tok - 3
                bits.put(clens[sym], ccodes[sym])
                pos = dist - 1
                psym = pos.bit_length()
                bits.put(plens[psym], pcodes[psym])
                if psym > 1:
                    bits.put(psym - 1, pos & ((1 << (psym - 1)) - 1))
    body = bits.done()
    return struct.pack("<II", len(body), len(data)) + body


# ------------------------------------------------------------ sections

def section(stype, body):
    size = 4 + len(body)
    if size >= 0xFFFFFF:
        return struct.pack("<I", 0xFFFFFF | stype << 24) + struct.pack("<I", size + 4) + body
    return struct.pack("<I", size | stype << 24) + body


def stream(*sections):
    out = b""
    for s in sections:
        out = align(out, 4) + s
    return out


def ui(name):
    return section(0x15, (name + "\0").encode("utf-16-le"))


def pe_image(marker):
    """A small PE32 EFI driver: MZ and PE headers, one .text section."""
    text = align(marker, 512)
    dos = bytearray(64)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 60, 64)
    coff = struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 224, 0x0102)
    opt = bytearray(224)
    struct.pack_into("<HBBIIIIII", opt, 0, 0x10B, 1, 0, len(text), 0, 0, 0x200, 0x200, 0)
    struct.pack_into("<IIIHHHHHHIIIIHH", opt, 28, 0, 0x200, 0x200, 0, 0, 0, 0, 0, 0, 0,
                     0x200 + len(text), 0x200, 0, 11, 0)
    struct.pack_into("<I", opt, 92, 16)
    sect = struct.pack("<8sIIIIIIHHI", b".text", len(text), 0x200, len(text), 0x200, 0, 0, 0, 0,
                       0x60000020)
    hdr = bytes(dos) + b"PE\0\0" + coff + bytes(opt) + sect
    return align(hdr, 512) + text


def guided(g, body, extra=b"", attr=0x01):
    hdr_len = 4 + 16 + 4 + len(extra)
    return section(0x02, guid(g) + struct.pack("<HH", hdr_len, attr) + extra + body)


def lzma_section(payload, x86=False):
    if x86:
        raw = lzma.compress(payload, format=lzma.FORMAT_RAW,
                            filters=[{"id": lzma.FILTER_X86},
                                     {"id": lzma.FILTER_LZMA1, "dict_size": 1 << 20}])
        props = bytes([(2 * 5 + 0) * 9 + 3]) + struct.pack("<I", 1 << 20)
        body = props + struct.pack("<Q", len(payload)) + raw
        return guided(LZMAF86_GUID, body)
    alone = bytearray(lzma.compress(payload, format=lzma.FORMAT_ALONE))
    struct.pack_into("<Q", alone, 5, len(payload))  # EDK2 writes the size
    return guided(LZMA_GUID, bytes(alone))


def brotli_section(payload):
    out = subprocess.run(["brotli", "-c", "-q", "9"], input=payload, stdout=subprocess.PIPE, check=True).stdout
    return guided(BROTLI_GUID, struct.pack("<QQ", len(payload), 1048576) + out)


def tiano_section(payload):
    return guided(TIANO_GUID, efi_compress(payload, True))


def efi_compression_section(payload, tiano=False):
    return section(0x01, struct.pack("<IB", len(payload), 1) + efi_compress(payload, tiano))


def crc32_section(payload, good=True):
    import zlib
    crc = zlib.crc32(payload) if good else zlib.crc32(payload) ^ 1
    return guided(CRC32_GUID, payload, extra=struct.pack("<I", crc), attr=0x02)


# ------------------------------------------------------------ files and volumes

def ffs_file(g, ftype, body, checksum_data=False):
    size = 24 + len(body)
    attr = 0x40 if checksum_data else 0
    hdr = bytearray(guid(g) + struct.pack("<BBBB", 0, 0, ftype, attr) + size.to_bytes(3, "little") + b"\0")
    hdr[17] = (-sum(body)) & 0xFF if checksum_data else 0xAA
    s = sum(hdr[:16]) + hdr[18] + hdr[19] + sum(hdr[20:23])  # header sum without State and File
    hdr[16] = (-s) & 0xFF
    hdr[23] = 0xF8  # EFI_FILE_DATA_VALID etc. with erase polarity 1
    return bytes(hdr) + body


def reheader(data, at):
    """The header checksum of the file at offset at, computed again."""
    s = sum(data[at:at + 16]) + data[at + 18] + data[at + 19] + sum(data[at + 20:at + 23])
    data[at + 16] = (-s) & 0xFF


# Where the first file of a volume made by volume() with a name lies:
# header (72) and extended header (20, aligned to 24).
FIRST_FILE = 72 + 24


def volume(files, name_guid=None, fs=FFS2, size=None):
    body = b""
    for f in files:
        body = align(body, 8, b"\xff") + f
    ext = b""
    hlen = 56 + 16  # header with two block map entries (one and the end)
    if name_guid:
        ext = guid(name_guid) + struct.pack("<I", 20)
    ext_off = hlen if name_guid else 0
    content = align(ext, 8, b"\xff") + body if name_guid else body
    total = hlen + len(content)
    total = size if size else (total + 0xFFF) & ~0xFFF
    hdr = bytearray(b"\0" * 16 + guid(fs) + struct.pack("<Q", total) + b"_FVH" +
                    struct.pack("<IHHHBB", 0x0004FEFF, hlen, 0, ext_off, 0, 2) +
                    struct.pack("<II", total // 0x1000, 0x1000) + b"\0" * 8 + b"\0" * 8)
    hdr = hdr[:hlen]
    csum = 0
    for i in range(0, hlen, 2):
        csum = (csum + struct.unpack_from("<H", hdr, i)[0]) & 0xFFFF
    struct.pack_into("<H", hdr, 50, (-csum) & 0xFFFF)
    vol = bytes(hdr) + content
    return vol + b"\xff" * (total - len(vol))


def driver(g, name, marker, *, eicar=False, wrap=None):
    payload = marker + (b" " + EICAR if eicar else b"")
    secs = stream(section(0x10, pe_image(payload)), ui(name), section(0x14, b"\x01\x00" + "1.0\0".encode("utf-16-le")))
    if wrap is not None:
        secs = wrap(secs)
    return ffs_file(g, 0x07, secs)


def capsule(g, body, header_size=0x20):
    hdr = guid(g) + struct.pack("<III", header_size, 0x50000, header_size + len(body))
    return align(hdr, header_size) + body if len(hdr) <= header_size else hdr + body


def fmp_capsule(payload):
    fmp = struct.pack("<IHHQ", 1, 0, 1, 16)
    item = struct.pack("<I16sBBBBIIQ", 2, guid("12345678-1234-5678-9ABC-DEF012345678"), 1, 0, 0, 0,
                       len(payload), 0, 0) + payload
    return capsule(FMP_CAPSULE, fmp + item)


def ifd_image(bios, me):
    """An Intel flash descriptor image: descriptor (4 KiB), ME, BIOS."""
    desc = bytearray(b"\xff" * 0x1000)
    struct.pack_into("<I", desc, 16, 0x0FF0A55A)
    # FLMAP0: component section at 0x30, region section at 0x40; FLMAP1:
    # master section at 0x60 (distinct, as every real descriptor has them)
    struct.pack_into("<I", desc, 20, 0x03 | (0x04 << 16) | (2 << 24))
    struct.pack_into("<I", desc, 24, 0x06)
    desc[0x30:0x40] = b"\0" * 16  # one 20 MHz component
    desc[0x60:0x70] = b"\0" * 16
    desc[0xEFC:0xF00] = b"\0" * 4  # upper map: no VSCC table
    me_base, bios_base = 0x1000, 0x1000 + len(me)
    regions = [(0, 0), (bios_base, bios_base + len(bios) - 1), (me_base, me_base + len(me) - 1)]
    for i, (b, l) in enumerate(regions):
        struct.pack_into("<I", desc, 0x40 + 4 * i, (b >> 12) | ((l >> 12) << 16))
    for i in range(3, 16):
        struct.pack_into("<I", desc, 0x40 + 4 * i, 0x00007FFF)
    return bytes(desc) + me + bios


# ------------------------------------------------------------ PCI option ROMs

def ipxe_block(code):
    """A block as iPXE's zbin packs it: length, raw LZMA1 (lc 2, lp 0,
    pb 0) with its end marker, CRC-32 (seed ~0, no final inversion). The
    code must hold no E8/E9 byte (iPXE's call/jump filter is then the
    identity)."""
    import zlib
    assert b"\xe8" not in code and b"\xe9" not in code
    packed = lzma.compress(code, format=lzma.FORMAT_RAW,
                           filters=[{"id": lzma.FILTER_LZMA1, "lc": 2, "lp": 0, "pb": 0,
                                     "dict_size": 1 << 23}])
    crc = zlib.crc32(packed) ^ 0xFFFFFFFF
    return struct.pack("<I", len(packed) + 4) + packed + struct.pack("<I", crc)


def option_rom_image(code_type, payload, last):
    """One PCI expansion ROM image: 0x55AA, PCIR at 0x1C; a legacy image
    (code type 0) carries payload at 0x200, an EFI image (3) its
    EFI-compressed driver at 0x200."""
    size = (0x200 + len(payload) + 511) & ~511
    hdr = bytearray(0x200)
    hdr[0:2] = b"\x55\xaa"
    hdr[2] = size // 512 & 0xFF
    if code_type == 3:
        struct.pack_into("<IHHH", hdr, 4, 0x0EF1, 0x0B, 0x8664, 1)
        struct.pack_into("<H", hdr, 0x16, 0x200)
    struct.pack_into("<H", hdr, 0x18, 0x1C)
    pcir = b"PCIR" + struct.pack("<HHHHBBBBHHBBH", 0x8086, 0x100E, 0, 0x18, 0, 0, 0, 2, size // 512, 1,
                                 code_type, 0x80 if last else 0, 0)
    hdr[0x1C:0x1C + len(pcir)] = pcir
    return bytes(hdr) + payload + b"\xff" * (size - 0x200 - len(payload))


# ------------------------------------------------------------ samples

def modules_of(spec):
    return [[g, n] for g, n in spec]


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    eicar = "--eicar" in sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    if shutil.which("brotli") is None:
        raise SystemExit("uefi_samples.py: the brotli command is needed (Debian package brotli)")
    g1, g2, g3, g4 = ("11111111-2222-3333-4444-555555555501", "11111111-2222-3333-4444-555555555502",
                      "11111111-2222-3333-4444-555555555503", "11111111-2222-3333-4444-555555555504")
    inner_fv = "7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1"
    samples = []

    def add(name, data, mods, verdict="clean", reason="", eicar_module=""):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
        samples.append({"name": name, "modules": mods, "verdict": verdict, "reason": reason,
                        "eicar_module": eicar_module})

    filler = bytes(range(256)) * 64  # compressible, not trivially

    def dxe_fv(wrap, tag):
        files = [driver(g1, "FwGateDxeA", b"FWGATE-MODULE-A " + filler),
                 driver(g2, "FwUpdateDxe", b"FWGATE-MODULE-B " + filler[::-1], eicar=eicar)]
        vol = volume(files, name_guid=inner_fv)
        return ffs_file("9E21FD93-9C72-4C15-8C4B-E77F1DB2D792", 0x0B,
                        stream(wrap(stream(section(0x17, vol)))))

    mods = [[g1, "FwGateDxeA"], [g2, "FwUpdateDxe"]]
    em = "FwUpdateDxe" if eicar else ""
    for tag, wrap in (("lzma", lzma_section), ("lzmaf86", lambda b: lzma_section(b, x86=True)),
                      ("brotli", brotli_section), ("tiano", tiano_section),
                      ("efi", lambda b: efi_compression_section(b, False)),
                      ("crc32", crc32_section)):
        top = volume([dxe_fv(wrap, tag), driver(g3, "SecMainLike", b"FWGATE-MODULE-C")],
                     name_guid="48DB5E17-707C-472D-91CD-1613E7EF51B0")
        add("fv-" + tag, top, mods + [[g3, "SecMainLike"]], eicar_module=em)
    lz = volume([dxe_fv(lzma_section, "lzma")], name_guid="48DB5E17-707C-472D-91CD-1613E7EF51B0")
    add("capsule-efi", capsule(EFI_CAPSULE, lz), mods, eicar_module=em)
    add("capsule-fmp", fmp_capsule(lz), mods, eicar_module=em)
    aptio = guid(APTIO_CAPSULE) + struct.pack("<III", 0x1C, 0x50000, 0x800 + len(lz)) + struct.pack("<HH", 0x800, 0)
    add("capsule-aptio", align(aptio, 0x800) + lz, mods, eicar_module=em)
    add("ifd-image", ifd_image(lz + b"\xff" * 0x1000, b"\xff" * 0x2000), mods, eicar_module=em)
    # Refusals: a damaged header checksum, a file that overruns its
    # volume, a GUID-defined section nobody opens, a corrupt LZMA stream.
    bad = bytearray(lz)
    bad[FIRST_FILE + 16] ^= 0x55
    add("bad-file-checksum", bytes(bad), mods, "unscannable", "checksum error", eicar_module=em)  # still walked
    over = bytearray(lz)
    struct.pack_into("<I", over, FIRST_FILE + 20, 0xFFF000)  # far past the volume's end
    over[FIRST_FILE + 23] = 0xF8
    reheader(over, FIRST_FILE)
    add("file-overrun", bytes(over), [], "unscannable", "overruns its volume")
    unk = volume([ffs_file(g4, 0x07, stream(guided(UNKNOWN_GUID, b"\x5a" * 4096), ui("Opaque")))])
    add("unknown-guid", unk, [], "unscannable", "no parser here knows")
    vol = bytearray(volume([dxe_fv(lzma_section, "lzma")]))
    at = vol.find(guid(LZMA_GUID))
    vol[at + 40:at + 48] = b"\x00" * 8  # inside the LZMA stream
    add("lzma-corrupt", bytes(vol), [], "unscannable", "LZMA")
    with open(os.path.join(out, "samples.json"), "w") as f:
        json.dump(samples, f, indent=1)
    # PCI option ROMs (not UEFI images: not in samples.json): a legacy
    # image with an iPXE-packed block, an EFI image with an EFI-compressed
    # driver, and one of each in a two-image ROM.
    import random
    rnd = random.Random(5)  # 7-bit bytes: no E8/E9, and ~35 KiB once packed
    code = bytes(rnd.randrange(128) for _ in range(40000))
    legacy = option_rom_image(0, ipxe_block(b"FWGATE-IPXE-CODE " + code +
                                            ((b" " + EICAR) if eicar else b"")), last=False)
    efi = option_rom_image(3, efi_compress(pe_image(b"FWGATE-ROM-DRIVER " + filler[:2000] +
                                                    ((b" " + EICAR) if eicar else b"")), False), last=True)
    with open(os.path.join(out, "rom-two-images.rom"), "wb") as f:
        f.write(legacy + efi)
    bad = bytearray(legacy + efi)
    bad[0x200 + 12] ^= 0x40  # inside the iPXE block: its CRC no longer matches
    with open(os.path.join(out, "rom-bad-crc.rom"), "wb") as f:
        f.write(bytes(bad))


if __name__ == "__main__":
    main()
