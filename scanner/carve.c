/* Payloads inside a leaf: what vendors append to scripts and executables
 * (self-extracting shell packages, Dell Update Packages, HPE Smart
 * Components, PCI option ROMs, archives appended to PE and ELF files) and
 * streams buried in unknown data. This file drives the search: the
 * executable's overlay (PE, ELF), installers no library here reads (Inno
 * Setup, InstallShield, Wise, NSIS: named and held), the known layouts
 * (carve_layouts.c, carve_optionrom.c), then every strict-header stream
 * or archive start (carve_candidates.c) tried from its offset
 * (carve_payload.c, walked as a child through walk_slice), then the
 * coverage check (carve_coverage.c). Bounded: candidates tried per node,
 * bytes mapped, bytes of header parsed. Must not judge what it opened:
 * the children are walked and scanned like any member. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "scanner/analyze_int.h"
#include "scanner/carve_int.h"

/* ------------------------------------------------------------ regions */

/* A PE's overlay: the bytes after its headers and last section, but for
 * an Authenticode certificate table at the end (a signature, not a
 * payload). 0 when p is no PE. */
static uint64_t pe_overlay(const uint8_t *p, uint64_t n, struct range *cert)
{
	uint32_t pe, opt_len, nsec, end;
	uint16_t magic;
	const uint8_t *opt;

	cert->len = 0;
	if (n < 0x40 || p[0] != 'M' || p[1] != 'Z')
		return 0;
	pe = carve_rd32(p + 0x3c);
	if ((uint64_t)pe + 24 > n || memcmp(p + pe, "PE\0\0", 4) != 0)
		return 0;
	nsec = carve_rd16(p + pe + 6);
	opt_len = carve_rd16(p + pe + 20);
	if ((uint64_t)pe + 24 + opt_len + (uint64_t)nsec * 40 > n)
		return 0;
	opt = p + pe + 24;
	magic = opt_len >= 2 ? carve_rd16(opt) : 0;
	end = pe + 24 + opt_len + nsec * 40;
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *sh = p + pe + 24 + opt_len + i * 40;
		uint64_t e = (uint64_t)carve_rd32(sh + 20) + carve_rd32(sh + 16);

		if (carve_rd32(sh + 16) != 0 && e > end && e <= n)
			end = (uint32_t)e;
	}
	/* IMAGE_DIRECTORY_ENTRY_SECURITY: a file offset, not an RVA. */
	{
		uint32_t dd = magic == 0x20b ? 112 : 96;

		if (opt_len >= dd + 5 * 8) {
			uint32_t off = carve_rd32(opt + dd + 4 * 8), len = carve_rd32(opt + dd + 4 * 8 + 4);

			if (len > 0 && (uint64_t)off + len <= n && off >= end)
				*cert = (struct range){ off, len, false };
		}
	}
	return end;
}

/* An ELF's overlay: after every section, segment and the header tables. */
static uint64_t elf_overlay(const uint8_t *p, uint64_t n)
{
	bool is64, le;
	uint64_t end, phoff, shoff;
	unsigned phnum, shnum, phent, shent;

	if (n < 52 || memcmp(p, "\x7f" "ELF", 4) != 0 || (p[4] != 1 && p[4] != 2) || p[5] != 1)
		return 0;
	is64 = p[4] == 2;
	le = true;
	(void)le;
	if (is64 && n < 64)
		return 0;
	phoff = is64 ? carve_rd64(p + 32) : carve_rd32(p + 28);
	shoff = is64 ? carve_rd64(p + 40) : carve_rd32(p + 32);
	phent = carve_rd16(p + (is64 ? 54 : 42));
	phnum = carve_rd16(p + (is64 ? 56 : 44));
	shent = carve_rd16(p + (is64 ? 58 : 46));
	shnum = carve_rd16(p + (is64 ? 60 : 48));
	end = is64 ? 64 : 52;
	if (phoff < n && phent >= (is64 ? 56u : 32u) && phoff + (uint64_t)phnum * phent <= n) {
		if (phoff + (uint64_t)phnum * phent > end)
			end = phoff + (uint64_t)phnum * phent;
		for (unsigned i = 0; i < phnum; i++) {
			const uint8_t *ph = p + phoff + (uint64_t)i * phent;
			uint64_t o = is64 ? carve_rd64(ph + 8) : carve_rd32(ph + 4), sz = is64 ? carve_rd64(ph + 32) : carve_rd32(ph + 16);

			if (o <= n && sz <= n - o && o + sz > end)
				end = o + sz;
		}
	}
	if (shoff < n && shent >= (is64 ? 64u : 40u) && shoff + (uint64_t)shnum * shent <= n) {
		if (shoff + (uint64_t)shnum * shent > end)
			end = shoff + (uint64_t)shnum * shent;
		for (unsigned i = 0; i < shnum; i++) {
			const uint8_t *sh = p + shoff + (uint64_t)i * shent;
			uint32_t type = carve_rd32(sh + 4);
			uint64_t o = is64 ? carve_rd64(sh + 24) : carve_rd32(sh + 16), sz = is64 ? carve_rd64(sh + 32) : carve_rd32(sh + 20);

			if (type != 8 /* SHT_NOBITS */ && o <= n && sz <= n - o && o + sz > end)
				end = o + sz;
		}
	}
	return end;
}

/* ------------------------------------------------------------ installers */

struct installer {
	const char *name;
	const char *marker;
	size_t len;
};

/* Markers of installers whose data no library here reads (libarchive
 * reads none of them): the installer is recognised and held. */
static const struct installer installers[] = {
	{ "Inno Setup", "Inno Setup Setup Data", 21 },
	{ "Inno Setup", "rDlPtS\xcd\xe6\xd7{\x0b*", 12 },
	{ "NSIS", "\xef\xbe\xad\xdeNullsoftInst", 16 },
	{ "InstallShield", "InstallShield", 13 },
	{ "InstallShield", "ISSetupStream", 13 },
	{ "Wise", "WiseMain", 8 },
	{ "Wise", "Wise Installation", 17 },
};

/* An installer in a PE's overlay (or Inno Setup's loader table near the
 * start): held, with its kind. */
static bool carve_installer(struct carve *c, uint64_t overlay)
{
	const char *kind = NULL;
	uint64_t at = 0;

	if (c->size > 0x40 && memmem(c->p, c->size < 0x400 ? c->size : 0x400, "rDlPtS\xcd\xe6\xd7{\x0b*", 12) != NULL)
		kind = "Inno Setup";
	for (size_t i = 0; kind == NULL && i < FW_ARRAY_LEN(installers); i++) {
		const uint8_t *q;

		if (overlay >= c->size)
			break;
		q = memmem(c->p + overlay, c->size - overlay, installers[i].marker, installers[i].len);
		if (q != NULL) {
			kind = installers[i].name;
			at = (uint64_t)(q - c->p);
		}
	}
	if (kind == NULL)
		return false;
	carve_reason(c, FW_VERDICT_UNSCANNABLE,
			"%s installer %s (its data at 0x%llx) cannot be opened: no library here reads %s installers",
			kind, c->chain, (unsigned long long)(at != 0 ? at : overlay), kind);
	return true;
}

/* ------------------------------------------------------------ generic carving */

static int carve_generic(struct carve *c)
{
	const struct carve_tables *t = carve_tables();
	uint64_t skip_end, skip_at = carve_done_next(c, 0, &skip_end);

	for (uint64_t i = c->region > 0 ? c->region : 1; i < c->size && !carve_halted(c); i++) {
		uint64_t avail, len = 0, stop = skip_at < c->size ? skip_at : c->size;
		unsigned before = c->tried;

		/* the fast path: bytes no magic starts with */
		while (i < stop && !t->interesting[c->p[i]])
			i++;
		if (i >= c->size)
			break;
		if (i >= skip_at) {
			/* inside an opened payload or a known part: past it */
			i = skip_end - 1;
			skip_at = carve_done_next(c, skip_end, &skip_end);
			continue;
		}
		avail = c->size - i;
		/* tar's magic is 257 bytes into its header */
		if (c->p[i] == 'u' && i >= c->region + 257 && avail >= 5 && memcmp(c->p + i, "ustar", 5) == 0 &&
		    carve_is_tar(c->p + i - 257, c->size - (i - 257), &len)) {
			uint64_t e;

			if (carve_done_next(c, i - 257, &e) <= i - 257)
				continue;
			if (c->tried >= CARVE_CANDIDATES_MAX) {
				c->strong_over++;
				continue;
			}
			if (carve_try_payload(c, i - 257, c->size - (i - 257), "tar", true, false) < 0)
				return -1;
		} else {
			for (size_t k = 0; k < 2 && t->by_first[c->p[i]][k] != NULL; k++) {
				const struct carve_magic *m = t->by_first[c->p[i]][k];

				len = 0;
				if (!m->check(c->p + i, avail, &len))
					continue;
				if (c->tried >= CARVE_CANDIDATES_MAX) {
					if (m->strength == CERTAIN)
						c->strong_over++;
					break;
				}
				if (carve_try_payload(c, i, len > 0 ? len : avail, m->kind, m->strength == CERTAIN, false) < 0)
					return -1;
				break;
			}
		}
		if (c->tried != before)
			skip_at = carve_done_next(c, i + 1, &skip_end);
	}
	if (c->refused_unreported > 0)
		carve_reason(c, FW_VERDICT_UNSCANNABLE, "%s: %u more stream or archive candidates could not be opened",
		       c->chain, c->refused_unreported);
	if (c->strong_over > 0)
		carve_reason(c, FW_VERDICT_UNSCANNABLE, "%s holds more than %d embedded stream or archive candidates (%u more "
		       "not tried)", c->chain, CARVE_CANDIDATES_MAX, c->strong_over);
	return 0;
}

/* ------------------------------------------------------------ entry points */

/* Types whose compression is their nature and whose contents other parsers
 * read: media (images, audio, video, fonts) and the documents ClamAV
 * parses itself (PDF, OLE2 and OOXML/ODF office files); and archives,
 * which the walk opened (a leaf of an archive type is already a reason). */
static bool exempt_mime(const char *mime)
{
	static const char *const prefixes[] = {
		"image/", "audio/", "video/", "font/", "application/pdf", "application/msword",
		"application/vnd.ms-", "application/vnd.openxmlformats", "application/vnd.oasis.opendocument",
		"application/x-font", "application/x-fwgate-carved",
	};

	for (size_t i = 0; i < FW_ARRAY_LEN(prefixes); i++)
		if (strncmp(mime, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return scan_mime_is_archive(mime);
}

/* Layouts, installers, candidates. Returns -1 when halted, 2 when an
 * installer holds the node (no coverage: it is held already), else 0. */
static int carve_run(struct carve *c, struct range *cert)
{
	uint64_t ov = pe_overlay(c->p, c->size, cert);
	bool exe = ov > 0;
	int r = 0;

	if (!exe) {
		ov = elf_overlay(c->p, c->size);
		exe = ov > 0;
	}
	c->region = exe ? ov : 0;
	if (exe && c->region >= c->size)
		return 0;
	if (exe && c->w != NULL && carve_installer(c, c->region))
		return 2;
	if (!exe) {
		r = carve_optionrom(c);
		if (r == 0)
			r = carve_makeself(c, c->p, c->size < HEAD_MAX ? (size_t)c->size : HEAD_MAX);
		if (r == 0)
			r = carve_dell(c);
		if (r < 0)
			return -1;
	}
	if (cert->len > 0)
		carve_done_add(c, cert->off, cert->len, false);
	return carve_generic(c);
}

/* Where the archive libarchive read as the whole file starts, when
 * something precedes it (an executable it is appended to); 0 when it
 * starts the file or cannot be told. */
static uint64_t archive_start(const uint8_t *p, uint64_t n, enum walk_archive kind)
{
	const uint8_t *q;

	if (kind == WALK_ARCHIVE_7Z) {
		for (uint64_t i = 0; i + 32 <= n; i++) {
			uint64_t len = 0;

			q = memmem(p + i, n - i, "7z\xbc\xaf\x27\x1c", 6);
			if (q == NULL)
				return 0;
			i = (uint64_t)(q - p);
			if (carve_is_7z(q, n - i, &len))
				return i;
		}
		return 0;
	}
	if (kind == WALK_ARCHIVE_RAR) {
		q = memmem(p, n, "Rar!\x1a\x07", 6);
		return q != NULL ? (uint64_t)(q - p) : 0;
	}
	/* zip: the end record, the central directory, the lowest local
	 * header any entry names (offsets relative to the zip's own start
	 * when it was appended as is, or to the file's when adjusted) */
	for (uint64_t i = n >= 22 ? n - 22 + 1 : 0; i-- > 0 && n - i <= 22 + 65535;) {
		uint64_t cd_size, cd_off, base, pos, lowest = UINT64_MAX;
		unsigned entries = 0;

		if (memcmp(p + i, "PK\x05\x06", 4) != 0)
			continue;
		cd_size = carve_rd32(p + i + 12);
		cd_off = carve_rd32(p + i + 16);
		if (cd_off == 0xffffffffu || cd_size + cd_off > i)
			return 0;
		base = i - cd_size - cd_off;
		if (memcmp(p + base + cd_off, "PK\x01\x02", 4) != 0) {
			base = 0;
			if (memcmp(p + cd_off, "PK\x01\x02", 4) != 0)
				return 0;
		}
		for (pos = base + cd_off; pos + 46 <= i && entries < 65536 && memcmp(p + pos, "PK\x01\x02", 4) == 0;
		     entries++) {
			uint64_t local = carve_rd32(p + pos + 42);

			if (local < lowest)
				lowest = local;
			pos += 46 + (uint64_t)carve_rd16(p + pos + 28) + carve_rd16(p + pos + 30) + carve_rd16(p + pos + 32);
		}
		return lowest != UINT64_MAX && base + lowest < n ? base + lowest : 0;
	}
	return 0;
}

/* The node's first limit bytes through carve_run and the coverage check. */
static void carve_bytes(struct walk *w, int fd, uint64_t size, uint64_t limit, const char *chain, unsigned depth,
			json_t *node, const char *mime)
{
	struct carve *c;
	struct range cert = { 0 };
	uint8_t *p;

	if (limit < 16 || w->halted || exempt_mime(mime))
		return;
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "cannot map %s to look for payloads: %s", chain,
				strerror(errno));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "out of memory at %s", chain);
		munmap(p, (size_t)size);
		return;
	}
	*c = (struct carve){ .w = w, .fd = fd, .p = p, .size = limit, .chain = chain, .depth = depth, .node = node };
	if (carve_run(c, &cert) == 0 && !w->halted)
		carve_coverage(c);
	free(c);
	munmap(p, (size_t)size);
}

void walk_carve(struct walk *w, int fd, uint64_t size, const char *chain, unsigned depth, json_t *node,
		const char *mime)
{
	carve_bytes(w, fd, size, size, chain, depth, node, mime);
}

void walk_carve_prefix(struct walk *w, int fd, uint64_t size, const char *chain, unsigned depth, json_t *node,
		       enum walk_archive kind)
{
	uint64_t start;
	uint8_t *p;

	if (size < 16 || w->halted)
		return;
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return;
	start = archive_start(p, size, kind);
	munmap(p, (size_t)size);
	if (start > 0)
		carve_bytes(w, fd, size, start, chain, depth, node, "application/octet-stream");
}

size_t carve_opened_ranges(const uint8_t *p, size_t len, const struct scan_limits *lim, struct analyze_range *out,
			   size_t max)
{
	struct carve *c;
	struct range cert = { 0 };
	size_t n = 0;

	if (len < 16)
		return 0;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return 0;
	*c = (struct carve){ .fd = -1, .p = p, .size = len, .chain = "", .budget = lim->max_total_bytes };
	if (carve_run(c, &cert) >= 0)
		for (size_t i = 0; i < c->n_done && n < max; i++)
			if (c->done[i].opened)
				out[n++] = (struct analyze_range){ c->done[i].off, c->done[i].len };
	free(c);
	return n;
}
