/* Module-private to scanner/: the static analyzer of ONE member's bytes
 * (the sandbox's `local` backend): entropy profile, embedded executables,
 * PE header facts, strings of interest and YARA rules, scored.
 * Pure library: reads only the buffer or descriptor it is given; never
 * opens files or sockets, spawns, logs or decides a verdict. */
#ifndef FWGATE_SCANNER_ANALYZE_H
#define FWGATE_SCANNER_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fwgate/err.h"

/* The rules are YARA's (scanner/yara_rules.h): each matching rule is a
 * finding of kind "yara" weighted by its meta (score or severity;
 * verdict = "suspicious" at least ANALYZE_YARA_SUSPICIOUS, "malicious"
 * ANALYZE_SCORE_MAX). */
struct scan_yara;
#define ANALYZE_YARA_SUSPICIOUS 50

/* ------------------------------------------------------------ analysis */

/* Bounds on the work one member may cause; analyze_limits_default fills
 * the defaults shown, and analyze_buffer refuses values outside the range. */
struct analyze_limits {
	uint64_t max_bytes;          /* member size analyzed: 256 MiB; 1..4 GiB */
	size_t max_findings;         /* findings listed: 64; 1..4096 (the rest are counted) */
	size_t max_strings;          /* printable runs examined: 1000000; >= 1 */
	size_t max_candidates;       /* embedded-executable magics examined: 65536; >= 1 */
	unsigned max_pe_sections;    /* PE section headers examined: 96; 1..1024 */
	size_t max_imports;          /* PE import descriptors + names examined: 4096; >= 1 */
	unsigned yara_seconds;       /* YARA's own time bound: 60; 1..86400 */
	bool embedded_pe_expected;   /* false; true for firmware images, whose volumes are PE/TE modules */
	/* NULL, or where the walk opened compressed streams in the member
	 * (decoded and walked as children of their own): their blocks are
	 * the compression's entropy, not a finding. */
	const struct analyze_opened *opened;
};

/* A byte range of the member. */
struct analyze_range {
	uint64_t off, len;
};

#define ANALYZE_OPENED_MAX 256

/* The caller's map of opened streams: find fills at most max ranges of
 * the len bytes at p (the member) and returns how many it filled. */
struct analyze_opened {
	void *arg;
	size_t (*find)(void *arg, const uint8_t *p, size_t len, struct analyze_range *out, size_t max);
};

void analyze_limits_default(struct analyze_limits *lim) FW_NONNULL(1);

#define ANALYZE_KIND_MAX 32
#define ANALYZE_DETAIL_MAX 256
/* The score is the sum of every finding's weight, listed or not, capped. */
#define ANALYZE_SCORE_MAX 1000

struct analyze_finding {
	char kind[ANALYZE_KIND_MAX];      /* "embedded-elf", "url", "rule", ... (analyze.c) */
	char detail[ANALYZE_DETAIL_MAX];  /* printable ASCII; hostile bytes appear as \xNN */
	unsigned weight;
	uint64_t offset;                  /* where in the member */
};

struct analyze_result {
	int score;                        /* 0..ANALYZE_SCORE_MAX */
	struct analyze_finding *findings; /* count of them, in the order found */
	size_t count;
	size_t dropped;                   /* findings past max_findings: scored, not listed */
	double entropy_overall;           /* Shannon bits per byte of the whole member, 0..8 */
	double entropy_max;               /* of the most random 4 KiB block */
	double entropy_high_fraction;     /* of 4 KiB blocks above 7.2, 0..1 */
	uint64_t opened_bytes;            /* in blocks left out of the profile as opened streams */
};

/* Analyzes len bytes at p (hostile). yara may be NULL (no rule matches);
 * lim NULL means the defaults. *out is overwritten on entry (it does not
 * free a previous result: clear that first) and filled only on success;
 * release it with analyze_result_clear. Fails on a member larger than
 * lim->max_bytes, bad limits, lack of memory or rules that did not finish
 * (a YARA timeout: the sample was not judged in full); malformed content
 * is never an error, at most a finding. Reentrant. */
int analyze_buffer(const uint8_t *p, size_t len, const struct scan_yara *yara,
		   const struct analyze_limits *lim, struct analyze_result *out, struct fw_err *err)
	FW_WUR FW_NONNULL(5);

/* The same for the member open on fd, read from offset 0 with pread (at most
 * lim->max_bytes; a larger member is refused before any byte is read). */
int analyze_fd(int fd, const struct scan_yara *yara, const struct analyze_limits *lim,
	       struct analyze_result *out, struct fw_err *err) FW_WUR FW_NONNULL(4);

/* {"score":N,"findings":[{"kind","detail","weight","offset"}...],"dropped":N,
 *  "entropy":{"overall","max","high_fraction","opened_bytes"}}; NULL when out of memory. */
json_t *analyze_result_json(const struct analyze_result *res) FW_NONNULL(1);

/* Frees the findings and empties the result; a zeroed result is fine. */
void analyze_result_clear(struct analyze_result *res);

#endif
