/* Private to scanner/analyze*.c: the analyzer's state, its weights table
 * and the helpers its parts share. Nothing here is for other files. */
#ifndef FWGATE_SCANNER_ANALYZE_INT_H
#define FWGATE_SCANNER_ANALYZE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scanner/analyze.h"

/* The kinds of findings; their weights are the table in
 * analyze_findings.c, the one place to tune them. */
enum an_kind {
	AN_HIGH_ENTROPY, AN_EMBEDDED_PE, AN_EMBEDDED_ELF, AN_EMBEDDED_MACHO, AN_PE_WX, AN_PE_PACKED,
	AN_PE_UNSIGNED, AN_PE_IMPORT, AN_PE_MALFORMED, AN_URL, AN_IPV4, AN_DOWNLOAD_EXEC, AN_LIMIT, AN_RULE,
};

struct an_weight {
	const char *kind;
	unsigned weight;
};
/* The weights table, in analyze_findings.c. */
extern const struct an_weight an_weights[];
#define W(k) (an_weights[(k)].weight)

#define AN_BLOCK 4096
#define AN_HIGH_BITS 7.2
#define AN_LOW_FILE_BITS 6.0
#define AN_HIGH_RUN_BYTES (64 * 1024)
#define AN_SECTION_MIN_BYTES 1024
#define AN_STRING_MIN 6
#define AN_EXAMPLES 3
#define AN_EXAMPLE_CHARS 64
#define AN_FAT_MAX 16
#define AN_IMPORT_NAME_MAX 256

struct an {
	const uint8_t *p;
	size_t len;
	const struct analyze_limits *lim;
	struct analyze_result res;
	unsigned total;                  /* score, capped */
	double *clog;                    /* c * log2(c) for c in 0..AN_BLOCK */
	uint64_t fat[AN_FAT_MAX];        /* slices of a fat Mach-O member: not "embedded" */
	size_t n_fat;
	bool pe_bad;                     /* one pe-malformed finding per member */
	uint32_t imports_seen;           /* bit per an_bad_imports entry */
	struct analyze_range *opened;    /* sorted by offset, disjoint */
	size_t n_opened;
};

/* ------------------------------------------------------------ shared helpers (analyze_findings.c) */

void an_add(struct an *a, enum an_kind k, unsigned weight, uint64_t off, const char *fmt, ...) FW_PRINTF(5, 6);
/* One pe-malformed finding per member: the first contradiction only. */
void an_pe_bad(struct an *a, uint64_t off, const char *fmt, ...) FW_PRINTF(3, 4);
/* Hostile bytes for a detail: printable ASCII as is, the rest as \xNN. */
void an_escape(const uint8_t *s, size_t n, char *out, size_t out_len);
uint16_t an_le16(const uint8_t *q);
uint32_t an_le32(const uint8_t *q);
uint32_t an_be32(const uint8_t *q);
/* Bounds-checked spans and reads at base + rel of n bytes within the member. */
bool an_span(const struct an *a, size_t base, size_t rel, size_t n, size_t *off);
bool an_rd16(const struct an *a, size_t base, size_t rel, uint16_t *v);
bool an_rd32(const struct an *a, size_t base, size_t rel, uint32_t *v);
double an_entropy(const uint8_t *p, size_t n);
/* log2 without libm (0 for x <= 0). */
double an_log2(double x);

/* ------------------------------------------------------------ the analyses */

/* PE header facts of the member itself (analyze_pe.c). */
void an_pe(struct an *a);
/* Executables embedded at offsets > 0 (analyze_pe.c). */
void an_embedded(struct an *a);
/* The YARA rules (analyze_yara.c); -1 with the reason when they did not
 * finish (timeout, libyara error). */
int an_yara(struct an *a, const struct scan_yara *y, struct fw_err *err);

#endif
