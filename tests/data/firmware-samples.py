#!/usr/bin/env python3
"""Write one small crafted sample per entry of scanner/firmware.magic.

Usage: python3 tests/data/firmware-samples.py OUTDIR

Each sample is named after its MIME kind: KIND.bin or KIND--VARIANT.bin for
application/x-fwgate-firmware-KIND (the part before "--" is the kind).
OUTDIR/expected.txt lists "NAME MIME", one sample a line, for libmagic loaded
as "DEFAULT:scanner/firmware.magic" (the default db first), e.g.

    file --mime-type -m /usr/share/misc/magic.mgc:scanner/firmware.magic OUTDIR/*.bin

With the default db first, PCI option ROMs are typed by the default db's own
entry, application/x-ibm-rom (it has a MIME type, so it wins);
OUTDIR/expected-firmware-first.txt gives the MIME types for the other order
("scanner/firmware.magic:DEFAULT"), where every sample gets its own kind.
x86-bios.bin is recognised by its last 16 bytes (negative offsets): it needs
libmagic to see the end of the file (`file`, magic_descriptor(), or
magic_buffer() over the whole file); typed from a head prefix with
magic_buffer() it comes out application/octet-stream.

Only the headers are real; bodies are filler. Nothing is read from the network.
"""
import os
import struct
import sys
import uuid
import zlib

PREFIX = "application/x-fwgate-firmware-"


def guid(text):
    """EFI_GUID bytes: first three fields little-endian."""
    return uuid.UUID(text).bytes_le


def capsule(guid_text, header_size=0x20, flags=0x50000, body=b""):
    """EFI_CAPSULE_HEADER padded to header_size, then body."""
    total = header_size + len(body)
    hdr = guid(guid_text) + struct.pack("<III", header_size, flags, total)
    return hdr.ljust(header_size, b"\0") + body


def fmp_capsule():
    # EFI_FIRMWARE_MANAGEMENT_CAPSULE_HEADER: Version 1, 0 drivers, 1 payload,
    # item offset list; then one EFI_FIRMWARE_MANAGEMENT_CAPSULE_IMAGE_HEADER.
    fmp = struct.pack("<IHHQ", 1, 0, 1, 16)
    item = struct.pack("<I16sBBBBIIQ", 2, guid("12345678-1234-5678-9abc-def012345678"),
                       1, 0, 0, 0, 64, 0, 0) + b"\xa5" * 64
    return capsule("6DCBD5ED-E82D-4C44-BDA1-7194199AD92A", 0x20, 0x50000, fmp + item)


def ux_capsule():
    # DISPLAY_PAYLOAD: Version 1, Checksum, ImageType 0 (BMP), Reserved,
    # Mode, OffsetX, OffsetY; then a tiny BMP header
    payload = struct.pack("<BBBBIII", 1, 0, 0, 0, 0, 100, 100) + b"BM" + b"\0" * 52
    return capsule("3B8C8162-188C-46A4-AEC9-BE43F1D65697", 0x1C, 0x50000, payload)


def plain_capsule(guid_text, header_size=0x1C):
    return capsule(guid_text, header_size, 0x50000, b"\xff" * 256)


def toshiba_capsule():
    # TOSHIBA_CAPSULE_HEADER { GUID; HeaderSize; FullSize; Flags; }
    body = b"\xff" * 256
    hdr = guid("3BE07062-1D51-45D2-832B-F093257ED461") + struct.pack("<III", 0x1C, 0x1C + len(body), 0)
    return hdr + body


def aptio_capsule(guid_text):
    # EFI_CAPSULE_HEADER + RomImageOffset (0x800) + RomLayoutOffset, padded
    hs = 0x800
    hdr = guid(guid_text) + struct.pack("<IIIHH", hs, 0x50000, hs + 512, hs, 0x100)
    return hdr.ljust(hs, b"\0") + firmware_volume(512, "8C8CE578-8A3D-4F1C-9935-896185C32DD3")


def firmware_volume(size=4096, fs_guid="8C8CE578-8A3D-4F1C-9935-896185C32DD3"):
    # ZeroVector, FileSystemGuid, FvLength, "_FVH", Attributes, HeaderLength
    # 0x48, Checksum, ExtHeaderOffset 0, Reserved, Revision 2, block map
    # {size/512 x 512} + {0, 0}
    hdr = (b"\0" * 16 + guid(fs_guid) + struct.pack("<Q", size) + b"_FVH" +
           struct.pack("<IHHHBB", 0x0004FEFF, 0x48, 0, 0, 0, 2) +
           struct.pack("<IIII", size // 512, 512, 0, 0))
    words = struct.unpack("<%dH" % (len(hdr) // 2), hdr)
    csum = (-sum(words)) & 0xFFFF
    hdr = hdr[:50] + struct.pack("<H", csum) + hdr[52:]
    return hdr.ljust(size, b"\xff")


def intel_flash_descriptor():
    # 16 bytes 0xFF, FLVALSIG, FLMAP0 (FCBA 0x30, NC 1 component, FRBA 0x40,
    # NR 4), FLMAP1, FLMAP2; component section at 0x30, region section at 0x40
    img = bytearray(b"\xff" * 8192)
    img[16:20] = struct.pack("<I", 0x0FF0A55A)
    img[20:32] = struct.pack("<III", 0x04040003, 0x58100206, 0x00310330)
    img[0x30:0x3C] = struct.pack("<III", 0x00000005, 0, 0)
    # FLREG0 descriptor 0..0xfff, FLREG1 BIOS 0x1000..0x1fff, others unused
    img[0x40:0x54] = struct.pack("<IIIII", 0x00000000, 0x00010001, 0x00007FFF,
                                 0x00007FFF, 0x00007FFF)
    return bytes(img)


def intel_flash_descriptor_ich():
    # pre-PCH layout: FLVALSIG at 0, FLMAP0 at 4
    img = bytearray(b"\xff" * 4096)
    img[0:4] = struct.pack("<I", 0x0FF0A55A)
    img[4:16] = struct.pack("<III", 0x04040003, 0x58100206, 0x00310330)
    img[0x30:0x34] = struct.pack("<I", 0x00000005)
    img[0x40:0x44] = struct.pack("<I", 0)
    return bytes(img)


def intel_me(with_vector=True):
    # $FPT: NumFptEntries, HeaderVersion 0x20, EntryVersion 0x10,
    # HeaderLength 0x20, checksum...; then 2 entries of 32 bytes
    fpt = b"$FPT" + struct.pack("<IBBBB", 2, 0x20, 0x10, 0x20, 0) + b"\0" * 20
    entries = b""
    for name, off in ((b"FTPR", 0x1000), (b"NFTP", 0x2000)):
        entries += name + b"\0" * 4 + struct.pack("<IIIIII", off, 0x1000, 0, 0, 0, 0)
    head = (b"\0" * 16 if with_vector else b"") + fpt + entries
    return head.ljust(4096, b"\xff")


def hpm1():
    # signature, format version 0, device ID, manufacturer ID (IANA, 3 bytes LE),
    # product ID, time, capabilities, components, timeouts, earliest compatible
    # revision, firmware revision (6), OEM data length 0, header checksum
    hdr = (b"PICMGFWU" + bytes([0, 0x20]) + (343).to_bytes(3, "little") +
           struct.pack("<H", 0x0102) + struct.pack("<I", 1700000000) +
           bytes([0x03, 0x01, 0x3C, 0x3C, 0x3C]) + bytes([1, 0]) +
           bytes([1, 2, 0, 0, 0, 0]) + struct.pack("<H", 0))
    hdr += bytes([(-sum(hdr)) & 0xFF])
    return hdr + b"\x02" + b"\x11" * 200


def uimage():
    data = b"\x00\x00\xa0\xe1" * 64
    name = b"fwgate sample kernel".ljust(32, b"\0")
    hdr = struct.pack(">IIIIIIIBBBB", 0x27051956, 0, 1700000000, len(data),
                      0x80008000, 0x80008000, zlib.crc32(data), 5, 2, 2, 0) + name
    hdr = hdr[:4] + struct.pack(">I", zlib.crc32(hdr)) + hdr[8:]
    return hdr + data


def pci_option_rom():
    # 0x55AA, size 1 x 512, entry point (retf), PCIR pointer 0x1C at 0x18
    rom = bytearray(512)
    rom[0:3] = b"\x55\xaa\x01"
    rom[3:4] = b"\xcb"
    rom[0x18:0x1A] = struct.pack("<H", 0x1C)
    pcir = (b"PCIR" + struct.pack("<HHHHB", 0x8086, 0x100E, 0, 0x18, 0) +
            bytes([0x00, 0x00, 0x02]) + struct.pack("<HH", 1, 0) + bytes([0x00, 0x80]) +
            struct.pack("<H", 0))
    rom[0x1C:0x1C + len(pcir)] = pcir
    rom[-1] = (-sum(rom)) & 0xFF
    return bytes(rom)


def x86_bios():
    # 64 KiB of 0xFF, reset vector at the end: jmp far F000:E05B, date, model
    img = bytearray(b"\xff" * 65536)
    img[-16:] = b"\xea\x5b\xe0\x00\xf0" + b"06/23/99" + b"\x00\xfc\x00"
    return bytes(img)


SAMPLES = [
    # name, bytes, kind, MIME with the default db first (None = own kind)
    ("uefi-capsule--fmp.bin", fmp_capsule, "uefi-capsule", None),
    ("uefi-capsule--generic.bin",
     lambda: plain_capsule("3B6686BD-0D76-4030-B70E-B5519E2FC5A0"), "uefi-capsule", None),
    ("uefi-capsule--windows-ux.bin", ux_capsule, "uefi-capsule", None),
    ("uefi-capsule--intel.bin",
     lambda: plain_capsule("539182B9-ABB5-4391-B69A-E3A943F72FCC"), "uefi-capsule", None),
    ("uefi-capsule--lenovo.bin",
     lambda: plain_capsule("E20BAFD3-9914-4F4F-9537-3129E090EB3C"), "uefi-capsule", None),
    ("uefi-capsule--lenovo2.bin",
     lambda: plain_capsule("25B5FE76-8243-4A5C-A9BD-7EE3246198B5"), "uefi-capsule", None),
    ("uefi-capsule--toshiba.bin", toshiba_capsule, "uefi-capsule", None),
    ("uefi-capsule--aptio-signed.bin",
     lambda: aptio_capsule("4A3CA68B-7723-48FB-803D-578CC1FEC44D"), "uefi-capsule", None),
    ("uefi-capsule--aptio-unsigned.bin",
     lambda: aptio_capsule("14EEBB90-890A-43DB-AED1-5D3C4588A418"), "uefi-capsule", None),
    ("uefi-volume.bin", firmware_volume, "uefi-volume", None),
    ("uefi-volume--nvram.bin",
     lambda: firmware_volume(8192, "FFF12B8D-7696-4C8B-A985-2747075B4F50"), "uefi-volume", None),
    ("intel-flash.bin", intel_flash_descriptor, "intel-flash", None),
    ("intel-flash--ich.bin", intel_flash_descriptor_ich, "intel-flash", None),
    ("intel-me.bin", intel_me, "intel-me", None),
    ("intel-me--no-vector.bin", lambda: intel_me(False), "intel-me", None),
    ("hpm1.bin", hpm1, "hpm1", None),
    ("uboot-uimage.bin", uimage, "uboot-uimage", None),
    ("pci-option-rom.bin", pci_option_rom, "pci-option-rom", "application/x-ibm-rom"),
    ("x86-bios.bin", x86_bios, "x86-bios", None),
]


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: %s OUTDIR\n" % sys.argv[0])
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    default_first, firmware_first = [], []
    for name, make, kind, default_mime in SAMPLES:
        with open(os.path.join(out, name), "wb") as f:
            f.write(make())
        own = PREFIX + kind
        default_first.append("%s %s\n" % (name, default_mime or own))
        firmware_first.append("%s %s\n" % (name, own))
    with open(os.path.join(out, "expected.txt"), "w") as f:
        f.writelines(default_first)
    with open(os.path.join(out, "expected-firmware-first.txt"), "w") as f:
        f.writelines(firmware_first)
    return 0


if __name__ == "__main__":
    sys.exit(main())
