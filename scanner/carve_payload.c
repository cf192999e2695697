/* The state of one node's payload search and trying one payload: walked
 * as a child through walk_slice, or, when probing for the static
 * analyzer, read (not walked) under a byte budget. Remembers what opened
 * and what did not, for the coverage check. A leaf of the carve parts:
 * must not search for candidates or parse a layout itself. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "scanner/carve_int.h"

/* A finding about the node (nothing when probing). */
void carve_reason(struct carve *c, enum fw_verdict v, const char *fmt, ...)
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

bool carve_halted(const struct carve *c)
{
	return c->w != NULL && c->w->halted;
}

void carve_done_add(struct carve *c, uint64_t off, uint64_t len, bool opened)
{
	if (c->n_done < CARVE_RANGES_MAX && len > 0)
		c->done[c->n_done++] = (struct range){ off, len, opened };
}

/* The end of the first accounted range that holds off or starts after
 * it, and its start; UINT64_MAX when none. */
uint64_t carve_done_next(const struct carve *c, uint64_t off, uint64_t *end)
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

void carve_human(uint64_t n, char *out, size_t len)
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
int carve_try_payload(struct carve *c, uint64_t off, uint64_t len, const char *kind, bool strong, bool must)
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
		carve_done_add(c, off, consumed > 0 ? consumed : len, true);
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
	carve_done_add(c, off, len, false);
	if (c->refused++ >= 4) {
		/* four named per node; the rest counted */
		c->refused_unreported++;
		return 0;
	}
	/* The node is held for it; what follows it is not searched (its
	 * extent is unknown when it does not open). */
	carve_human(len, size, sizeof(size));
	carve_reason(c, FW_VERDICT_UNSCANNABLE, "%s at 0x%llx (%s) in %s could not be opened: %s", carve_kind_what(kind),
	       (unsigned long long)off, size, c->chain, why);
	return 0;
}
