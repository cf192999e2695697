/* The candidates of the generic payload search: strict-header checks of
 * every stream and archive start libarchive reads (gzip, bzip2, xz, lzma,
 * zstd, lz4, zip, 7z, rar, cab, tar, cpio), the extents of xz, zstd and
 * lz4 streams from their own structure, and the first-byte index the
 * search runs on. Pure functions over bytes: must not read a file or
 * decide what a candidate means for the node. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <lzma.h>

#include "scanner/carve_int.h"

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
	       lzma_crc32(p + 6, 2, 0) == carve_rd32(p + 8);
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
	d = carve_rd32(p + 1);
	sz = carve_rd64(p + 5);
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
	if (n < 64 || memcmp(p, "PK\x03\x04", 4) != 0 || carve_rd16(p + 4) > 100)
		return false;
	method = carve_rd16(p + 8);
	name = carve_rd16(p + 26);
	return (method == 0 || method == 8 || method == 9 || method == 12 || method == 14 || method == 93 ||
		method == 95 || method == 98 || method == 99) && name > 0 && name <= 1024;
}

bool carve_is_7z(const uint8_t *p, uint64_t n, uint64_t *len)
{
	uint64_t next_off, next_len;

	if (n < 32 || memcmp(p, "7z\xbc\xaf\x27\x1c", 6) != 0 || p[6] != 0 || lzma_crc32(p + 12, 20, 0) != carve_rd32(p + 8))
		return false;
	next_off = carve_rd64(p + 12);
	next_len = carve_rd64(p + 20);
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
	total = carve_rd32(p + 8);
	files = carve_rd32(p + 16);
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
bool carve_is_tar(const uint8_t *p, uint64_t n, uint64_t *len)
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
		if (lzma_crc32(p + f + 4, 6, 0) != carve_rd32(p + f) || memcmp(p + f + 8, p + 6, 2) != 0)
			continue;
		back = ((uint64_t)carve_rd32(p + f + 4) + 1) * 4;
		if (back > f - 12 || back < 8)
			continue;
		idx = f - back;
		if (p[idx] != 0 || lzma_crc32(p + idx, (size_t)back - 4, 0) != carve_rd32(p + idx + back - 4))
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
		uint32_t size = carve_rd32(p + off) & 0x7fffffffu;

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

static const struct carve_magic magics[] = {
	{ "gzip", "gzip stream", PROBABLE, m_gzip },
	{ "bzip2", "bzip2 stream", CERTAIN, m_bzip2 },
	{ "xz", "xz stream", CERTAIN, m_xz_ext },
	{ "lzma", "LZMA stream", PROBABLE, m_lzma },
	{ "zstd", "zstd frame", PROBABLE, m_zstd_ext },
	{ "lz4", "LZ4 frame", PROBABLE, m_lz4_ext },
	{ "zip", "zip archive", CERTAIN, m_zip },
	{ "7z", "7z archive", CERTAIN, carve_is_7z },
	{ "rar", "RAR archive", CERTAIN, m_rar },
	{ "cab", "cabinet", CERTAIN, m_cab },
	{ "tar", "tar archive", CERTAIN, carve_is_tar },
	{ "cpio", "cpio archive", CERTAIN, m_cpio },
};

static struct carve_tables tables;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
	static const struct { uint8_t first; const char *kind; } firsts[] = {
		{ 0x1f, "gzip" }, { 'B', "bzip2" }, { 0xfd, "xz" }, { 0x5d, "lzma" }, { 0x28, "zstd" }, { 0x04, "lz4" },
		{ 'P', "zip" }, { '7', "7z" }, { 'R', "rar" }, { 'M', "cab" }, { '0', "cpio" },
	};

	for (size_t i = 0; i < FW_ARRAY_LEN(firsts); i++)
		for (size_t k = 0; k < FW_ARRAY_LEN(magics); k++)
			if (strcmp(magics[k].kind, firsts[i].kind) == 0) {
				const struct carve_magic **slot = tables.by_first[firsts[i].first];

				slot[slot[0] == NULL ? 0 : 1] = &magics[k];
				tables.interesting[firsts[i].first] = true;
			}
	tables.interesting['u'] = true;
}

const struct carve_tables *carve_tables(void)
{
	pthread_once(&tables_once, tables_init);
	return &tables;
}

const char *carve_kind_what(const char *kind)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(magics); i++)
		if (strcmp(magics[i].kind, kind) == 0)
			return magics[i].what;
	return kind;
}
