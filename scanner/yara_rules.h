/* Module-private to scanner/: the YARA rules (libyara). Compiled once in
 * the scanner supervisor (before the workers fork, so that they share the
 * compiled rules copy-on-write), matched in the workers against every node
 * of a walk and every sandbox sample. A rule's meta decides what its match
 * means (scan_yara_effect). Must not decide a verdict itself. */
#ifndef FWGATE_SCANNER_YARA_RULES_H
#define FWGATE_SCANNER_YARA_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "fwgate/config.h"
#include "fwgate/err.h"

/* Immutable once compiled: one set may be matched by any number of
 * threads of any number of forked processes. */
struct scan_yara;

/* What a match does, from the rule's meta:
 *   verdict = "malicious"   the package is infected (signature YARA.<rule>)
 *   verdict = "suspicious"  the package is suspicious
 *   otherwise               listed; `score` (or `severity`) weighs it in
 *                           the static analyzer's score */
enum scan_yara_effect { SCAN_YARA_WEIGHT, SCAN_YARA_SUSPICIOUS, SCAN_YARA_MALICIOUS };

#define SCAN_YARA_RULE_MAX 128
#define SCAN_YARA_TAGS_MAX 256
#define SCAN_YARA_WEIGHT_MAX 1000
/* Largest rule file read (a rule set of thousands of rules is a few MiB). */
#define SCAN_YARA_FILE_MAX (16u * 1024 * 1024)
/* Rule files read from all paths together. */
#define SCAN_YARA_FILES_MAX 1000

struct scan_yara_match {
	char rule[SCAN_YARA_RULE_MAX];   /* its identifier */
	char tags[SCAN_YARA_TAGS_MAX];   /* "tag1,tag2", "" when none */
	enum scan_yara_effect effect;
	unsigned weight;                 /* `score` or `severity`, 0..SCAN_YARA_WEIGHT_MAX */
	uint64_t offset;                 /* of its first string match; 0 when it has none */
};

/* Called once per matching rule; arg is the caller's. */
typedef void (*scan_yara_cb)(void *arg, const struct scan_yara_match *m);

/* Compiles the rule files at paths (each a file, or a directory whose
 * *.yar and *.yara files, at least one, are read in name order), or the shipped rules
 * when n_paths is 0, with the pe, elf, math and hash modules available.
 * A compile error names its file and line ("FILE:LINE: message"); a meta
 * `verdict` other than "malicious" or "suspicious", or a `score` or
 * `severity` out of range, is an error naming the rule. *out is NULL on
 * entry and set only on success. */
int scan_yara_load(struct scan_yara **out, const char (*paths)[FW_PATH_MAX], unsigned n_paths, struct fw_err *err)
	FW_WUR FW_NONNULL(1);
void scan_yara_free(struct scan_yara *y);
unsigned scan_yara_count(const struct scan_yara *y) FW_NONNULL(1);

/* Matches the rules against the regular file open on fd (hostile bytes),
 * calling cb for each match. timeout_s (>= 1) bounds YARA's own time; a
 * timeout or any libyara error fails (FW_E_TIMEOUT for a timeout) with the
 * reason: the bytes were not judged in full. Reentrant. */
int scan_yara_fd(const struct scan_yara *y, int fd, unsigned timeout_s, scan_yara_cb cb, void *arg,
		 struct fw_err *err) FW_WUR FW_NONNULL(1, 4);
/* The same over len bytes at p. */
int scan_yara_mem(const struct scan_yara *y, const uint8_t *p, size_t len, unsigned timeout_s, scan_yara_cb cb,
		  void *arg, struct fw_err *err) FW_WUR FW_NONNULL(1, 5);

/* "malicious", "suspicious", "weight". */
const char *scan_yara_effect_name(enum scan_yara_effect e);

#endif
