/* Payloads inside a leaf: what vendors append to scripts and executables
 * (self-extracting shell packages, Dell Update Packages, HPE Smart
 * Components, archives appended to PE and ELF files) and streams buried in
 * unknown data. Known layouts are parsed exactly (makeself's header
 * variables with the sizes and digests it records; Dell's
 * #####Startofpackage#####/#####Startofarchive##### markers); elsewhere
 * every strict-header stream or archive start (gzip, bzip2, xz, lzma,
 * zstd, lz4, zip, 7z, rar, cab, tar, cpio) is a candidate, tried with
 * libarchive from its offset and walked as a child node (walk_slice).
 * Installers no library here reads (Inno Setup, InstallShield, Wise,
 * NSIS) are named and held. Then the coverage check: bytes no child
 * accounts for that look compressed or encrypted make the node
 * unscannable, with their offset and size. Bounded: candidates tried per
 * node, bytes mapped, bytes of header parsed. */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>

#include <archive.h>
#include <archive_entry.h>

#include <lzma.h>
#include <openssl/evp.h>

#include "scanner/analyze_int.h"
#include "scanner/uefi.h"
#include "scanner/walk_int.h"

/* Candidates tried per node (certain ones beyond this make it unscannable). */
#define CARVE_CANDIDATES_MAX 64
/* Opened or known ranges remembered per node. */
#define CARVE_RANGES_MAX 256
/* How much of a script's head is read for makeself and Dell markers. */
#define HEAD_MAX (256 * 1024)
/* Coverage: 4 KiB blocks at or above this many bits per byte, in a run of
 * at least COVER_RUN_MIN bytes, are compressed or encrypted data. */
#define COVER_BLOCK 4096
#define COVER_BITS 7.5
#define COVER_RUN_MIN (16 * 1024)

struct range {
	uint64_t off, len;
	bool opened;             /* a payload that opened; else a known part, or one refused with a reason */
};

struct carve {
	struct walk *w;          /* NULL when probing for the analyzer */
	uint64_t budget;         /* probing: decoded bytes allowed */
	int fd;
	const uint8_t *p;        /* the node's bytes, mapped */
	uint64_t size;
	const char *chain;
	unsigned depth;
	json_t *node;
	uint64_t region;         /* where payloads may start: 0, or a PE/ELF overlay's start */
	struct range done[CARVE_RANGES_MAX];  /* opened payloads and known parts */
	size_t n_done;
	unsigned tried, strong_over;
	unsigned refused, refused_unreported;  /* certain candidates that did not open */
	/* Probable candidates that did not open: named by the coverage
	 * check when their bytes look compressed. */
	struct failed {
		uint64_t off;
		const char *kind;
		char why[160];
	} failed[16];
	size_t n_failed;
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void reason(struct carve *c, enum fw_verdict v, const char *fmt, ...) FW_PRINTF(3, 4);

/* A finding about the node (nothing when probing). */
static void reason(struct carve *c, enum fw_verdict v, const char *fmt, ...)
{
	char msg[FW_ERR_MSG_MAX];
	va_list ap;

	if (c->w == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	scan_report_add(&c->w->rep, c->node, v, "%s", msg);
}

static bool halted(const struct carve *c)
{
	return c->w != NULL && c->w->halted;
}

static void done_add(struct carve *c, uint64_t off, uint64_t len, bool opened)
{
	if (c->n_done < CARVE_RANGES_MAX && len > 0)
		c->done[c->n_done++] = (struct range){ off, len, opened };
}

/* The end of the first accounted range that holds off or starts after
 * it, and its start; UINT64_MAX when none. */
static uint64_t done_next(const struct carve *c, uint64_t off, uint64_t *end)
{
	uint64_t best = UINT64_MAX;

	*end = UINT64_MAX;
	for (size_t i = 0; i < c->n_done; i++) {
		uint64_t e = c->done[i].off + c->done[i].len;

		if (e > off && c->done[i].off < best) {
			best = c->done[i].off;
			*end = e;
		}
	}
	return best;
}

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
	pe = rd32(p + 0x3c);
	if ((uint64_t)pe + 24 > n || memcmp(p + pe, "PE\0\0", 4) != 0)
		return 0;
	nsec = rd16(p + pe + 6);
	opt_len = rd16(p + pe + 20);
	if ((uint64_t)pe + 24 + opt_len + (uint64_t)nsec * 40 > n)
		return 0;
	opt = p + pe + 24;
	magic = opt_len >= 2 ? rd16(opt) : 0;
	end = pe + 24 + opt_len + nsec * 40;
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *sh = p + pe + 24 + opt_len + i * 40;
		uint64_t e = (uint64_t)rd32(sh + 20) + rd32(sh + 16);

		if (rd32(sh + 16) != 0 && e > end && e <= n)
			end = (uint32_t)e;
	}
	/* IMAGE_DIRECTORY_ENTRY_SECURITY: a file offset, not an RVA. */
	{
		uint32_t dd = magic == 0x20b ? 112 : 96;

		if (opt_len >= dd + 5 * 8) {
			uint32_t off = rd32(opt + dd + 4 * 8), len = rd32(opt + dd + 4 * 8 + 4);

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
	phoff = is64 ? rd64(p + 32) : rd32(p + 28);
	shoff = is64 ? rd64(p + 40) : rd32(p + 32);
	phent = rd16(p + (is64 ? 54 : 42));
	phnum = rd16(p + (is64 ? 56 : 44));
	shent = rd16(p + (is64 ? 58 : 46));
	shnum = rd16(p + (is64 ? 60 : 48));
	end = is64 ? 64 : 52;
	if (phoff < n && phent >= (is64 ? 56u : 32u) && phoff + (uint64_t)phnum * phent <= n) {
		if (phoff + (uint64_t)phnum * phent > end)
			end = phoff + (uint64_t)phnum * phent;
		for (unsigned i = 0; i < phnum; i++) {
			const uint8_t *ph = p + phoff + (uint64_t)i * phent;
			uint64_t o = is64 ? rd64(ph + 8) : rd32(ph + 4), sz = is64 ? rd64(ph + 32) : rd32(ph + 16);

			if (o <= n && sz <= n - o && o + sz > end)
				end = o + sz;
		}
	}
	if (shoff < n && shent >= (is64 ? 64u : 40u) && shoff + (uint64_t)shnum * shent <= n) {
		if (shoff + (uint64_t)shnum * shent > end)
			end = shoff + (uint64_t)shnum * shent;
		for (unsigned i = 0; i < shnum; i++) {
			const uint8_t *sh = p + shoff + (uint64_t)i * shent;
			uint32_t type = rd32(sh + 4);
			uint64_t o = is64 ? rd64(sh + 24) : rd32(sh + 16), sz = is64 ? rd64(sh + 32) : rd32(sh + 20);

			if (type != 8 /* SHT_NOBITS */ && o <= n && sz <= n - o && o + sz > end)
				end = o + sz;
		}
	}
	return end;
}

/* ------------------------------------------------------------ candidates */

/* CERTAIN: a header this strict (a checksum, a long magic and fields
 * that must agree) is no accident: when libarchive cannot read it, that
 * is the reason. PROBABLE: a four-byte magic and a few bits, which random
 * bytes of a large file can hold: a failure is remembered, and it is the
 * coverage check (the bytes look compressed) that decides. */
enum strength { PROBABLE, CERTAIN };

struct magic {
	const char *kind;
	const char *what;         /* in reasons: "xz stream" */
	enum strength strength;
	/* True when the bytes at p (avail of them) start one; *len the
	 * extent its header declares, 0 when only decoding tells. */
	bool (*check)(const uint8_t *p, uint64_t avail, uint64_t *len);
};

static bool m_gzip(const uint8_t *p, uint64_t n, uint64_t *len)
{
	(void)len;
	return n >= 18 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && (p[3] & 0xe0) == 0 &&
	       (p[8] == 0 || p[8] == 2 || p[8] == 4) && (p[9] <= 13 || p[9] == 255);
}

static bool m_bzip2(const uint8_t *p, uint64_t n, uint64_t *len)
{
	(void)len;
	return n >= 14 && memcmp(p, "BZh", 3) == 0 && p[3] >= '1' && p[3] <= '9' &&
	       (memcmp(p + 4, "\x31\x41\x59\x26\x53\x59", 6) == 0 || memcmp(p + 4, "\x17\x72\x45\x38\x50\x90", 6) == 0);
}

static bool m_xz(const uint8_t *p, uint64_t n, uint64_t *len)
{
	(void)len;
	return n >= 32 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0 && p[6] == 0 && (p[7] & 0xf0) == 0 &&
	       lzma_crc32(p + 6, 2, 0) == rd32(p + 8);
}

/* LZMA "alone": a properties byte, a dictionary size of the form 2^n or
 * 2^n + 2^(n-1), a size that is unknown or plausible. */
static bool m_lzma(const uint8_t *p, uint64_t n, uint64_t *len)
{
	uint32_t d;
	uint64_t sz;

	(void)len;
	if (n < 32 || p[0] > 224 || p[0] != 0x5d)
		return false;
	d = rd32(p + 1);
	sz = rd64(p + 5);
	if (d < 4096 || d > (3u << 29))
		return false;
	for (unsigned b = 12; b <= 30; b++)
		if (d == (1u << b) || d == (1u << b) + (1u << (b - 1)))
			return sz == UINT64_MAX || sz < (1ull << 40);
	return false;
}

static bool m_zstd(const uint8_t *p, uint64_t n, uint64_t *len)
{
	(void)len;
	return n >= 12 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0 && (p[4] & 0x08) == 0;
}

static bool m_lz4(const uint8_t *p, uint64_t n, uint64_t *len)
{
	(void)len;
	return n >= 16 && memcmp(p, "\x04\x22\x4d\x18", 4) == 0 && (p[4] >> 6) == 1 && (p[4] & 0x02) == 0 &&
	       (p[5] & 0x8f) == 0 && ((p[5] >> 4) & 7) >= 4;
}

static bool m_zip(const uint8_t *p, uint64_t n, uint64_t *len)
{
	uint16_t method, name;

	(void)len;
	if (n < 64 || memcmp(p, "PK\x03\x04", 4) != 0 || rd16(p + 4) > 100)
		return false;
	method = rd16(p + 8);
	name = rd16(p + 26);
	return (method == 0 || method == 8 || method == 9 || method == 12 || method == 14 || method == 93 ||
		method == 95 || method == 98 || method == 99) && name > 0 && name <= 1024;
}

static bool m_7z(const uint8_t *p, uint64_t n, uint64_t *len)
{
	uint64_t next_off, next_len;

	if (n < 32 || memcmp(p, "7z\xbc\xaf\x27\x1c", 6) != 0 || p[6] != 0 || lzma_crc32(p + 12, 20, 0) != rd32(p + 8))
		return false;
	next_off = rd64(p + 12);
	next_len = rd64(p + 20);
	if (next_off > n || next_len > n - next_off || 32 + next_off + next_len > n)
		*len = n; /* truncated: libarchive says so */
	else
		*len = 32 + next_off + next_len;
	return true;
}

static bool m_rar(const uint8_t *p, uint64_t n, uint64_t *len)
{
	(void)len;
	return n >= 20 && (memcmp(p, "Rar!\x1a\x07\x00", 7) == 0 || memcmp(p, "Rar!\x1a\x07\x01\x00", 8) == 0);
}

static bool m_cab(const uint8_t *p, uint64_t n, uint64_t *len)
{
	uint32_t total, files;

	if (n < 36 || memcmp(p, "MSCF\0\0\0\0", 8) != 0 || p[24] != 3 || p[25] != 1)
		return false;
	total = rd32(p + 8);
	files = rd32(p + 16);
	if (total < 36 || files >= total)
		return false;
	*len = total <= n ? total : n;
	return true;
}

static bool octal_field(const uint8_t *f, size_t n, uint64_t *v)
{
	size_t i = 0;
	bool any = false;

	*v = 0;
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, any = true)
		*v = *v * 8 + (uint64_t)(f[i] - '0');
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return false;
	return any;
}

/* A tar header: "ustar" at 257 and a checksum that adds up. */
static bool m_tar(const uint8_t *p, uint64_t n, uint64_t *len)
{
	uint64_t want, sum = 0;

	(void)len;
	if (n < 1024 || memcmp(p + 257, "ustar", 5) != 0 || !octal_field(p + 148, 8, &want))
		return false;
	for (unsigned i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : p[i];
	return sum == want;
}

static bool m_cpio(const uint8_t *p, uint64_t n, uint64_t *len)
{
	(void)len;
	if (n < 110 || memcmp(p, "07070", 5) != 0)
		return false;
	if (p[5] == '1' || p[5] == '2') {
		for (unsigned i = 6; i < 110; i++)
			if (!isxdigit(p[i]))
				return false;
		return true;
	}
	if (p[5] == '7') {
		for (unsigned i = 6; i < 76; i++)
			if (p[i] < '0' || p[i] > '7')
				return false;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------ stream extents
 *
 * libarchive's xz and zstd readers take whatever follows a stream for the
 * next one and fail on it; these walk a stream's own structure (no
 * decoding) to find where it ends. 0 when the structure does not hold. */

/* xz: the first footer ("YZ") whose CRC, flags and index agree. */
static uint64_t xz_extent(const uint8_t *p, uint64_t n)
{
	for (uint64_t from = 12 + 10; from + 2 <= n;) {
		const uint8_t *q = memmem(p + from, n - from, "YZ", 2);
		uint64_t f, back, idx;

		if (q == NULL)
			return 0;
		f = (uint64_t)(q - p) - 10;
		from = (uint64_t)(q - p) + 1;
		if (lzma_crc32(p + f + 4, 6, 0) != rd32(p + f) || memcmp(p + f + 8, p + 6, 2) != 0)
			continue;
		back = ((uint64_t)rd32(p + f + 4) + 1) * 4;
		if (back > f - 12 || back < 8)
			continue;
		idx = f - back;
		if (p[idx] != 0 || lzma_crc32(p + idx, (size_t)back - 4, 0) != rd32(p + idx + back - 4))
			continue;
		return f + 12;
	}
	return 0;
}

/* zstd: the frame header, then each block's header to the last one. */
static uint64_t zstd_extent(const uint8_t *p, uint64_t n)
{
	static const unsigned did_len[4] = { 0, 1, 2, 4 };
	uint8_t fhd = p[4];
	unsigned fcs = fhd >> 6, single = (fhd >> 5) & 1, sum = (fhd >> 2) & 1;
	uint64_t off = 5 + (single ? 0 : 1) + did_len[fhd & 3] + (fcs == 0 ? single : fcs == 1 ? 2 : fcs == 2 ? 4 : 8);

	for (unsigned blocks = 0; off + 3 <= n && blocks < (1u << 24); blocks++) {
		uint32_t h = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16;
		unsigned type = (h >> 1) & 3;
		uint64_t size = type == 1 ? 1 : h >> 3;

		if (type == 3)
			return 0;
		off += 3 + size;
		if (off > n)
			return 0;
		if (h & 1)
			return off + (sum ? 4 : 0) <= n ? off + (sum ? 4 : 0) : 0;
	}
	return 0;
}

/* LZ4 frame: the header, each block's size to the end mark. */
static uint64_t lz4_extent(const uint8_t *p, uint64_t n)
{
	uint8_t flg = p[4];
	uint64_t off = 4 + 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0) + 1;

	for (unsigned blocks = 0; off + 4 <= n && blocks < (1u << 24); blocks++) {
		uint32_t size = rd32(p + off) & 0x7fffffffu;

		off += 4;
		if (size == 0)
			return off + ((flg & 0x04) ? 4 : 0) <= n ? off + ((flg & 0x04) ? 4 : 0) : 0;
		off += size + ((flg & 0x10) ? 4 : 0);
		if (off > n)
			return 0;
	}
	return 0;
}

static bool m_xz_ext(const uint8_t *p, uint64_t n, uint64_t *len)
{
	if (!m_xz(p, n, len))
		return false;
	*len = xz_extent(p, n);
	return true;
}

static bool m_zstd_ext(const uint8_t *p, uint64_t n, uint64_t *len)
{
	if (!m_zstd(p, n, len))
		return false;
	*len = zstd_extent(p, n);
	return true;
}

static bool m_lz4_ext(const uint8_t *p, uint64_t n, uint64_t *len)
{
	if (!m_lz4(p, n, len))
		return false;
	*len = lz4_extent(p, n);
	return true;
}

static const struct magic magics[] = {
	{ "gzip", "gzip stream", PROBABLE, m_gzip },
	{ "bzip2", "bzip2 stream", CERTAIN, m_bzip2 },
	{ "xz", "xz stream", CERTAIN, m_xz_ext },
	{ "lzma", "LZMA stream", PROBABLE, m_lzma },
	{ "zstd", "zstd frame", PROBABLE, m_zstd_ext },
	{ "lz4", "LZ4 frame", PROBABLE, m_lz4_ext },
	{ "zip", "zip archive", CERTAIN, m_zip },
	{ "7z", "7z archive", CERTAIN, m_7z },
	{ "rar", "RAR archive", CERTAIN, m_rar },
	{ "cab", "cabinet", CERTAIN, m_cab },
	{ "tar", "tar archive", CERTAIN, m_tar },
	{ "cpio", "cpio archive", CERTAIN, m_cpio },
};

/* The magics a byte may start, for the scan's fast path (tar, whose
 * magic is 257 bytes in, is looked for by its "ustar"). */
static const struct magic *by_first[256][2];
static bool interesting[256];
/* c * log2(c) for the coverage check's 4 KiB blocks. */
static double clog_tab[COVER_BLOCK + 1];

static void tables_init(void)
{
	static const struct { uint8_t first; const char *kind; } firsts[] = {
		{ 0x1f, "gzip" }, { 'B', "bzip2" }, { 0xfd, "xz" }, { 0x5d, "lzma" }, { 0x28, "zstd" }, { 0x04, "lz4" },
		{ 'P', "zip" }, { '7', "7z" }, { 'R', "rar" }, { 'M', "cab" }, { '0', "cpio" },
	};

	for (size_t i = 0; i < FW_ARRAY_LEN(firsts); i++)
		for (size_t k = 0; k < FW_ARRAY_LEN(magics); k++)
			if (strcmp(magics[k].kind, firsts[i].kind) == 0) {
				const struct magic **slot = by_first[firsts[i].first];

				slot[slot[0] == NULL ? 0 : 1] = &magics[k];
				interesting[firsts[i].first] = true;
			}
	interesting['u'] = true;
	for (size_t c = 1; c <= COVER_BLOCK; c++)
		clog_tab[c] = (double)c * an_log2((double)c);
}

/* Shannon bits per byte of one 4 KiB block. */
static double block_bits(const uint8_t *p)
{
	uint32_t cnt[256] = { 0 };
	double sum = 0.0;

	for (size_t i = 0; i < COVER_BLOCK; i++)
		cnt[p[i]]++;
	for (int i = 0; i < 256; i++)
		sum += clog_tab[cnt[i]];
	return 12.0 - sum / COVER_BLOCK;
}

static const char *kind_what(const char *kind)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(magics); i++)
		if (strcmp(magics[i].kind, kind) == 0)
			return magics[i].what;
	return kind;
}

static void human(uint64_t n, char *out, size_t len)
{
	if (n >= 10u * 1024 * 1024)
		snprintf(out, len, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else if (n >= 10u * 1024)
		snprintf(out, len, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(out, len, "%llu bytes", (unsigned long long)n);
}

/* The analyzer's side: whether libarchive reads a stream at off, and how
 * many bytes it takes, reading (not walking) at most c->budget decoded
 * bytes. 1 when it opens, 0 when not. */
static int probe_slice(struct carve *c, uint64_t off, uint64_t len, uint64_t *consumed, char *why, size_t why_len)
{
	struct archive *a = walk_reader_new();
	struct archive_entry *e;
	uint8_t buf[16384];
	int r, rc = 0;

	*consumed = 0;
	why[0] = '\0';
	if (a == NULL)
		return 0;
	r = archive_read_open_memory(a, c->p + off, (size_t)len);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(a, &e);
	if ((r != ARCHIVE_OK && r != ARCHIVE_WARN) ||
	    (archive_format(a) == ARCHIVE_FORMAT_RAW && archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE)) {
		snprintf(why, why_len, "%s",
			 archive_error_string(a) != NULL ? archive_error_string(a) : "libarchive reads no header there");
		goto out;
	}
	rc = 1;
	for (; r == ARCHIVE_OK || r == ARCHIVE_WARN; r = archive_read_next_header(a, &e)) {
		la_ssize_t n;

		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
			if ((uint64_t)archive_filter_bytes(a, 0) > c->budget)
				goto done;
		if (n < 0)
			break;
	}
done:
	*consumed = (uint64_t)archive_filter_bytes(a, -1);
	if (*consumed > len || *consumed == 0)
		*consumed = len;
out:
	archive_read_free(a);
	return rc;
}

/* Tries one payload at off (len bytes at most). Returns 1 opened, 0 not,
 * -1 halted. A certain candidate (or must: a known layout's payload) that
 * libarchive cannot read is a reason; a probable one is remembered. */
static int try_payload(struct carve *c, uint64_t off, uint64_t len, const char *kind, bool strong, bool must)
{
	char why[512], size[32];
	uint64_t consumed = 0;
	int r;

	c->tried++;
	if (c->w != NULL)
		r = walk_slice(c->w, c->fd, off, len, c->chain, c->depth, kind, &consumed, why, sizeof(why));
	else
		r = probe_slice(c, off, len, &consumed, why, sizeof(why));
	if (r < 0)
		return -1;
	if (r > 0) {
		done_add(c, off, consumed > 0 ? consumed : len, true);
		return 1;
	}
	if (!strong && !must) {
		if (c->n_failed < FW_ARRAY_LEN(c->failed)) {
			struct failed *f = &c->failed[c->n_failed++];

			f->off = off;
			f->kind = kind;
			snprintf(f->why, sizeof(f->why), "%.150s", why);
		}
		return 0;
	}
	done_add(c, off, len, false);
	if (c->refused++ >= 4) {
		/* four named per node; the rest counted */
		c->refused_unreported++;
		return 0;
	}
	/* The node is held for it; what follows it is not searched (its
	 * extent is unknown when it does not open). */
	human(len, size, sizeof(size));
	reason(c, FW_VERDICT_UNSCANNABLE, "%s at 0x%llx (%s) in %s could not be opened: %s", kind_what(kind),
	       (unsigned long long)off, size, c->chain, why);
	return 0;
}

/* ------------------------------------------------------------ known layouts */

/* The value of NAME="..." (or NAME=...) at the start of a line in the
 * script head; false when absent. */
static bool shell_var(const uint8_t *h, size_t n, const char *name, char *out, size_t out_len)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl + 1 < n; i++) {
		size_t j, o = 0;
		bool quoted;

		if ((i > 0 && h[i - 1] != '\n') || memcmp(h + i, name, nl) != 0 || h[i + nl] != '=')
			continue;
		j = i + nl + 1;
		quoted = j < n && h[j] == '"';
		if (quoted)
			j++;
		while (j < n && h[j] != '\n' && (quoted ? h[j] != '"' : h[j] != ' ' && h[j] != ';') && o + 1 < out_len)
			out[o++] = (char)h[j++];
		out[o] = '\0';
		return true;
	}
	return false;
}

/* The POSIX cksum CRC (as makeself records it in CRCsum): CRC-32 with
 * the polynomial 0x04C11DB7, most significant bit first, the length
 * appended, table-driven. */
static uint32_t cksum_tab[256];

static void cksum_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t crc = i << 24;

		for (int k = 0; k < 8; k++)
			crc = crc & 0x80000000u ? crc << 1 ^ 0x04c11db7u : crc << 1;
		cksum_tab[i] = crc;
	}
}

static uint32_t posix_cksum(const uint8_t *p, uint64_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	uint32_t crc = 0;

	pthread_once(&once, cksum_init);
	for (uint64_t i = 0; i < n; i++)
		crc = crc << 8 ^ cksum_tab[(crc >> 24 ^ p[i]) & 0xff];
	for (uint64_t len = n; len > 0; len >>= 8)
		crc = crc << 8 ^ cksum_tab[(crc >> 24 ^ (len & 0xff)) & 0xff];
	return ~crc;
}

static void hex_digest(const EVP_MD *md, const uint8_t *p, uint64_t n, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;

	out[0] = '\0';
	if (EVP_Digest(p, (size_t)n, d, &dl, md, NULL) != 1)
		return;
	for (unsigned i = 0; i < dl; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The k-th space-separated word of s into out; false past the last. */
static bool word(const char *s, unsigned k, char *out, size_t out_len)
{
	for (unsigned i = 0;; i++) {
		size_t n;

		s += strspn(s, " ");
		if (*s == '\0')
			return false;
		n = strcspn(s, " ");
		if (i == k) {
			snprintf(out, out_len, "%.*s", (int)(n < out_len ? n : out_len - 1), s);
			return true;
		}
		s += n;
	}
}

static bool all_zero_digits(const char *s)
{
	return s[0] != '\0' && strspn(s, "0") == strlen(s);
}

/* makeself (makeself.io): the archives start after the header's first
 * `skip` lines (older versions: `head -n N "$0"`), their sizes in
 * filesizes, their MD5, SHA-256 and cksum CRC in MD5, SHA and CRCsum. */
static int carve_makeself(struct carve *c, const uint8_t *h, size_t hn)
{
	char v[4096], sizes[1024], md5s[1024] = "", shas[2048] = "", crcs[512] = "", w1[160], w2[160];
	unsigned long long skip = 0;
	uint64_t off = 0;
	const char *q;

	if (memmem(h, hn, "Makeself", 8) == NULL || !shell_var(h, hn, "filesizes", sizes, sizeof(sizes)))
		return 0;
	if (shell_var(h, hn, "skip", v, sizeof(v)))
		skip = strtoull(v, NULL, 10);
	else if ((q = memmem(h, hn, "head -n ", 8)) != NULL) {
		/* the digits copied first: the head is not a string */
		size_t at = (size_t)(q - (const char *)h) + 8, k = 0;

		while (at + k < hn && k < 12 && isdigit(h[at + k])) {
			v[k] = (char)h[at + k];
			k++;
		}
		v[k] = '\0';
		skip = strtoull(v, NULL, 10);
	}
	/* A header whose values are not numbers is makeself's own template
	 * (makeself-header.sh, "$SKIP"), or not makeself at all: the generic
	 * search applies. */
	if (skip == 0 || skip > 100000 || sizes[0] < '0' || sizes[0] > '9')
		return 0;
	for (uint64_t lines = 0; off < c->size && lines < skip; off++)
		if (c->p[off] == '\n')
			lines++;
	shell_var(h, hn, "MD5", md5s, sizeof(md5s));
	shell_var(h, hn, "SHA", shas, sizeof(shas));
	shell_var(h, hn, "CRCsum", crcs, sizeof(crcs));
	done_add(c, 0, off, false);
	for (unsigned k = 0; word(sizes, k, v, sizeof(v)); k++) {
		char *end;
		unsigned long long len = strtoull(v, &end, 10);
		char got[EVP_MAX_MD_SIZE * 2 + 1];

		if (*end != '\0' || len == 0 || len > c->size - off) {
			reason(c, FW_VERDICT_UNSCANNABLE,
					"makeself package %s: archive %u of %s bytes at 0x%llx overruns the file (%llu bytes)",
					c->chain, k + 1, v, (unsigned long long)off, (unsigned long long)c->size);
			return 1;
		}
		if (c->w != NULL && word(md5s, k, w1, sizeof(w1)) && !all_zero_digits(w1)) {
			hex_digest(EVP_md5(), c->p + off, len, got);
			if (strcasecmp(w1, got) != 0)
				reason(c, FW_VERDICT_SUSPICIOUS,
						"makeself package %s: its header records MD5 %s for archive %u at 0x%llx, "
						"the bytes have %s", c->chain, w1, k + 1, (unsigned long long)off, got);
		}
		if (c->w != NULL && word(shas, k, w2, sizeof(w2)) && !all_zero_digits(w2)) {
			hex_digest(EVP_sha256(), c->p + off, len, got);
			if (strcasecmp(w2, got) != 0)
				reason(c, FW_VERDICT_SUSPICIOUS,
						"makeself package %s: its header records SHA-256 %s for archive %u at "
						"0x%llx, the bytes have %s", c->chain, w2, k + 1, (unsigned long long)off, got);
		}
		if (c->w != NULL && word(crcs, k, w1, sizeof(w1)) && !all_zero_digits(w1)) {
			unsigned long long want = strtoull(w1, NULL, 10);
			uint32_t have = posix_cksum(c->p + off, len);

			if (want != have)
				reason(c, FW_VERDICT_SUSPICIOUS,
						"makeself package %s: its header records CRC %s for archive %u at 0x%llx, "
						"the bytes have %u", c->chain, w1, k + 1, (unsigned long long)off, have);
		}
		if (try_payload(c, off, len, "makeself", true, true) < 0)
			return -1;
		/* The archive is the recorded extent, opened or refused. */
		done_add(c, off, len, false);
		off += len;
	}
	return 1;
}

/* A line that is exactly the marker, at a line start; its end (after the
 * newline) into *after. */
static bool find_marker(const uint8_t *p, uint64_t from, uint64_t n, const char *marker, uint64_t *at,
			uint64_t *after)
{
	size_t ml = strlen(marker);

	for (uint64_t i = from; i + ml <= n;) {
		const uint8_t *q = memmem(p + i, n - i, marker, ml);
		uint64_t j;

		if (q == NULL)
			return false;
		j = (uint64_t)(q - p);
		if ((j == 0 || p[j - 1] == '\n') && (j + ml == n || p[j + ml] == '\n' || p[j + ml] == '\r')) {
			uint64_t e = j + ml;

			if (e < n && p[e] == '\r')
				e++;
			if (e < n && p[e] == '\n')
				e++;
			*at = j;
			*after = e;
			return true;
		}
		i = j + 1;
	}
	return false;
}

/* A Dell Update Package for Linux: script, #####Startofpackage#####,
 * package.xml (often UTF-16LE), #####Startofarchive#####, then the
 * payload (a gzip-compressed tar). */
static int carve_dell(struct carve *c)
{
	uint64_t pkg_at, pkg_after, arc_at, arc_after;
	const struct node_hint hint = { .offset = -1 };
	char name[2048];

	if (!find_marker(c->p, 0, c->size < HEAD_MAX * 64 ? c->size : HEAD_MAX * 64, "#####Startofpackage#####",
			 &pkg_at, &pkg_after))
		return 0;
	if (!find_marker(c->p, pkg_after, c->size, "#####Startofarchive#####", &arc_at, &arc_after)) {
		reason(c, FW_VERDICT_UNSCANNABLE,
				"Dell Update Package %s: #####Startofpackage##### without #####Startofarchive#####",
				c->chain);
		return 1;
	}
	done_add(c, 0, arc_after, false);
	snprintf(name, sizeof(name), "%s!package.xml", c->chain);
	if (c->w != NULL) {
		struct node_hint h = hint;

		h.offset = (int64_t)pkg_after;
		if (walk_bytes(c->w, c->p + pkg_after, (size_t)(arc_at - pkg_after), name, c->depth + 1, &h) < 0)
			return -1;
	}
	if (arc_after >= c->size) {
		reason(c, FW_VERDICT_UNSCANNABLE,
				"Dell Update Package %s: nothing follows #####Startofarchive#####", c->chain);
		return 1;
	}
	return try_payload(c, arc_after, c->size - arc_after, "dup", true, true) < 0 ? -1 : 1;
}

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
	uint16_t hdr = rd16(img + 0x16), comp = rd16(img + 0x0c);
	uint8_t *pe = NULL;
	size_t pe_len = 0;
	struct fw_err err;
	int rc;

	fw_err_clear(&err);
	if (hdr < 0x1a || hdr >= len) {
		reason(c, FW_VERDICT_UNSCANNABLE, "EFI image of option ROM %s at 0x%llx: its driver lies outside it",
		       c->chain, (unsigned long long)off);
		return 0;
	}
	if (comp == 0) {
		done_add(c, off + hdr, len - hdr, true);
		return rom_member(c, img + hdr, (size_t)(len - hdr), off, "EFI", true) < 0 ? -1 : 0;
	}
	if (comp != 1 ||
	    (uefi_efi(img + hdr, (size_t)(len - hdr), false, UEFI_DECOMP_MAX, &pe, &pe_len, &err) != UEFI_DECOMP_OK &&
	     uefi_efi(img + hdr, (size_t)(len - hdr), true, UEFI_DECOMP_MAX, &pe, &pe_len, &err) != UEFI_DECOMP_OK)) {
		reason(c, FW_VERDICT_UNSCANNABLE, "EFI image of option ROM %s at 0x%llx cannot be opened: %s", c->chain,
		       (unsigned long long)off, comp != 1 ? "unknown compression type" : fw_err_msg(&err));
		return 0;
	}
	done_add(c, off + hdr, len - hdr, true);
	rc = rom_member(c, pe, pe_len, off, "EFI", true);
	free(pe);
	return rc < 0 ? -1 : 0;
}

static int rom_ipxe_blocks(struct carve *c, uint64_t off, uint64_t len)
{
	for (uint64_t i = off; i + 13 <= off + len; i += 4) {
		uint32_t l = rd32(c->p + i), crc;
		uint8_t *out;
		size_t out_len;
		char why[160];
		int rc;

		if (c->p[i + 4] != 0 || l < 9 || l > off + len - i - 4)
			continue;
		crc = rd32(c->p + i + l);
		if (~lzma_crc32(c->p + i + 4, l - 4, 0) != crc)
			continue;
		if (ipxe_unpack(c->p + i + 4, l - 4, c->w != NULL ? IPXE_OUT_MAX : c->budget, &out, &out_len, why,
				sizeof(why)) != 0) {
			reason(c, FW_VERDICT_UNSCANNABLE, "iPXE block of option ROM %s at 0x%llx cannot be opened: %s",
			       c->chain, (unsigned long long)i, why);
			done_add(c, i, 4 + (uint64_t)l, false);
		} else {
			ipxe_unfilter(out, out_len);
			done_add(c, i, 4 + (uint64_t)l, true);
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
static int carve_optionrom(struct carve *c)
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
		pcir = rd16(img + 0x18);
		if (off + pcir + 0x18 > c->size || memcmp(img + pcir, "PCIR", 4) != 0)
			break;
		len = (uint64_t)rd16(img + pcir + 0x10) * 512;
		type = img[pcir + 0x14];
		last = img[pcir + 0x15] & 0x80;
		if (len == 0 || len > c->size - off) {
			reason(c, FW_VERDICT_UNSCANNABLE, "option ROM %s: image %u at 0x%llx overruns the file", c->chain,
			       n, (unsigned long long)off);
			return 1;
		}
		if (type == 3 && rd32(img + 4) == 0x0ef1) {
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
	reason(c, FW_VERDICT_UNSCANNABLE,
			"%s installer %s (its data at 0x%llx) cannot be opened: no library here reads %s installers",
			kind, c->chain, (unsigned long long)(at != 0 ? at : overlay), kind);
	return true;
}

/* ------------------------------------------------------------ generic carving */

static int carve_generic(struct carve *c)
{
	uint64_t skip_end, skip_at = done_next(c, 0, &skip_end);

	for (uint64_t i = c->region > 0 ? c->region : 1; i < c->size && !halted(c); i++) {
		uint64_t avail, len = 0, stop = skip_at < c->size ? skip_at : c->size;
		unsigned before = c->tried;

		/* the fast path: bytes no magic starts with */
		while (i < stop && !interesting[c->p[i]])
			i++;
		if (i >= c->size)
			break;
		if (i >= skip_at) {
			/* inside an opened payload or a known part: past it */
			i = skip_end - 1;
			skip_at = done_next(c, skip_end, &skip_end);
			continue;
		}
		avail = c->size - i;
		/* tar's magic is 257 bytes into its header */
		if (c->p[i] == 'u' && i >= c->region + 257 && avail >= 5 && memcmp(c->p + i, "ustar", 5) == 0 &&
		    m_tar(c->p + i - 257, c->size - (i - 257), &len)) {
			uint64_t e;

			if (done_next(c, i - 257, &e) <= i - 257)
				continue;
			if (c->tried >= CARVE_CANDIDATES_MAX) {
				c->strong_over++;
				continue;
			}
			if (try_payload(c, i - 257, c->size - (i - 257), "tar", true, false) < 0)
				return -1;
		} else {
			for (size_t k = 0; k < 2 && by_first[c->p[i]][k] != NULL; k++) {
				const struct magic *m = by_first[c->p[i]][k];

				len = 0;
				if (!m->check(c->p + i, avail, &len))
					continue;
				if (c->tried >= CARVE_CANDIDATES_MAX) {
					if (m->strength == CERTAIN)
						c->strong_over++;
					break;
				}
				if (try_payload(c, i, len > 0 ? len : avail, m->kind, m->strength == CERTAIN, false) < 0)
					return -1;
				break;
			}
		}
		if (c->tried != before)
			skip_at = done_next(c, i + 1, &skip_end);
	}
	if (c->refused_unreported > 0)
		reason(c, FW_VERDICT_UNSCANNABLE, "%s: %u more stream or archive candidates could not be opened",
		       c->chain, c->refused_unreported);
	if (c->strong_over > 0)
		reason(c, FW_VERDICT_UNSCANNABLE, "%s holds more than %d embedded stream or archive candidates (%u more "
		       "not tried)", c->chain, CARVE_CANDIDATES_MAX, c->strong_over);
	return 0;
}

/* ------------------------------------------------------------ coverage */

static int range_cmp(const void *x, const void *y)
{
	const struct range *l = x, *r = y;

	return l->off < r->off ? -1 : l->off > r->off;
}

/* Bytes from the region's start that no child accounts for and that look
 * compressed or encrypted: a run of 4 KiB blocks at or above COVER_BITS
 * of at least COVER_RUN_MIN bytes is a reason. */
/* One run of compressed-looking bytes: named after a candidate that
 * failed to open there, if one did. */
static void cover_report(struct carve *c, uint64_t at, uint64_t len)
{
	char size[32];

	human(len, size, sizeof(size));
	for (size_t i = 0; i < c->n_failed; i++) {
		const struct failed *f = &c->failed[i];

		if (f->off + COVER_BLOCK > at && f->off < at + len) {
			reason(c, FW_VERDICT_UNSCANNABLE, "%s at 0x%llx in %s (%s of compressed bytes) could not be "
			       "opened: %s", kind_what(f->kind), (unsigned long long)f->off, c->chain, size, f->why);
			return;
		}
	}
	reason(c, FW_VERDICT_UNSCANNABLE, "%s of compressed or encrypted bytes at 0x%llx in %s that no parser here "
	       "opens", size, (unsigned long long)at, c->chain);
}

/* Bytes from the region's start that no child accounts for and that look
 * compressed or encrypted: a run of 4 KiB blocks at or above COVER_BITS
 * of at least COVER_RUN_MIN bytes is a reason (four at most per node). */
static void coverage(struct carve *c)
{
	struct range r[CARVE_RANGES_MAX];
	size_t n = c->n_done, k = 0;
	uint64_t run_at = 0, run_len = 0, pos = c->region;
	unsigned found = 0;

	memcpy(r, c->done, n * sizeof(*r));
	qsort(r, n, sizeof(*r), range_cmp);
	while (pos + COVER_BLOCK <= c->size && found < 4) {
		while (k < n && r[k].off + r[k].len <= pos)
			k++;
		if (k < n && r[k].off < pos + COVER_BLOCK) {
			/* accounted for: the run ends, the scan goes past it */
			if (run_len >= COVER_RUN_MIN) {
				cover_report(c, run_at, run_len);
				found++;
			}
			run_len = 0;
			pos = r[k].off + r[k].len > pos ? r[k].off + r[k].len : pos + COVER_BLOCK;
			continue;
		}
		if (block_bits(c->p + pos) >= COVER_BITS) {
			if (run_len == 0)
				run_at = pos;
			run_len += COVER_BLOCK;
		} else {
			if (run_len >= COVER_RUN_MIN) {
				cover_report(c, run_at, run_len);
				found++;
			}
			run_len = 0;
		}
		pos += COVER_BLOCK;
	}
	if (run_len >= COVER_RUN_MIN && found < 4)
		cover_report(c, run_at, run_len);
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

static pthread_once_t magics_once = PTHREAD_ONCE_INIT;

/* Layouts, installers, candidates. Returns -1 when halted, 2 when an
 * installer holds the node (no coverage: it is held already), else 0. */
static int carve_run(struct carve *c, struct range *cert)
{
	uint64_t ov = pe_overlay(c->p, c->size, cert);
	bool exe = ov > 0;
	int r = 0;

	pthread_once(&magics_once, tables_init);
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
		done_add(c, cert->off, cert->len, false);
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
			if (m_7z(q, n - i, &len))
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
		cd_size = rd32(p + i + 12);
		cd_off = rd32(p + i + 16);
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
			uint64_t local = rd32(p + pos + 42);

			if (local < lowest)
				lowest = local;
			pos += 46 + (uint64_t)rd16(p + pos + 28) + rd16(p + pos + 30) + rd16(p + pos + 32);
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
		coverage(c);
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
