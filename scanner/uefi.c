/* The UEFI image parser, written from the UEFI PI specification volume 3
 * (firmware volumes, the FFSv2/FFSv3 file systems, files and sections) and
 * the UEFI specification (capsules, FMP): capsules and Intel flash
 * descriptor images are unwrapped, firmware volumes found and walked down
 * to each module, through nested volumes and compressed or GUID-defined
 * sections. Every length is checked against its container before it is
 * used; checksum errors, truncation and overruns are reasons, never
 * guesses. Modules go to the sink; nothing here reads files or decides a
 * verdict beyond naming what it could not open. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lzma.h>

#include "scanner/scan_int.h"
#include "scanner/uefi.h"

#define FV_HEADER_MIN 56          /* EFI_FIRMWARE_VOLUME_HEADER with one block map entry and its end */
#define FV_SIGNATURE_AT 40
#define FFS_HEADER 24
#define FFS_HEADER_LARGE 32
#define SECTION_HEADER 4
#define SECTION_HEADER_LARGE 8
#define EFI_FVB2_ERASE_POLARITY 0x00000800u
#define FFS_ATTRIB_LARGE_FILE 0x01
#define FFS_ATTRIB_CHECKSUM 0x40
#define FFS_FIXED_CHECKSUM 0xAA
#define EFI_GUIDED_SECTION_PROCESSING_REQUIRED 0x01
#define CHAIN_MAX 4096
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

/* The state of one parse. */
struct parse {
	const struct uefi_sink *sink;
	unsigned base_depth;
	int modules;
	bool stopped;
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A GUID in its usual text form (the first three fields little-endian). */
static void guid_str(const uint8_t *g, char out[37])
{
	snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", le32(g), le16(g + 4), le16(g + 6),
		 g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

static void problem(struct parse *ps, enum fw_verdict v, const char *fmt, ...) FW_PRINTF(3, 4);

static void problem(struct parse *ps, enum fw_verdict v, const char *fmt, ...)
{
	char msg[FW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->sink->problem(ps->sink->arg, v, msg);
}

static void chain_printf(char *out, size_t len, const char *fmt, ...) FW_PRINTF(3, 4);

/* A member chain into out; one too long ends in "..." (a hostile nesting
 * or name cannot overflow it, and the cut is visible). */
static void chain_printf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
}

/* chain + "!" + name (name already escaped) into out. */
static void chain_add(char *out, size_t len, const char *chain, const char *name)
{
	chain_printf(out, len, "%s!%s", chain, name);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t b)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != b)
			return false;
	return true;
}

static int emit(struct parse *ps, const struct uefi_module *m, const uint8_t *data, size_t len);

/* Bytes no structure accounts for: nothing when erased (all 0xff or all
 * 0), else a DATA module the caller types, carves and judges. */
static void data_region(struct parse *ps, const char *chain, const char *label, unsigned depth, const uint8_t *p,
			size_t len)
{
	char name[CHAIN_MAX];
	struct uefi_module m = { .chain = name, .depth = depth, .kind = "DATA", .file_guid = "", .ui = "" };

	if (len == 0 || all_bytes(p, len, 0xff) || all_bytes(p, len, 0))
		return;
	chain_add(name, sizeof(name), chain, label);
	emit(ps, &m, p, len);
}

static int emit(struct parse *ps, const struct uefi_module *m, const uint8_t *data, size_t len)
{
	if (ps->stopped)
		return -1;
	ps->modules++;
	if (ps->sink->module(ps->sink->arg, m, data, len) != 0) {
		ps->stopped = true;
		return -1;
	}
	return 0;
}

static bool budget(struct parse *ps, uint64_t bytes)
{
	if (ps->stopped)
		return false;
	if (!ps->sink->budget(ps->sink->arg, bytes)) {
		ps->stopped = true;
		return false;
	}
	return true;
}

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
		problem(ps, FW_VERDICT_UNSCANNABLE, "%s section at %s cannot be opened: %s", what, chain,
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
	return budget(ps, declared);
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
		problem(ps, FW_VERDICT_UNSCANNABLE, "truncated GUID-defined section at %s", chain);
		return;
	}
	guid_str(s + hdr, g);
	data_off = le16(s + hdr + 16);
	attr = le16(s + hdr + 18);
	if (data_off < hdr + 20 || data_off > size) {
		problem(ps, FW_VERDICT_UNSCANNABLE, "GUID-defined section %s at %s has a data offset outside it", g,
			chain);
		return;
	}
	data = s + data_off;
	dlen = size - data_off;
	if (strcmp(g, GUID_LZMA) == 0 || strcmp(g, GUID_LZMA_HP) == 0 || strcmp(g, GUID_LZMA_F86) == 0) {
		bool x86 = strcmp(g, GUID_LZMA_F86) == 0;

		chain_add(sub, sizeof(sub), chain, x86 ? "LZMAF86" : "LZMA");
		if (!budget_declared(ps, dlen >= 13 ? le64(data + 5) : 0))
			return;
		r = uefi_lzma(data, dlen, x86, UEFI_DECOMP_MAX, &buf, &n, &err);
		decoded_stream(ps, s, size, r, buf, n, x86 ? "the LZMA (x86)" : "the LZMA", sub, depth, file_guid, &err);
	} else if (strcmp(g, GUID_BROTLI) == 0) {
		chain_add(sub, sizeof(sub), chain, "BROTLI");
		if (!budget_declared(ps, dlen >= 16 ? le64(data) : 0))
			return;
		r = uefi_brotli(data, dlen, UEFI_DECOMP_MAX, &buf, &n, &err);
		decoded_stream(ps, s, size, r, buf, n, "the Brotli", sub, depth, file_guid, &err);
	} else if (strcmp(g, GUID_TIANO) == 0) {
		chain_add(sub, sizeof(sub), chain, "TIANO");
		if (!budget_declared(ps, dlen >= 8 ? le32(data + 4) : 0))
			return;
		r = uefi_efi(data, dlen, true, UEFI_DECOMP_MAX, &buf, &n, &err);
		decoded_stream(ps, s, size, r, buf, n, "the Tiano", sub, depth, file_guid, &err);
	} else if (strcmp(g, GUID_CRC32) == 0) {
		/* The CRC32 of the data follows the GUID header. */
		if (data_off < hdr + 24) {
			problem(ps, FW_VERDICT_UNSCANNABLE, "CRC32 section at %s without its checksum", chain);
			return;
		}
		if (lzma_crc32(data, dlen, 0) != le32(s + hdr + 20)) {
			problem(ps, FW_VERDICT_UNSCANNABLE, "CRC32 section at %s: checksum mismatch", chain);
			return;
		}
		parse_sections(ps, data, dlen, chain, depth, file_guid);
	} else if (strcmp(g, GUID_SIGNED) == 0) {
		/* WIN_CERTIFICATE { dwLength; wRevision; wCertificateType; }
		 * then the signed sections. */
		uint32_t cert = dlen >= 8 ? le32(data) : 0;
		size_t skip = ((size_t)cert + 7) & ~(size_t)7;

		if (cert < 8 || skip > dlen) {
			problem(ps, FW_VERDICT_UNSCANNABLE, "signed section at %s has a malformed certificate", chain);
			return;
		}
		parse_sections(ps, data + skip, dlen - skip, chain, depth, file_guid);
	} else if (!(attr & EFI_GUIDED_SECTION_PROCESSING_REQUIRED)) {
		/* No processing needed: the data is a plain section stream. */
		parse_sections(ps, data, dlen, chain, depth, file_guid);
	} else {
		problem(ps, FW_VERDICT_UNSCANNABLE, "GUID-defined section %s (%zu bytes) at %s needs processing "
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
		problem(ps, FW_VERDICT_UNSCANNABLE, "truncated compression section at %s", chain);
		return;
	}
	want = le32(s + hdr);
	if (s[hdr + 4] == 0) {
		parse_sections(ps, s + hdr + 5, size - hdr - 5, chain, depth, file_guid);
		return;
	}
	if (s[hdr + 4] != 1) {
		problem(ps, FW_VERDICT_UNSCANNABLE, "compression section at %s of unknown type %u", chain,
			s[hdr + 4]);
		return;
	}
	/* "Standard" compression: EFI per the specification, but vendors
	 * write Tiano under the same type; the one that decodes to the
	 * declared size is taken, EFI first (as UEFITool does). */
	chain_add(sub, sizeof(sub), chain, "EFI");
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
		chain_add(sub, sizeof(sub), chain, "TIANO");
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

	chain_add(sub, sizeof(sub), chain, kind);
	emit(ps, &m, data, len);
}

static void parse_sections(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth,
			   const char *file_guid)
{
	char ui[1100];
	size_t off = 0;

	if (depth > ps->base_depth + ps->sink->max_depth) {
		problem(ps, FW_VERDICT_UNSCANNABLE, "nesting depth %u exceeds the limit at %s", depth, chain);
		ps->stopped = true;
		return;
	}
	find_ui(p, len, ui, sizeof(ui));
	while (off < len && !ps->stopped) {
		uint32_t size, hdr = SECTION_HEADER;
		const uint8_t *s = p + off;
		uint8_t type;

		if (len - off < SECTION_HEADER) {
			if (!all_bytes(s, len - off, 0) && !all_bytes(s, len - off, 0xff))
				problem(ps, FW_VERDICT_UNSCANNABLE, "truncated section at %s (offset %zu)", chain, off);
			return;
		}
		size = le24(s);
		if (size == 0xffffff) {
			if (len - off < SECTION_HEADER_LARGE) {
				problem(ps, FW_VERDICT_UNSCANNABLE, "truncated large section at %s", chain);
				return;
			}
			size = le32(s + 4);
			hdr = SECTION_HEADER_LARGE;
		}
		type = s[3];
		if (size < hdr || size > len - off) {
			problem(ps, FW_VERDICT_UNSCANNABLE, "section of type 0x%02x at %s (offset %zu) overruns its "
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
				problem(ps, FW_VERDICT_UNSCANNABLE, "truncated freeform section at %s", chain);
			else
				leaf(ps, chain, depth, "FREEFORM", file_guid, ui, false, s + hdr + 16, size - hdr - 16);
			break;
		case SECT_FIRMWARE_VOLUME_IMAGE: {
			size_t used = 0;

			if (parse_volume(ps, s + hdr, size - hdr, chain, depth + 1, &used) != 0)
				problem(ps, FW_VERDICT_UNSCANNABLE, "volume image section at %s holds no valid volume",
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

	guid_str(f, g);
	/* A checksum error makes the image unscannable, and the file is
	 * still walked (its extent is already checked against the volume):
	 * what it holds is scanned, so that a damaged file carrying malware
	 * is judged infected, as UEFIExtract still lists its sections. */
	if (!file_header_ok(f, hdr))
		problem(ps, FW_VERDICT_UNSCANNABLE, "file %s at %s: header checksum error", g, chain);
	/* The data's checksum makes its sum zero; without one the byte is
	 * fixed (PI volume 3, 2.2.3). */
	else if ((attr & FFS_ATTRIB_CHECKSUM) ? (uint8_t)(sum8(data, dlen) + f[17]) != 0 : f[17] != FFS_FIXED_CHECKSUM)
		problem(ps, FW_VERDICT_UNSCANNABLE, "file %s at %s: data checksum error", g, chain);
	if (type == FT_PAD) {
		/* Padding: erased bytes, or data no structure accounts for. */
		snprintf(name, sizeof(name), "PAD:%s", g);
		data_region(ps, chain, name, depth + 1, data, dlen);
		return;
	}
	find_ui(data, dlen, ui, sizeof(ui));
	if (ui[0] != '\0')
		chain_printf(name, sizeof(name), "%s!%s/%s", chain, g, ui);
	else
		chain_printf(name, sizeof(name), "%s!%s", chain, g);
	if (type == FT_RAW || (type >= 0xC0 && type != FT_PAD)) {
		/* Raw files (and OEM, debug and FFS-reserved types) hold no
		 * sections: the bytes are the module. */
		struct uefi_module m = { .chain = name, .depth = depth + 1, .kind = "FILE", .file_guid = g, .ui = "" };

		emit(ps, &m, data, dlen);
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

		if (len - off < FFS_HEADER || all_bytes(f, FFS_HEADER, erase)) {
			/* Free space to the end: erased, or data nobody
			 * accounts for. */
			char label[48];

			if (!all_bytes(f, len - off, erase)) {
				snprintf(label, sizeof(label), "FREESPACE@0x%zx", off);
				data_region(ps, chain, label, depth + 1, f, len - off);
			}
			return;
		}
		size = le24(f + 20);
		if (ffs3 && (f[19] & FFS_ATTRIB_LARGE_FILE)) {
			if (len - off < FFS_HEADER_LARGE) {
				problem(ps, FW_VERDICT_UNSCANNABLE, "truncated large file header at %s", chain);
				return;
			}
			size = (size_t)le64(f + 24);
			hdr = FFS_HEADER_LARGE;
		}
		if (size < hdr || size > len - off) {
			char g[37];

			guid_str(f, g);
			problem(ps, FW_VERDICT_UNSCANNABLE, "file %s at %s (offset 0x%zx) overruns its volume (%zu bytes, "
				"%zu left)", g, chain, off, size, len - off);
			return;
		}
		parse_file(ps, f, size, hdr, chain, depth);
		off += (size + 7) & ~(size_t)7;
	}
}

/* ------------------------------------------------------------ volumes */

/* True when the 16 bytes at g are the GUID of a file system parsed here. */
static bool known_fs(const uint8_t *g)
{
	char fs[37];

	guid_str(g, fs);
	for (size_t i = 0; i < FW_ARRAY_LEN(fs_guids); i++)
		if (strcmp(fs, fs_guids[i].guid) == 0)
			return true;
	return false;
}

static bool volume_header_ok(const uint8_t *p, size_t len, uint32_t *hlen, uint64_t *fvlen)
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
	if (!volume_header_ok(p, len, &hlen, &fvlen)) {
		/* Damaged, when it claims a file system this parser reads;
		 * otherwise "_FVH" was just four bytes of something else. */
		if (len >= FV_HEADER_MIN && memcmp(p + FV_SIGNATURE_AT, "_FVH", 4) == 0) {
			if (known_fs(p + 16))
				problem(ps, FW_VERDICT_UNSCANNABLE, "volume header at %s is damaged "
					"(checksum or lengths)", chain);
		}
		return -1;
	}
	*consumed = (size_t)fvlen;
	if (depth > ps->base_depth + ps->sink->max_depth) {
		problem(ps, FW_VERDICT_UNSCANNABLE, "nesting depth %u exceeds the limit at %s", depth, chain);
		ps->stopped = true;
		return 0;
	}
	attr = le32(p + 44);
	erase = (attr & EFI_FVB2_ERASE_POLARITY) ? 0xff : 0x00;
	guid_str(p + 16, fs);
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

			guid_str(p + ext, g);
			snprintf(label, sizeof(label), "FV:%s", g);
			if (ext_size >= 20 && (uint64_t)ext + ext_size <= fvlen)
				first = (size_t)ext + ext_size;
		}
	}
	first = (first + 7) & ~(size_t)7;
	chain_add(name, sizeof(name), chain, label);
	if (!known) {
		/* A file system nobody here reads (NVRAM variable stores,
		 * vendor stores): its body is data of its own. */
		data_region(ps, name, "BODY", depth + 1, p + hlen, (size_t)fvlen - hlen);
		return 0;
	}
	parse_files(ps, p, (size_t)fvlen, first, erase, ffs3, name, depth);
	return 0;
}

/* Volumes anywhere in p (at 8-byte aligned offsets); the bytes between
 * and around them are data modules unless erased. */
static void find_volumes(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth)
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
		data_region(ps, chain, label, depth + 1, p + gap, off - gap);
		found++;
		off += (used + 7) & ~(size_t)7;
		gap = off;
	}
	if (found >= VOLUMES_MAX)
		problem(ps, FW_VERDICT_UNSCANNABLE, "more than %d volumes at %s", VOLUMES_MAX, chain);
	/* Without a volume the input is no image; it is its own data. */
	if (found > 0 && gap < len) {
		snprintf(label, sizeof(label), "@0x%zx", gap);
		data_region(ps, chain, label, depth + 1, p + gap, len - gap);
	}
}

/* ------------------------------------------------------------ capsules */

struct capsule_kind {
	const char *guid;
	const char *name;
	bool toshiba;           /* { GUID; HeaderSize; FullSize; Flags; } */
	bool aptio;             /* EFI_CAPSULE_HEADER, then RomImageOffset */
	bool fmp;
};

static const struct capsule_kind capsules[] = {
	{ "3B6686BD-0D76-4030-B70E-B5519E2FC5A0", "EFI capsule", false, false, false },
	{ "6DCBD5ED-E82D-4C44-BDA1-7194199AD92A", "FMP capsule", false, false, true },
	{ "539182B9-ABB5-4391-B69A-E3A943F72FCC", "Intel capsule", false, false, false },
	{ "E20BAFD3-9914-4F4F-9537-3129E090EB3C", "Lenovo capsule", false, false, false },
	{ "25B5FE76-8243-4A5C-A9BD-7EE3246198B5", "Lenovo capsule", false, false, false },
	{ "3BE07062-1D51-45D2-832B-F093257ED461", "Toshiba capsule", true, false, false },
	{ "4A3CA68B-7723-48FB-803D-578CC1FEC44D", "AMI Aptio signed capsule", false, true, false },
	{ "14EEBB90-890A-43DB-AED1-5D3C4588A418", "AMI Aptio capsule", false, true, false },
};

static const struct capsule_kind *capsule_of(const uint8_t *p, size_t len)
{
	char g[37];

	if (len < 28)
		return NULL;
	guid_str(p, g);
	for (size_t i = 0; i < FW_ARRAY_LEN(capsules); i++)
		if (strcmp(g, capsules[i].guid) == 0)
			return &capsules[i];
	return NULL;
}

/* One FMP payload image: an optional authentication header (monotonic
 * count and a WIN_CERTIFICATE_UEFI_GUID), an optional FMP payload header
 * ("MSS1"), then the image itself. */
static void fmp_image(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth)
{
	size_t off = 0;

	if (len >= 8 + 24 && le16(p + 8 + 6) == 0x0EF1) {
		uint32_t cert = le32(p + 8);

		if (cert >= 24 && (uint64_t)8 + cert <= len)
			off = 8 + cert;
	}
	if (len - off >= 16 && memcmp(p + off, "MSS1", 4) == 0) {
		uint32_t h = le32(p + off + 4);

		if (h >= 16 && h <= len - off)
			off += h;
	}
	find_volumes(ps, p + off, len - off, chain, depth);
}

static void fmp_capsule(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth)
{
	uint16_t drivers, payloads;

	if (len < 8 || le32(p) != 1) {
		problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: unknown header version", chain);
		return;
	}
	drivers = le16(p + 4);
	payloads = le16(p + 6);
	if ((size_t)8 + ((size_t)drivers + payloads) * 8 > len) {
		problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: its item list overruns it", chain);
		return;
	}
	for (unsigned i = 0; i < (unsigned)drivers + payloads && !ps->stopped; i++) {
		uint64_t at = le64(p + 8 + i * 8);
		char name[CHAIN_MAX];

		if (at >= len) {
			problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: item %u lies outside it", chain, i);
			return;
		}
		if (i < drivers) {
			/* An embedded driver: a PE image up to the next item. */
			uint64_t end = i + 1 < (unsigned)drivers + payloads ? le64(p + 8 + (i + 1) * 8) : len;
			struct uefi_module m = { .chain = name, .depth = depth + 1, .kind = "PE32", .file_guid = "",
						 .ui = "", .executable = true };

			if (end <= at || end > len) {
				problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: driver %u has no extent", chain, i);
				return;
			}
			chain_printf(name, sizeof(name), "%s!DRIVER%u", chain, i);
			emit(ps, &m, p + at, (size_t)(end - at));
		} else {
			/* EFI_FIRMWARE_MANAGEMENT_CAPSULE_IMAGE_HEADER, versions
			 * 1 to 3: 32, 40 or 48 bytes. */
			const uint8_t *h = p + at;
			uint32_t ver, hsize, isize, vsize;
			char g[37];

			if (len - at < 32) {
				problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: payload %u is truncated", chain, i);
				return;
			}
			ver = le32(h);
			hsize = ver >= 3 ? 48 : ver == 2 ? 40 : 32;
			isize = le32(h + 24);
			vsize = le32(h + 28);
			if (ver == 0 || ver > 3 || (uint64_t)hsize + isize + vsize > len - at) {
				problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: payload %u overruns it", chain, i);
				return;
			}
			guid_str(h + 4, g);
			chain_printf(name, sizeof(name), "%s!PAYLOAD:%s", chain, g);
			fmp_image(ps, h + hsize, isize, name, depth + 1);
		}
	}
}

static void parse_capsule(struct parse *ps, const struct capsule_kind *k, const uint8_t *p, size_t len,
			  const char *chain, unsigned depth)
{
	uint32_t hsize = le32(p + 16), total = k->toshiba ? le32(p + 20) : le32(p + 24);
	char name[CHAIN_MAX];

	if (k->aptio && len >= 32 && le16(p + 28) >= 28 && le16(p + 28) < len)
		hsize = le16(p + 28); /* RomImageOffset: the image after the signature */
	if (hsize < 28 || hsize > len || total < hsize || total > len) {
		problem(ps, FW_VERDICT_UNSCANNABLE, "%s at %s: header or image size outside the file", k->name, chain);
		return;
	}
	data_region(ps, chain, "TRAILER", depth + 1, p + total, len - total);
	chain_add(name, sizeof(name), chain, "CAPSULE");
	if (k->fmp)
		fmp_capsule(ps, p + hsize, total - hsize, name, depth);
	else
		find_volumes(ps, p + hsize, total - hsize, name, depth);
}

/* ------------------------------------------------------------ flash */

#define IFD_SIGNATURE 0x0FF0A55Au

static const char *const ifd_regions[] = { "DESCRIPTOR", "BIOS", "ME", "GBE", "PDR", "DEVEXP1", "BIOS2", "MICROCODE",
					   "EC", "DEVEXP2", "IE", "10GBE1", "10GBE2", "REGION13", "REGION14", "PTT" };

/* The signature at 16 (at 0 in the oldest layout). */
static long ifd_offset(const uint8_t *p, size_t len)
{
	if (len >= 0x1000 && le32(p + 16) == IFD_SIGNATURE)
		return 16;
	if (len >= 0x1000 && le32(p) == IFD_SIGNATURE)
		return 0;
	return -1;
}

static void parse_ifd(struct parse *ps, const uint8_t *p, size_t len, long sig, const char *chain, unsigned depth)
{
	uint32_t flmap0 = le32(p + sig + 4);
	size_t frba = ((flmap0 >> 16) & 0xff) << 4;
	char name[CHAIN_MAX];
	unsigned bios = 0;

	if (frba + 4 * FW_ARRAY_LEN(ifd_regions) > len) {
		problem(ps, FW_VERDICT_UNSCANNABLE, "Intel flash descriptor at %s: region table outside the image", chain);
		return;
	}
	for (unsigned r = 0; r < FW_ARRAY_LEN(ifd_regions) && !ps->stopped; r++) {
		uint32_t reg = le32(p + frba + 4 * r);
		uint64_t b = (uint64_t)(reg & 0x7fff) << 12, l = ((uint64_t)((reg >> 16) & 0x7fff) << 12) | 0xfff;

		if (r > 0 && (reg & 0x7fff) == 0x7fff)
			continue; /* unused */
		if (b > l || (r > 0 && reg == 0))
			continue;
		if (l >= len) {
			problem(ps, FW_VERDICT_UNSCANNABLE, "Intel flash descriptor at %s: region %s lies outside the "
				"image", chain, ifd_regions[r]);
			continue;
		}
		if (strcmp(ifd_regions[r], "BIOS") == 0 || strcmp(ifd_regions[r], "BIOS2") == 0) {
			bios++;
			chain_add(name, sizeof(name), chain, ifd_regions[r]);
			find_volumes(ps, p + b, (size_t)(l - b + 1), name, depth + 1);
		} else if (r > 0) {
			/* ME, GbE, PDR, EC...: regions of their own formats,
			 * data here that the caller types and judges. */
			data_region(ps, chain, ifd_regions[r], depth + 1, p + b, (size_t)(l - b + 1));
		}
	}
	if (bios == 0)
		problem(ps, FW_VERDICT_UNSCANNABLE, "Intel flash descriptor at %s names no BIOS region", chain);
}

/* ------------------------------------------------------------ entry */

bool uefi_detect(const uint8_t *p, size_t len)
{
	if (capsule_of(p, len) != NULL || ifd_offset(p, len) >= 0)
		return true;
	/* A volume: its header valid, or damaged but naming a file system
	 * this parser reads (then the parse says it is damaged). "_FVH" in
	 * anything else is four bytes of something else. */
	for (size_t off = 0; off + FV_HEADER_MIN <= len; off += 8) {
		uint32_t hlen;
		uint64_t fvlen;

		if (memcmp(p + off + FV_SIGNATURE_AT, "_FVH", 4) != 0)
			continue;
		if (volume_header_ok(p + off, len - off, &hlen, &fvlen) || known_fs(p + off + 16))
			return true;
	}
	return false;
}

int uefi_parse(const uint8_t *p, size_t len, const char *chain, unsigned depth, const struct uefi_sink *sink)
{
	struct parse ps = { .sink = sink, .base_depth = depth };
	const struct capsule_kind *k = capsule_of(p, len);
	long sig = ifd_offset(p, len);

	if (k != NULL)
		parse_capsule(&ps, k, p, len, chain, depth);
	else if (sig >= 0)
		parse_ifd(&ps, p, len, sig, chain, depth);
	else
		find_volumes(&ps, p, len, chain, depth);
	return ps.stopped ? -1 : ps.modules;
}
