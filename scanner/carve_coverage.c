/* The coverage check of a node's payload search: bytes no child accounts
 * for that look compressed or encrypted (Shannon entropy of 4 KiB blocks)
 * make the node unscannable, with their offset and size, named after a
 * candidate that failed there if one did. Must not open payloads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/analyze_int.h"
#include "scanner/carve_int.h"

/* c * log2(c) for the coverage check's 4 KiB blocks. */
static double clog_tab[COVER_BLOCK + 1];
static pthread_once_t clog_once = PTHREAD_ONCE_INIT;

static void clog_init(void)
{
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

static int range_cmp(const void *x, const void *y)
{
	const struct range *l = x, *r = y;

	return l->off < r->off ? -1 : l->off > r->off;
}

/* One run of compressed-looking bytes: named after a candidate that
 * failed to open there, if one did. */
static void cover_report(struct carve *c, uint64_t at, uint64_t len)
{
	char size[32];

	carve_human(len, size, sizeof(size));
	for (size_t i = 0; i < c->n_failed; i++) {
		const struct failed *f = &c->failed[i];

		if (f->off + COVER_BLOCK > at && f->off < at + len) {
			carve_reason(c, FW_VERDICT_UNSCANNABLE, "%s at 0x%llx in %s (%s of compressed bytes) could not be "
			       "opened: %s", carve_kind_what(f->kind), (unsigned long long)f->off, c->chain, size, f->why);
			return;
		}
	}
	carve_reason(c, FW_VERDICT_UNSCANNABLE, "%s of compressed or encrypted bytes at 0x%llx in %s that no parser here "
	       "opens", size, (unsigned long long)at, c->chain);
}

/* Bytes from the region's start that no child accounts for and that look
 * compressed or encrypted: a run of 4 KiB blocks at or above COVER_BITS
 * of at least COVER_RUN_MIN bytes is a reason (four at most per node). */
void carve_coverage(struct carve *c)
{
	struct range r[CARVE_RANGES_MAX];
	size_t n = c->n_done, k = 0;
	uint64_t run_at = 0, run_len = 0, pos = c->region;
	unsigned found = 0;

	pthread_once(&clog_once, clog_init);
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
