/* The UEFI side of the walk: a node that is a capsule, a flash descriptor
 * image or holds firmware volumes is mapped read-only and parsed
 * (scanner/uefi.c) down to each module; every module becomes a child node
 * of its own (typed, scanned, sandboxed: PE32 and TE as "pe"), named by
 * its volume, file GUID and UI name. Decompressed bytes count against the
 * walk's limits. Must not judge what it hands on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "scanner/analyze.h"
#include "scanner/uefi.h"
#include "scanner/walk_int.h"

/* Largest node parsed as a UEFI image: firmware images are tens of
 * megabytes; anything larger is data, not a flash image. */
#define UEFI_IMAGE_MAX (512ull * 1024 * 1024)

struct uefi_walk {
	struct walk *w;
	json_t *node;
	const char *chain;
};

static int on_module(void *arg, const struct uefi_module *m, const uint8_t *data, size_t len)
{
	struct uefi_walk *uw = arg;
	/* A module that came out of an image is not parsed as one again,
	 * but for raw files and sections, which may hold volumes of their
	 * own (vendors put volumes in raw files). */
	bool again = strcmp(m->kind, "FILE") == 0 || strcmp(m->kind, "RAW") == 0 || strcmp(m->kind, "FREEFORM") == 0;
	const struct node_hint hint = {
		.file_type = m->executable ? "pe" : NULL, .guid = m->file_guid, .ui = m->ui, .section = m->kind,
		.offset = -1, .no_uefi = !again,
	};

	return walk_bytes(uw->w, data, len, m->chain, m->depth, &hint);
}

static void on_problem(void *arg, enum fw_verdict v, const char *msg)
{
	struct uefi_walk *uw = arg;

	scan_report_add(&uw->w->rep, uw->node, v, "%s", msg);
}

static bool on_budget(void *arg, uint64_t bytes)
{
	struct uefi_walk *uw = arg;

	return walk_budget(uw->w, bytes, uw->chain);
}

bool walk_uefi(struct walk *w, int fd, uint64_t size, const char *chain, unsigned depth, json_t *node)
{
	struct uefi_walk uw = { .w = w, .node = node, .chain = chain };
	const unsigned max_depth = w->ctx->limits.max_depth;
	const struct uefi_sink sink = {
		.arg = &uw, .module = on_module, .problem = on_problem, .budget = on_budget,
		.max_depth = max_depth > depth ? max_depth - depth : 0,
	};
	uint8_t *p;

	if (size > UEFI_IMAGE_MAX)
		return false;
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "cannot map %s to inspect it: %s", chain,
				strerror(errno));
		return true;
	}
	if (!uefi_detect(p, (size_t)size)) {
		munmap(p, (size_t)size);
		return false;
	}
	uefi_parse(p, (size_t)size, chain, depth, &sink);
	munmap(p, (size_t)size);
	return true;
}

/* ------------------------------------------------------------ opened streams */

struct opened_find {
	const uint8_t *base;
	size_t len;
	struct analyze_range *out;
	size_t max, n;
	uint64_t budget, used;
};

static int of_module(void *arg, const struct uefi_module *m, const uint8_t *data, size_t len)
{
	(void)arg;
	(void)m;
	(void)data;
	(void)len;
	return 0;
}

static void of_problem(void *arg, enum fw_verdict v, const char *msg)
{
	(void)arg;
	(void)v;
	(void)msg;
}

static bool of_budget(void *arg, uint64_t bytes)
{
	struct opened_find *of = arg;

	of->used += bytes;
	return of->used <= of->budget;
}

static void of_opened(void *arg, const uint8_t *sec, size_t len)
{
	struct opened_find *of = arg;

	/* Only streams in the member's own bytes; nested ones lie in
	 * buffers the parse decoded. */
	if (of->n >= of->max || sec < of->base || sec >= of->base + of->len || len > of->len - (size_t)(sec - of->base))
		return;
	of->out[of->n].off = (uint64_t)(sec - of->base);
	of->out[of->n].len = len;
	of->n++;
}

size_t scan_opened_ranges(const uint8_t *p, size_t len, const struct scan_limits *lim, struct analyze_range *out,
			  size_t max)
{
	struct opened_find of = { .base = p, .len = len, .out = out, .max = max, .budget = lim->max_total_bytes };
	const struct uefi_sink sink = {
		.arg = &of, .module = of_module, .problem = of_problem, .budget = of_budget, .opened = of_opened,
		.max_depth = lim->max_depth,
	};

	if (len == 0)
		return 0;
	if ((uint64_t)len > UEFI_IMAGE_MAX || !uefi_detect(p, len))
		return carve_opened_ranges(p, len, lim, out, max);
	uefi_parse(p, len, "member", 0, &sink);
	return of.n;
}
