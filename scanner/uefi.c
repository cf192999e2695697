/* The UEFI image parser's entry points and outer wrappers, from the UEFI
 * specification (capsules, FMP) and Intel's flash descriptor layout:
 * capsules and flash descriptor images are unwrapped, their regions
 * named, and the firmware volumes inside handed to uefi_fv.c. Every length
 * is checked against its container before it is used. Modules go to the
 * sink; nothing here reads files or decides a verdict beyond naming what
 * it could not open. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/uefi_int.h"

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
	uefi_guid_str(p, g);
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
	uefi_find_volumes(ps, p + off, len - off, chain, depth);
}

static void fmp_capsule(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth)
{
	uint16_t drivers, payloads;

	if (len < 8 || le32(p) != 1) {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: unknown header version", chain);
		return;
	}
	drivers = le16(p + 4);
	payloads = le16(p + 6);
	if ((size_t)8 + ((size_t)drivers + payloads) * 8 > len) {
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: its item list overruns it", chain);
		return;
	}
	for (unsigned i = 0; i < (unsigned)drivers + payloads && !ps->stopped; i++) {
		uint64_t at = le64(p + 8 + i * 8);
		char name[CHAIN_MAX];

		if (at >= len) {
			uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: item %u lies outside it", chain, i);
			return;
		}
		if (i < drivers) {
			/* An embedded driver: a PE image up to the next item. */
			uint64_t end = i + 1 < (unsigned)drivers + payloads ? le64(p + 8 + (i + 1) * 8) : len;
			struct uefi_module m = { .chain = name, .depth = depth + 1, .kind = "PE32", .file_guid = "",
						 .ui = "", .executable = true };

			if (end <= at || end > len) {
				uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: driver %u has no extent", chain, i);
				return;
			}
			uefi_chain_printf(name, sizeof(name), "%s!DRIVER%u", chain, i);
			uefi_emit(ps, &m, p + at, (size_t)(end - at));
		} else {
			/* EFI_FIRMWARE_MANAGEMENT_CAPSULE_IMAGE_HEADER, versions
			 * 1 to 3: 32, 40 or 48 bytes. */
			const uint8_t *h = p + at;
			uint32_t ver, hsize, isize, vsize;
			char g[37];

			if (len - at < 32) {
				uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: payload %u is truncated", chain, i);
				return;
			}
			ver = le32(h);
			hsize = ver >= 3 ? 48 : ver == 2 ? 40 : 32;
			isize = le32(h + 24);
			vsize = le32(h + 28);
			if (ver == 0 || ver > 3 || (uint64_t)hsize + isize + vsize > len - at) {
				uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "FMP capsule at %s: payload %u overruns it", chain, i);
				return;
			}
			uefi_guid_str(h + 4, g);
			uefi_chain_printf(name, sizeof(name), "%s!PAYLOAD:%s", chain, g);
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
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "%s at %s: header or image size outside the file", k->name, chain);
		return;
	}
	uefi_data_region(ps, chain, "TRAILER", depth + 1, p + total, len - total);
	uefi_chain_add(name, sizeof(name), chain, "CAPSULE");
	if (k->fmp)
		fmp_capsule(ps, p + hsize, total - hsize, name, depth);
	else
		uefi_find_volumes(ps, p + hsize, total - hsize, name, depth);
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
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "Intel flash descriptor at %s: region table outside the image", chain);
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
			uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "Intel flash descriptor at %s: region %s lies outside the "
				"image", chain, ifd_regions[r]);
			continue;
		}
		if (strcmp(ifd_regions[r], "BIOS") == 0 || strcmp(ifd_regions[r], "BIOS2") == 0) {
			bios++;
			uefi_chain_add(name, sizeof(name), chain, ifd_regions[r]);
			uefi_find_volumes(ps, p + b, (size_t)(l - b + 1), name, depth + 1);
		} else if (r > 0) {
			/* ME, GbE, PDR, EC...: regions of their own formats,
			 * data here that the caller types and judges. */
			uefi_data_region(ps, chain, ifd_regions[r], depth + 1, p + b, (size_t)(l - b + 1));
		}
	}
	if (bios == 0)
		uefi_problem(ps, FW_VERDICT_UNSCANNABLE, "Intel flash descriptor at %s names no BIOS region", chain);
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
		if (uefi_volume_header_ok(p + off, len - off, &hlen, &fvlen) || uefi_known_fs(p + off + 16))
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
		uefi_find_volumes(&ps, p, len, chain, depth);
	return ps.stopped ? -1 : ps.modules;
}
