/* The walk's limits that span the whole package: total unpacked bytes,
 * the package's expansion ratio, wall time, and halting the walk when one
 * is reached (the verdict is then unscannable). Per-member limits are
 * checked where members are made. Must not read the package. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "scanner/walk_int.h"

bool walk_past_deadline(struct walk *w, const char *chain)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < w->deadline.tv_sec ||
	    (now.tv_sec == w->deadline.tv_sec && now.tv_nsec < w->deadline.tv_nsec))
		return false;
	scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "inspection time exceeds the limit of %u s at %s",
			w->ctx->limits.max_seconds, chain);
	w->halted = true;
	return true;
}

/* A limit stops the whole walk: the verdict is unscannable and nothing
 * more of the package is worth reading. */
void walk_halt(struct walk *w, json_t *node, const char *fmt, ...)
{
	char msg[FW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "%s", msg);
	w->halted = true;
}

bool walk_budget(struct walk *w, uint64_t bytes, const char *chain)
{
	const struct scan_limits *lim = &w->ctx->limits;

	w->total_bytes += bytes;
	if (w->total_bytes > lim->max_total_bytes) {
		walk_halt(w, NULL, "unpacked bytes exceed the limit of %llu at %s", (unsigned long long)lim->max_total_bytes,
			  chain);
		return false;
	}
	if (w->total_bytes > RATIO_FLOOR_BYTES && w->total_bytes / w->root_size >= lim->max_ratio) {
		walk_halt(w, NULL, "expansion ratio 1:%llu exceeds 1:%u at %s (the whole package)",
			  (unsigned long long)((w->total_bytes + w->root_size - 1) / w->root_size), lim->max_ratio, chain);
		return false;
	}
	return !walk_past_deadline(w, chain);
}
