/* Firmware volumes, their files and sections (UEFI PI specification
 * volume 3: FFSv2/FFSv3), down to each module, through nested volumes and
 * compressed or GUID-defined sections (the grammar is recursive, so it is
 * one file). Every length is checked against its container before it is
 * used; checksum errors, truncation and overruns are reasons, never
 * guesses. Must not read files or decide a verdict beyond naming what it
 * could not open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lzma.h>

#include "scanner/scan_int.h"
#include "scanner/uefi_int.h"

#define FFS_HEADER 24
#define FFS_HEADER_LARGE 32
#define SECTION_HEADER 4
#define SECTION_HEADER_LARGE 8
#define EFI_FVB2_ERASE_POLARITY 0x00000800u
#define FFS_ATTRIB_LARGE_FILE 0x01
#define FFS_ATTRIB_CHECKSUM 0x40
#define FFS_FIXED_CHECKSUM 0xAA
#define EFI_GUIDED_SECTION_PROCESSING_REQUIRED 0x01
/* Volumes searched for in one input at most. */
#define VOLUMES_MAX 256

/* Section types (PI volume 3, 3.2.5). */
enum {
	SECT_COMPRESSION = 0x01,
	SECT_GUID_DEFINED = 0x02,
	SECT_DISPOSABLE = 0x03,
	SECT_PE32 = 0x10,
	SECT_PIC = 0x11,
	SECT_TE = 0x12,
	SECT_DXE_DEPEX = 0x13,
	SECT_VERSION = 0x14,
	SECT_USER_INTERFACE = 0x15,
	SECT_COMPATIBILITY16 = 0x16,
	SECT_FIRMWARE_VOLUME_IMAGE = 0x17,
	SECT_FREEFORM_SUBTYPE_GUID = 0x18,
	SECT_RAW = 0x19,
	SECT_PEI_DEPEX = 0x1B,
	SECT_MM_DEPEX = 0x1C,
};

/* File types (PI volume 3, 2.1.4.1). */
enum {
	FT_RAW = 0x01,
	FT_FREEFORM = 0x02,
	FT_FIRMWARE_VOLUME_IMAGE = 0x0B,
	FT_PAD = 0xF0,
};

struct guid_name {
	const char *guid;
	const char *name;
};

static const struct guid_name fs_guids[] = {
	{ "8C8CE578-8A3D-4F1C-9935-896185C32DD3", "FFSv2" },
	{ "5473C07A-3DCB-4DCA-BD6F-1E9689E7349A", "FFSv3" },
};

#define GUID_LZMA "EE4E5898-3914-4259-9D6E-DC7BD79403CF"
#define GUID_LZMA_HP "0ED85E23-F253-413F-A03C-901987B04397"
#define GUID_LZMA_F86 "D42AE6BD-1352-4BFB-909A-CA72A6EAE889"
#define GUID_BROTLI "3D532050-5CDA-4FD0-879E-0F7F630D5AFB"
#define GUID_TIANO "A31280AD-481E-41B6-95E8-127F4C984779"
#define GUID_CRC32 "FC1BCDB0-7D31-49AA-936A-A4600D9DD083"
#define GUID_SIGNED "0F9D89E8-9259-4F76-A5AF-0C89E34023DF"

static int parse_volume(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth,
			size_t *consumed);
static void parse_sections(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth,
			   const char *file_guid);

/* ------------------------------------------------------------ sections */

/* The UI section's UCS-2 name as escaped UTF-8 (ASCII kept, the rest as
 * \xNN... of its UTF-8 bytes through scan_name_escape). */
static void ui_name(const uint8_t *p, size_t len, char *out, size_t out_len)
{
	char utf8[512];
	size_t o = 0;

	for (size_t i = 0; i + 1 < len && o + 4 < sizeof(utf8); i += 2) {
		uint16_t c = le16(p + i);

		if (c == 0)
			break;
		if (c < 0x80) {
			utf8[o++] = (char)c;
		} else if (c < 0x800) {
			utf8[o++] = (char)(0xc0 | c >> 6);
			utf8[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0xd800 || c > 0xdfff) {
			utf8[o++] = (char)(0xe0 | c >> 12);
			utf8[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			utf8[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			utf8[o++] = '?';
		}
	}
	utf8[o] = '\0';
	scan_name_escape(utf8, out, out_len);
}

/* The UI name among a file's sections (searched before the modules are
 * handed on, so that each carries it). */
static void find_ui(const uint8_t *p, size_t len, char *out, size_t out_len)
{
	size_t off = 0;

	out[0] = '\0';
	while (off + SECTION_HEADER <= len) {
		uint32_t size = le24(p + off), hdr = SECTION_HEADER;

		if (size == 0xffffff) {
			if (off + SECTION_HEADER_LARGE > len)
				return;
			size = le32(p + off + 4);
			hdr = SECTION_HEADER_LARGE;
		}
		if (size < hdr || size > len - off)
			return;
		if (p[off + 3] == SECT_USER_INTERFACE) {
			ui_name(p + off + hdr, size - hdr, out, out_len);
			return;
		}
		off += ((size_t)size + 3) & ~(size_t)3;
	}
}

/* A decompressed or unwrapped section stream: its own sections parsed,
 * its bytes counted against the caller's budget first. */
static void decoded_stream(struct parse *ps, const uint8_t *sec, size_t sec_len, enum uefi_decomp_result r,
			   uint8_t *buf, size_t n, const char *what, const char *chain, unsigned depth,
			   const char *file_guid, const struct fw_err *err)
{
	if (r != UEFI_DECOMP_OK) {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "%s section at %s cannot be opened: %s", what, chain,
			fw_err_msg(err));
		return;
	}
	if (ps->sink->opened != NULL)
		ps->sink->opened(ps->sink->arg, sec, sec_len);
	parse_sections(ps, buf, n, chain, depth, file_guid);
	free(buf);
}

/* Charges the caller's budget with the size a stream declares, before it
 * is decoded (a decoder produces exactly that or fails); sizes over the
 * decoders' cap are theirs to refuse. False: stop. */
static bool budget_declared(struct parse *ps, uint64_t declared)
{
	if (declared == UINT64_MAX || declared > UEFI_DECOMP_MAX)
		return true;
	return uefi_budget(ps, declared);
}

static void guid_defined(struct parse *ps, const uint8_t *s, size_t size, size_t hdr, const char *chain,
			 unsigned depth, const char *file_guid)
{
	char g[37], sub[CHAIN_MAX];
	uint16_t data_off, attr;
	const uint8_t *data;
	size_t n = 0, dlen;
	uint8_t *buf = NULL;
	struct fw_err err;
	enum uefi_decomp_result r;

	fw_err_clear(&err);
	if (size < hdr + 20) {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "truncated GUID-defined section at %s", chain);
		return;
	}
	uefi_guid_str(s + hdr, g);
	data_off = le16(s + hdr + 16);
	attr = le16(s + hdr + 18);
	if (data_off < hdr + 20 || data_off > size) {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "GUID-defined section %s at %s has a data offset outside it", g,
			chain);
		return;
	}
	data = s + data_off;
	dlen = size - data_off;
	if (strcmp(g, GUID_LZMA) == 0 || strcmp(g, GUID_LZMA_HP) == 0 || strcmp(g, GUID_LZMA_F86) == 0) {
		bool x86 = strcmp(g, GUID_LZMA_F86) == 0;

		uefi_chain_add(sub, sizeof(sub), chain, x86 ? "LZMAF86" : "LZMA");
		if (!budget_declared(ps, dlen >= 13 ? le64(data + 5) : 0))
			return;
		r = uefi_lzma(data, dlen, x86, UEFI_DECOMP_MAX, &buf, &n, &err);
		decoded_stream(ps, s, size, r, buf, n, x86 ? "the LZMA (x86)" : "the LZMA", sub, depth, file_guid, &err);
	} else if (strcmp(g, GUID_BROTLI) == 0) {
		uefi_chain_add(sub, sizeof(sub), chain, "BROTLI");
		if (!budget_declared(ps, dlen >= 16 ? le64(data) : 0))
			return;
		r = uefi_brotli(data, dlen, UEFI_DECOMP_MAX, &buf, &n, &err);
		decoded_stream(ps, s, size, r, buf, n, "the Brotli", sub, depth, file_guid, &err);
	} else if (strcmp(g, GUID_TIANO) == 0) {
		uefi_chain_add(sub, sizeof(sub), chain, "TIANO");
		if (!budget_declared(ps, dlen >= 8 ? le32(data + 4) : 0))
			return;
		r = uefi_efi(data, dlen, true, UEFI_DECOMP_MAX, &buf, &n, &err);
		decoded_stream(ps, s, size, r, buf, n, "the Tiano", sub, depth, file_guid, &err);
	} else if (strcmp(g, GUID_CRC32) == 0) {
		/* The CRC32 of the data follows the GUID header. */
		if (data_off < hdr + 24) {
			uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "CRC32 section at %s without its checksum", chain);
			return;
		}
		if (lzma_crc32(data, dlen, 0) != le32(s + hdr + 20)) {
			uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "CRC32 section at %s: checksum mismatch", chain);
			return;
		}
		parse_sections(ps, data, dlen, chain, depth, file_guid);
	} else if (strcmp(g, GUID_SIGNED) == 0) {
		/* WIN_CERTIFICATE { dwLength; wRevision; wCertificateType; }
		 * then the signed sections. */
		uint32_t cert = dlen >= 8 ? le32(data) : 0;
		size_t skip = ((size_t)cert + 7) & ~(size_t)7;

		if (cert < 8 || skip > dlen) {
			uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "signed section at %s has a malformed certificate", chain);
			return;
		}
		parse_sections(ps, data + skip, dlen - skip, chain, depth, file_guid);
	} else if (!(attr & EFI_GUIDED_SECTION_PROCESSING_REQUIRED)) {
		/* No processing needed: the data is a plain section stream. */
		parse_sections(ps, data, dlen, chain, depth, file_guid);
	} else {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "GUID-defined section %s (%zu bytes) at %s needs processing "
			"no parser here knows: it cannot be opened", g, dlen, chain);
	}
}

static void compression(struct parse *ps, const uint8_t *s, size_t size, size_t hdr, const char *chain,
			unsigned depth, const char *file_guid)
{
	char sub[CHAIN_MAX];
	uint8_t *buf = NULL;
	size_t n = 0;
	struct fw_err err;
	enum uefi_decomp_result r;
	uint32_t want;

	fw_err_clear(&err);
	if (size < hdr + 5) {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "truncated compression section at %s", chain);
		return;
	}
	want = le32(s + hdr);
	if (s[hdr + 4] == 0) {
		parse_sections(ps, s + hdr + 5, size - hdr - 5, chain, depth, file_guid);
		return;
	}
	if (s[hdr + 4] != 1) {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "compression section at %s of unknown type %u", chain,
			s[hdr + 4]);
		return;
	}
	/* "Standard" compression: EFI per the specification, but vendors
	 * write Tiano under the same type; the one that decodes to the
	 * declared size is taken, EFI first (as UEFITool does). */
	uefi_chain_add(sub, sizeof(sub), chain, "EFI");
	if (!budget_declared(ps, size - hdr - 5 >= 8 ? le32(s + hdr + 5 + 4) : 0))
		return;
	r = uefi_efi(s + hdr + 5, size - hdr - 5, false, UEFI_DECOMP_MAX, &buf, &n, &err);
	if (r == UEFI_DECOMP_OK && n != want) {
		free(buf);
		buf = NULL;
		r = UEFI_DECOMP_CORRUPT;
	}
	if (r == UEFI_DECOMP_CORRUPT) {
		fw_err_clear(&err);
		uefi_chain_add(sub, sizeof(sub), chain, "TIANO");
		r = uefi_efi(s + hdr + 5, size - hdr - 5, true, UEFI_DECOMP_MAX, &buf, &n, &err);
	}
	decoded_stream(ps, s, size, r, buf, n, "the EFI/Tiano compressed", sub, depth, file_guid, &err);
}

static void leaf(struct parse *ps, const char *chain, unsigned depth, const char *kind, const char *file_guid,
		 const char *ui, bool exe, const uint8_t *data, size_t len)
{
	char sub[CHAIN_MAX];
	struct uefi_module m = { .chain = sub, .depth = depth, .kind = kind, .file_guid = file_guid, .ui = ui,
				 .executable = exe };

	uefi_chain_add(sub, sizeof(sub), chain, kind);
	uefi_emit(ps, &m, data, len);
}

static void parse_sections(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth,
			   const char *file_guid)
{
	char ui[1100];
	size_t off = 0;

	if (depth > ps->base_depth + ps->sink->max_depth) {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "nesting depth %u exceeds the limit at %s", depth, chain);
		ps->stopped = true;
		return;
	}
	find_ui(p, len, ui, sizeof(ui));
	while (off < len && !ps->stopped) {
		uint32_t size, hdr = SECTION_HEADER;
		const uint8_t *s = p + off;
		uint8_t type;

		if (len - off < SECTION_HEADER) {
			if (!uefi_all_bytes(s, len - off, 0) && !uefi_all_bytes(s, len - off, 0xff))
				uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "truncated section at %s (offset %zu)", chain, off);
			return;
		}
		size = le24(s);
		if (size == 0xffffff) {
			if (len - off < SECTION_HEADER_LARGE) {
				uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "truncated large section at %s", chain);
				return;
			}
			size = le32(s + 4);
			hdr = SECTION_HEADER_LARGE;
		}
		type = s[3];
		if (size < hdr || size > len - off) {
			uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "section of type 0x%02x at %s (offset %zu) overruns its "
				"file (%u bytes, %zu left)", type, chain, off, size, len - off);
			return;
		}
		switch (type) {
		case SECT_COMPRESSION:
			compression(ps, s, size, hdr, chain, depth, file_guid);
			break;
		case SECT_GUID_DEFINED:
			guid_defined(ps, s, size, hdr, chain, depth, file_guid);
			break;
		case SECT_DISPOSABLE:
			parse_sections(ps, s + hdr, size - hdr, chain, depth, file_guid);
			break;
		case SECT_PE32:
			leaf(ps, chain, depth, "PE32", file_guid, ui, true, s + hdr, size - hdr);
			break;
		case SECT_TE:
			leaf(ps, chain, depth, "TE", file_guid, ui, true, s + hdr, size - hdr);
			break;
		case SECT_PIC:
			leaf(ps, chain, depth, "PIC", file_guid, ui, false, s + hdr, size - hdr);
			break;
		case SECT_COMPATIBILITY16:
			leaf(ps, chain, depth, "COMPAT16", file_guid, ui, false, s + hdr, size - hdr);
			break;
		case SECT_RAW:
			leaf(ps, chain, depth, "RAW", file_guid, ui, false, s + hdr, size - hdr);
			break;
		case SECT_FREEFORM_SUBTYPE_GUID:
			if (size < hdr + 16)
				uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "truncated freeform section at %s", chain);
			else
				leaf(ps, chain, depth, "FREEFORM", file_guid, ui, false, s + hdr + 16, size - hdr - 16);
			break;
		case SECT_FIRMWARE_VOLUME_IMAGE: {
			size_t used = 0;

			if (parse_volume(ps, s + hdr, size - hdr, chain, depth + 1, &used) != 0)
				uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "volume image section at %s holds no valid volume",
					chain);
			break;
		}
		case SECT_DXE_DEPEX:
		case SECT_PEI_DEPEX:
		case SECT_MM_DEPEX:
		case SECT_VERSION:
		case SECT_USER_INTERFACE:
			break; /* metadata: names and dependency expressions */
		default:
			/* A type the specification does not define: its bytes
			 * are a module of their own, typed and scanned. */
			leaf(ps, chain, depth, "UNKNOWN", file_guid, ui, false, s + hdr, size - hdr);
			break;
		}
		off += ((size_t)size + 3) & ~(size_t)3;
	}
}

/* ------------------------------------------------------------ files */

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static bool file_header_ok(const uint8_t *f, size_t hdr)
{
	uint8_t copy[FFS_HEADER_LARGE];

	/* IntegrityCheck.Header sums the header with State and
	 * IntegrityCheck.File taken as zero (PI volume 3, 2.2.3). */
	memcpy(copy, f, hdr);
	copy[17] = 0;
	copy[23] = 0;
	return sum8(copy, hdr) == 0;
}

static void parse_file(struct parse *ps, const uint8_t *f, size_t size, size_t hdr, const char *chain,
		       unsigned depth)
{
	char g[37], name[CHAIN_MAX], ui[1100];
	uint8_t type = f[18], attr = f[19];
	const uint8_t *data = f + hdr;
	size_t dlen = size - hdr;

	uefi_guid_str(f, g);
	/* A checksum error makes the image unscannable, and the file is
	 * still walked (its extent is already checked against the volume):
	 * what it holds is scanned, so that a damaged file carrying malware
	 * is judged infected, as UEFIExtract still lists its sections. */
	if (!file_header_ok(f, hdr))
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "file %s at %s: header checksum error", g, chain);
	/* The data's checksum makes its sum zero; without one the byte is
	 * fixed (PI volume 3, 2.2.3). */
	else if ((attr & FFS_ATTRIB_CHECKSUM) ? (uint8_t)(sum8(data, dlen) + f[17]) != 0 : f[17] != FFS_FIXED_CHECKSUM)
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "file %s at %s: data checksum error", g, chain);
	if (type == FT_PAD) {
		/* Padding: erased bytes, or data no structure accounts for. */
		snprintf(name, sizeof(name), "PAD:%s", g);
		uefi_data_region(ps, chain, name, depth + 1, data, dlen);
		return;
	}
	find_ui(data, dlen, ui, sizeof(ui));
	if (ui[0] != '\0')
		uefi_chain_printf(name, sizeof(name), "%s!%s/%s", chain, g, ui);
	else
		uefi_chain_printf(name, sizeof(name), "%s!%s", chain, g);
	if (type == FT_RAW || (type >= 0xC0 && type != FT_PAD)) {
		/* Raw files (and OEM, debug and FFS-reserved types) hold no
		 * sections: the bytes are the module. */
		struct uefi_module m = { .chain = name, .depth = depth + 1, .kind = "FILE", .file_guid = g, .ui = "" };

		uefi_emit(ps, &m, data, dlen);
		return;
	}
	parse_sections(ps, data, dlen, name, depth + 1, g);
}

/* The files of a volume's body (from its first file to its end). */
static void parse_files(struct parse *ps, const uint8_t *p, size_t len, size_t first, uint8_t erase,
			bool ffs3, const char *chain, unsigned depth)
{
	size_t off = first;

	while (off < len && !ps->stopped) {
		const uint8_t *f = p + off;
		size_t size, hdr = FFS_HEADER;

		if (len - off < FFS_HEADER || uefi_all_bytes(f, FFS_HEADER, erase)) {
			/* Free space to the end: erased, or data nobody
			 * accounts for. */
			char label[48];

			if (!uefi_all_bytes(f, len - off, erase)) {
				snprintf(label, sizeof(label), "FREESPACE@0x%zx", off);
				uefi_data_region(ps, chain, label, depth + 1, f, len - off);
			}
			return;
		}
		size = le24(f + 20);
		if (ffs3 && (f[19] & FFS_ATTRIB_LARGE_FILE)) {
			if (len - off < FFS_HEADER_LARGE) {
				uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "truncated large file header at %s", chain);
				return;
			}
			size = (size_t)le64(f + 24);
			hdr = FFS_HEADER_LARGE;
		}
		if (size < hdr || size > len - off) {
			char g[37];

			uefi_guid_str(f, g);
			uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "file %s at %s (offset 0x%zx) overruns its volume (%zu bytes, "
				"%zu left)", g, chain, off, size, len - off);
			return;
		}
		parse_file(ps, f, size, hdr, chain, depth);
		off += (size + 7) & ~(size_t)7;
	}
}

/* ------------------------------------------------------------ volumes */

/* True when the 16 bytes at g are the GUID of a file system parsed here. */
bool uefi_known_fs(const uint8_t *g)
{
	char fs[37];

	uefi_guid_str(g, fs);
	for (size_t i = 0; i < FW_ARRAY_LEN(fs_guids); i++)
		if (strcmp(fs, fs_guids[i].guid) == 0)
			return true;
	return false;
}

bool uefi_volume_header_ok(const uint8_t *p, size_t len, uint32_t *hlen, uint64_t *fvlen)
{
	uint16_t sum = 0;

	if (len < FV_HEADER_MIN || memcmp(p + FV_SIGNATURE_AT, "_FVH", 4) != 0)
		return false;
	*fvlen = le64(p + 32);
	*hlen = le16(p + 48);
	if (*hlen < FV_HEADER_MIN || (*hlen & 1) != 0 || *hlen > len || *fvlen < *hlen || *fvlen > len)
		return false;
	for (uint32_t i = 0; i < *hlen; i += 2)
		sum = (uint16_t)(sum + le16(p + i));
	return sum == 0;
}

/* One volume at the start of p; *consumed its length. Returns -1 when p
 * holds no valid volume header there. */
static int parse_volume(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth,
			size_t *consumed)
{
	char fs[37], name[CHAIN_MAX], label[64];
	uint32_t hlen, attr;
	uint64_t fvlen;
	size_t first;
	bool ffs3 = false, known = false;
	uint8_t erase;

	*consumed = 0;
	if (!uefi_volume_header_ok(p, len, &hlen, &fvlen)) {
		/* Damaged, when it claims a file system this parser reads;
		 * otherwise "_FVH" was just four bytes of something else. */
		if (len >= FV_HEADER_MIN && memcmp(p + FV_SIGNATURE_AT, "_FVH", 4) == 0) {
			if (uefi_known_fs(p + 16))
				uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "volume header at %s is damaged "
					"(checksum or lengths)", chain);
		}
		return -1;
	}
	*consumed = (size_t)fvlen;
	if (depth > ps->base_depth + ps->sink->max_depth) {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "nesting depth %u exceeds the limit at %s", depth, chain);
		ps->stopped = true;
		return 0;
	}
	attr = le32(p + 44);
	erase = (attr & EFI_FVB2_ERASE_POLARITY) ? 0xff : 0x00;
	uefi_guid_str(p + 16, fs);
	for (size_t i = 0; i < FW_ARRAY_LEN(fs_guids); i++)
		if (strcmp(fs, fs_guids[i].guid) == 0) {
			known = true;
			ffs3 = i == 1;
		}
	first = hlen;
	/* The extended header names the volume. */
	snprintf(label, sizeof(label), "FV");
	if (le16(p + 52) != 0) {
		uint16_t ext = le16(p + 52);

		if ((size_t)ext + 20 <= fvlen) {
			char g[37];
			uint32_t ext_size = le32(p + ext + 16);

			uefi_guid_str(p + ext, g);
			snprintf(label, sizeof(label), "FV:%s", g);
			if (ext_size >= 20 && (uint64_t)ext + ext_size <= fvlen)
				first = (size_t)ext + ext_size;
		}
	}
	first = (first + 7) & ~(size_t)7;
	uefi_chain_add(name, sizeof(name), chain, label);
	if (!known) {
		/* A file system nobody here reads (NVRAM variable stores,
		 * vendor stores): its body is data of its own. */
		uefi_data_region(ps, name, "BODY", depth + 1, p + hlen, (size_t)fvlen - hlen);
		return 0;
	}
	parse_files(ps, p, (size_t)fvlen, first, erase, ffs3, name, depth);
	return 0;
}

/* Volumes anywhere in p (at 8-byte aligned offsets); the bytes between
 * and around them are data modules unless erased. */
void uefi_find_volumes(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth)
{
	size_t off = 0, gap = 0;
	unsigned found = 0;
	char label[48];

	while (off + FV_HEADER_MIN <= len && !ps->stopped && found < VOLUMES_MAX) {
		size_t used = 0;

		if (memcmp(p + off + FV_SIGNATURE_AT, "_FVH", 4) != 0 ||
		    parse_volume(ps, p + off, len - off, chain, depth + 1, &used) != 0 || used == 0) {
			off += 8;
			continue;
		}
		snprintf(label, sizeof(label), "@0x%zx", gap);
		uefi_data_region(ps, chain, label, depth + 1, p + gap, off - gap);
		found++;
		off += (used + 7) & ~(size_t)7;
		gap = off;
	}
	if (found >= VOLUMES_MAX)
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "more than %d volumes at %s", VOLUMES_MAX, chain);
	/* Without a volume the input is no image; it is its own data. */
	if (found > 0 && gap < len) {
		snprintf(label, sizeof(label), "@0x%zx", gap);
		uefi_data_region(ps, chain, label, depth + 1, p + gap, len - gap);
	}
}
