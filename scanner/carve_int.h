/* Private to scanner/carve*.c: the state of one node's payload search
 * (struct carve), the candidate magics, and the parts' entry points. The
 * parts are leaves: carve.c drives them; carve_payload.c (the state and
 * trying one payload) and carve_candidates.c (the magics) call no other
 * part. Nothing here is for other files: the walk calls carve.c through
 * walk_int.h. */
#ifndef FWGATE_SCANNER_CARVE_INT_H
#define FWGATE_SCANNER_CARVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

static inline uint32_t carve_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t carve_rd64(const uint8_t *p)
{
	return (uint64_t)carve_rd32(p) | (uint64_t)carve_rd32(p + 4) << 32;
}

static inline uint16_t carve_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ------------------------------------------------------------ carve_payload.c */

/* A finding about the node (nothing when probing for the analyzer). */
void carve_reason(struct carve *c, enum fw_verdict v, const char *fmt, ...) FW_PRINTF(3, 4);
/* The walk was halted (never when probing). */
bool carve_halted(const struct carve *c);
/* Remembers an opened payload or a known part. */
void carve_done_add(struct carve *c, uint64_t off, uint64_t len, bool opened);
/* The end of the first accounted range that holds off or starts after
 * it, and its start; UINT64_MAX when none. */
uint64_t carve_done_next(const struct carve *c, uint64_t off, uint64_t *end);
/* n bytes for people: "12 bytes", "14.2 KiB", "10.5 MiB". */
void carve_human(uint64_t n, char *out, size_t len);
/* Tries one payload at off (len bytes at most): walked as a child (walk
 * mode) or read (probing). Returns 1 opened, 0 not, -1 halted. A certain
 * candidate (or must: a known layout's payload) that libarchive cannot
 * read is a reason; a probable one is remembered for the coverage check. */
int carve_try_payload(struct carve *c, uint64_t off, uint64_t len, const char *kind, bool strong, bool must);

/* ------------------------------------------------------------ carve_candidates.c */

/* CERTAIN: a header this strict (a checksum, a long magic and fields
 * that must agree) is no accident: when libarchive cannot read it, that
 * is the reason. PROBABLE: a four-byte magic and a few bits, which random
 * bytes of a large file can hold: a failure is remembered, and it is the
 * coverage check (the bytes look compressed) that decides. */
enum strength { PROBABLE, CERTAIN };

struct carve_magic {
	const char *kind;
	const char *what;         /* in reasons: "xz stream" */
	enum strength strength;
	/* True when the bytes at p (avail of them) start one; *len the
	 * extent its header declares, 0 when only decoding tells. */
	bool (*check)(const uint8_t *p, uint64_t avail, uint64_t *len);
};

/* The magics a byte may start, for the search's fast path (tar, whose
 * magic is 257 bytes in, is looked for by its "ustar"). */
struct carve_tables {
	const struct carve_magic *by_first[256][2];
	bool interesting[256];
};

/* The tables, built once (thread-safe). */
const struct carve_tables *carve_tables(void);
/* The words for a kind in reasons ("xz stream"); the kind itself when unknown. */
const char *carve_kind_what(const char *kind);
/* A tar header (checksum and fields) at p; *len its archive's extent when known. */
bool carve_is_tar(const uint8_t *p, uint64_t n, uint64_t *len);
/* A 7z signature header (its CRC) at p. */
bool carve_is_7z(const uint8_t *p, uint64_t n, uint64_t *len);

/* ------------------------------------------------------------ the layouts */

/* makeself (its header variables) in the script head h (hn bytes):
 * carve_layouts.c. Returns -1 when halted, 1 when it was one, else 0. */
int carve_makeself(struct carve *c, const uint8_t *h, size_t hn);
/* A Dell Update Package's markers: carve_layouts.c; same answers. */
int carve_dell(struct carve *c);
/* A PCI option ROM's images: carve_optionrom.c; same answers. */
int carve_optionrom(struct carve *c);

/* ------------------------------------------------------------ carve_coverage.c */

/* Bytes from the region's start that no child accounts for and that look
 * compressed or encrypted: a run of 4 KiB blocks at or above COVER_BITS
 * of at least COVER_RUN_MIN bytes is a reason (four at most per node). */
void carve_coverage(struct carve *c);

#endif
