/* PCI option ROMs, image by image: EFI drivers (EFI-compressed or not) as
 * pe members, iPXE zbin blocks (length, raw LZMA, CRC-32) decoded with
 * iPXE's call/jump filter undone and walked as members. Bytes no image
 * structure opens are left to the coverage check. Must not search for
 * generic candidates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lzma.h>

#include "scanner/carve_int.h"
#include "scanner/uefi.h"

/* ------------------------------------------------------------ PCI option ROMs
 *
 * A PCI expansion ROM (PCI Firmware Specification 3.0, 5.1; UEFI 2.x,
 * "PCI Option ROMs") is a chain of images, each 0x55AA, a PCI data
 * structure ("PCIR": length in 512-byte units, code type, last-image
 * flag). An EFI image (code type 3) holds a PE driver, EFI-compressed or
 * not; it becomes a member of its own, typed pe. A legacy image built by
 * iPXE holds blocks its zbin tool packed: a 32-bit length, a raw LZMA1
 * stream (lc 2, lp 0, pb 0) of code first passed through iPXE's own
 * call/jump filter, and the stream's CRC-32; each block with a matching
 * CRC is decoded, the filter undone, and walked as a member. Bytes no
 * image structure opens are left to the coverage check. */

#define ROM_IMAGES_MAX 16
#define IPXE_DICT (8u << 20)
#define IPXE_OUT_MAX (64u << 20)

/* iPXE's call/jump filter undone (its forward form is in iPXE's
 * util/zbin.c: rel32 targets of E8/E9 made absolute within the block). */
static void ipxe_unfilter(uint8_t *d, size_t len)
{
	int64_t limit = (int64_t)len - 5;

	for (int64_t off = 0; off <= limit; off++) {
		int32_t t;
		int64_t v;

		if (d[off] != 0xe8 && d[off] != 0xe9)
			continue;
		memcpy(&t, d + off + 1, 4);
		v = t;
		if (v >= 0 && v < limit)
			v -= off;
		else if (v >= -off && v < 0)
			v += limit;
		t = (int32_t)v;
		memcpy(d + off + 1, &t, 4);
		off += 4;
	}
}

/* A raw LZMA1 stream (lc 2, lp 0, pb 0, to its end marker), at most cap
 * bytes out. 0 on success. */
static int ipxe_unpack(const uint8_t *in, size_t n, uint64_t cap, uint8_t **out, size_t *out_len, char *why,
		       size_t why_len)
{
	lzma_options_lzma opt = { .dict_size = IPXE_DICT, .lc = 2, .lp = 0, .pb = 0 };
	lzma_filter filters[2] = { { .id = LZMA_FILTER_LZMA1, .options = &opt }, { .id = LZMA_VLI_UNKNOWN } };
	lzma_stream z = LZMA_STREAM_INIT;
	size_t have = 0, room = 65536;
	uint8_t *buf = malloc(room);
	lzma_ret r = LZMA_OK;

	*out = NULL;
	*out_len = 0;
	if (buf == NULL || lzma_raw_decoder(&z, filters) != LZMA_OK) {
		free(buf);
		snprintf(why, why_len, "cannot start the LZMA decoder");
		return -1;
	}
	z.next_in = in;
	z.avail_in = n;
	while (r == LZMA_OK) {
		if (have == room) {
			uint8_t *nb;

			if (room >= cap) {
				snprintf(why, why_len, "it decodes to more than %llu bytes", (unsigned long long)cap);
				break;
			}
			room = room * 2 < cap ? room * 2 : (size_t)cap;
			nb = realloc(buf, room);
			if (nb == NULL) {
				snprintf(why, why_len, "out of memory");
				break;
			}
			buf = nb;
		}
		z.next_out = buf + have;
		z.avail_out = room - have;
		r = lzma_code(&z, LZMA_FINISH);
		have = room - z.avail_out;
	}
	lzma_end(&z);
	if (r != LZMA_STREAM_END) {
		if (r != LZMA_OK)
			snprintf(why, why_len, "the LZMA stream is corrupt (liblzma error %d)", (int)r);
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = have;
	return 0;
}

/* A member cut out of the node (walk mode only): name is chain!label. */
static int rom_member(struct carve *c, const uint8_t *data, size_t len, uint64_t off, const char *label, bool pe)
{
	char name[2048];
	const struct node_hint hint = { .file_type = pe ? "pe" : NULL, .section = pe ? "PE32" : NULL,
					.offset = (int64_t)off };

	if (c->w == NULL)
		return 0;
	snprintf(name, sizeof(name), "%s!@0x%llx:%s", c->chain, (unsigned long long)off, label);
	return walk_bytes(c->w, data, len, name, c->depth + 1, &hint);
}

static int rom_efi_image(struct carve *c, uint64_t off, uint64_t len)
{
	const uint8_t *img = c->p + off;
	uint16_t hdr = carve_rd16(img + 0x16), comp = carve_rd16(img + 0x0c);
	uint8_t *pe = NULL;
	size_t pe_len = 0;
	struct fw_err err;
	int rc;

	fw_err_clear(&err);
	if (hdr < 0x1a || hdr >= len) {
		carve_reason(c, FW_VERDICT_UNSCANNABLE, "EFI image of option ROM %s at 0x%llx: its driver lies outside it",
		       c->chain, (unsigned long long)off);
		return 0;
	}
	if (comp == 0) {
		carve_done_add(c, off + hdr, len - hdr, true);
		return rom_member(c, img + hdr, (size_t)(len - hdr), off, "EFI", true) < 0 ? -1 : 0;
	}
	if (comp != 1 ||
	    (uefi_efi(img + hdr, (size_t)(len - hdr), false, UEFI_DECOMP_MAX, &pe, &pe_len, &err) != UEFI_DECOMP_OK &&
	     uefi_efi(img + hdr, (size_t)(len - hdr), true, UEFI_DECOMP_MAX, &pe, &pe_len, &err) != UEFI_DECOMP_OK)) {
		carve_reason(c, FW_VERDICT_UNSCANNABLE, "EFI image of option ROM %s at 0x%llx cannot be opened: %s", c->chain,
		       (unsigned long long)off, comp != 1 ? "unknown compression type" : fw_err_msg(&err));
		return 0;
	}
	carve_done_add(c, off + hdr, len - hdr, true);
	rc = rom_member(c, pe, pe_len, off, "EFI", true);
	free(pe);
	return rc < 0 ? -1 : 0;
}

static int rom_ipxe_blocks(struct carve *c, uint64_t off, uint64_t len)
{
	for (uint64_t i = off; i + 13 <= off + len; i += 4) {
		uint32_t l = carve_rd32(c->p + i), crc;
		uint8_t *out;
		size_t out_len;
		char why[160];
		int rc;

		if (c->p[i + 4] != 0 || l < 9 || l > off + len - i - 4)
			continue;
		crc = carve_rd32(c->p + i + l);
		if (~lzma_crc32(c->p + i + 4, l - 4, 0) != crc)
			continue;
		if (ipxe_unpack(c->p + i + 4, l - 4, c->w != NULL ? IPXE_OUT_MAX : c->budget, &out, &out_len, why,
				sizeof(why)) != 0) {
			carve_reason(c, FW_VERDICT_UNSCANNABLE, "iPXE block of option ROM %s at 0x%llx cannot be opened: %s",
			       c->chain, (unsigned long long)i, why);
			carve_done_add(c, i, 4 + (uint64_t)l, false);
		} else {
			ipxe_unfilter(out, out_len);
			carve_done_add(c, i, 4 + (uint64_t)l, true);
			rc = rom_member(c, out, out_len, i, "iPXE", false);
			free(out);
			if (rc < 0)
				return -1;
		}
		/* past the block, to the next 4-byte boundary of the image */
		i = off + ((i + 4 + l - off + 3) & ~(uint64_t)3) - 4;
	}
	return 0;
}

/* Returns 1 when the node is an option ROM (its images handled), 0 when
 * not, -1 when a limit halted the walk. */
int carve_optionrom(struct carve *c)
{
	uint64_t off = 0;
	unsigned n = 0;

	while (off + 0x1a <= c->size && n < ROM_IMAGES_MAX) {
		const uint8_t *img = c->p + off;
		uint16_t pcir;
		uint64_t len;
		uint8_t type, last;

		if (img[0] != 0x55 || img[1] != 0xaa)
			break;
		pcir = carve_rd16(img + 0x18);
		if (off + pcir + 0x18 > c->size || memcmp(img + pcir, "PCIR", 4) != 0)
			break;
		len = (uint64_t)carve_rd16(img + pcir + 0x10) * 512;
		type = img[pcir + 0x14];
		last = img[pcir + 0x15] & 0x80;
		if (len == 0 || len > c->size - off) {
			carve_reason(c, FW_VERDICT_UNSCANNABLE, "option ROM %s: image %u at 0x%llx overruns the file", c->chain,
			       n, (unsigned long long)off);
			return 1;
		}
		if (type == 3 && carve_rd32(img + 4) == 0x0ef1) {
			if (rom_efi_image(c, off, len) < 0)
				return -1;
		} else if (rom_ipxe_blocks(c, off, len) < 0) {
			return -1;
		}
		n++;
		off += len;
		if (last)
			break;
	}
	return n > 0 ? 1 : 0;
}
