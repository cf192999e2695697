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
