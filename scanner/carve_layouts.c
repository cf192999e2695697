/* Known layouts of script packages, parsed exactly: makeself (the header
 * variables with the sizes, CRCs and digests it records) and Dell Update
 * Packages (#####Startofpackage#####, #####Startofarchive#####). Their
 * payloads are tried as must-open members. Must not search for generic
 * candidates (carve.c does, around what these account for). */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "scanner/carve_int.h"

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
int carve_makeself(struct carve *c, const uint8_t *h, size_t hn)
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
	carve_done_add(c, 0, off, false);
	for (unsigned k = 0; word(sizes, k, v, sizeof(v)); k++) {
		char *end;
		unsigned long long len = strtoull(v, &end, 10);
		char got[EVP_MAX_MD_SIZE * 2 + 1];

		if (*end != '\0' || len == 0) {
			/* The header's own bytes are not repeated: they may be
			 * anything. */
			carve_reason(c, FW_VERDICT_UNSCANNABLE,
					"makeself package %s: the size of archive %u is not a number of bytes", c->chain,
					k + 1);
			return 1;
		}
		if (len > c->size - off) {
			carve_reason(c, FW_VERDICT_UNSCANNABLE,
					"makeself package %s: archive %u of %llu bytes at 0x%llx overruns the file (%llu bytes)",
					c->chain, k + 1, len, (unsigned long long)off, (unsigned long long)c->size);
			return 1;
		}
		if (c->w != NULL && word(md5s, k, w1, sizeof(w1)) && !all_zero_digits(w1)) {
			hex_digest(EVP_md5(), c->p + off, len, got);
			if (strcasecmp(w1, got) != 0)
				carve_reason(c, FW_VERDICT_SUSPICIOUS,
						"makeself package %s: its header records MD5 %s for archive %u at 0x%llx, "
						"the bytes have %s", c->chain, w1, k + 1, (unsigned long long)off, got);
		}
		if (c->w != NULL && word(shas, k, w2, sizeof(w2)) && !all_zero_digits(w2)) {
			hex_digest(EVP_sha256(), c->p + off, len, got);
			if (strcasecmp(w2, got) != 0)
				carve_reason(c, FW_VERDICT_SUSPICIOUS,
						"makeself package %s: its header records SHA-256 %s for archive %u at "
						"0x%llx, the bytes have %s", c->chain, w2, k + 1, (unsigned long long)off, got);
		}
		if (c->w != NULL && word(crcs, k, w1, sizeof(w1)) && !all_zero_digits(w1)) {
			unsigned long long want = strtoull(w1, NULL, 10);
			uint32_t have = posix_cksum(c->p + off, len);

			if (want != have)
				carve_reason(c, FW_VERDICT_SUSPICIOUS,
						"makeself package %s: its header records CRC %s for archive %u at 0x%llx, "
						"the bytes have %u", c->chain, w1, k + 1, (unsigned long long)off, have);
		}
		if (carve_try_payload(c, off, len, "makeself", true, true) < 0)
			return -1;
		/* The archive is the recorded extent, opened or refused. */
		carve_done_add(c, off, len, false);
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
int carve_dell(struct carve *c)
{
	uint64_t pkg_at, pkg_after, arc_at, arc_after;
	const struct node_hint hint = { .offset = -1 };
	char name[2048];

	if (!find_marker(c->p, 0, c->size < HEAD_MAX * 64 ? c->size : HEAD_MAX * 64, "#####Startofpackage#####",
			 &pkg_at, &pkg_after))
		return 0;
	if (!find_marker(c->p, pkg_after, c->size, "#####Startofarchive#####", &arc_at, &arc_after)) {
		carve_reason(c, FW_VERDICT_UNSCANNABLE,
				"Dell Update Package %s: #####Startofpackage##### without #####Startofarchive#####",
				c->chain);
		return 1;
	}
	carve_done_add(c, 0, arc_after, false);
	snprintf(name, sizeof(name), "%s!package.xml", c->chain);
	if (c->w != NULL) {
		struct node_hint h = hint;

		h.offset = (int64_t)pkg_after;
		if (walk_bytes(c->w, c->p + pkg_after, (size_t)(arc_at - pkg_after), name, c->depth + 1, &h) < 0)
			return -1;
	}
	if (arc_after >= c->size) {
		carve_reason(c, FW_VERDICT_UNSCANNABLE,
				"Dell Update Package %s: nothing follows #####Startofarchive#####", c->chain);
		return 1;
	}
	return carve_try_payload(c, arc_after, c->size - arc_after, "dup", true, true) < 0 ? -1 : 1;
}
