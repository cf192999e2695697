/* common/verdict.c: the verdict vocabulary that the scanner, the store, the
 * sandbox queue, the proxy and the CLI share: verdicts, the policy's file
 * types, the sandbox backends and the length of a SHA-256 in hex, with
 * their names and parsers.
 * Must not judge anything (aggregation is the scanner's, the life cycle the
 * store's) and must not pull in a library: the store links it without the
 * scanner stack.
 * Thread-safety: constant tables only. */
#ifndef FWGATE_VERDICT_H
#define FWGATE_VERDICT_H

#include "fwgate/attrib.h"

#define FW_SHA256_HEX_LEN 64

/* Ordered by severity: aggregation keeps the worst. */
enum fw_verdict {
	FW_VERDICT_CLEAN = 0,
	FW_VERDICT_PENDING,
	FW_VERDICT_SUSPICIOUS,
	FW_VERDICT_UNSCANNABLE,
	FW_VERDICT_INFECTED,
};

/* "clean", "pending", "suspicious", "unscannable", "infected"; a value out
 * of range is named "unscannable" (never a lower verdict). */
const char *fw_verdict_name(enum fw_verdict v);

/* The verdict named s into *out: 0, or -1 (out unchanged) for an unknown
 * name. */
int fw_verdict_parse(const char *s, enum fw_verdict *out) FW_WUR FW_NONNULL(1, 2);

/* The policy's file types, as the scanner assigns them to every node. */
enum fw_file_type {
	FW_FT_FIRMWARE_IMAGE,
	FW_FT_PE,
	FW_FT_ARCHIVE,
	FW_FT_OTHER,
	FW_FT_COUNT,
};

/* "firmware_image", "pe", "archive", "other"; "?" out of range. */
const char *fw_file_type_name(enum fw_file_type t);

/* The file type named s into *out: 0, or -1 (out unchanged) for an unknown
 * name. */
int fw_file_type_parse(const char *s, enum fw_file_type *out) FW_WUR FW_NONNULL(1, 2);

/* Who judges sandbox jobs ([sandbox] backend): fwgate's static analyzer in
 * a scanner worker, a CAPEv2 service, or nobody. */
enum fw_sandbox_backend {
	FW_SANDBOX_LOCAL = 0,
	FW_SANDBOX_CAPE,
	FW_SANDBOX_NONE,
};

/* "local", "cape", "none"; "?" out of range. */
const char *fw_sandbox_backend_name(enum fw_sandbox_backend b);

/* The backend named s into *out: 0, or -1 (out unchanged) for an unknown
 * name. */
int fw_sandbox_backend_parse(const char *s, enum fw_sandbox_backend *out) FW_WUR FW_NONNULL(1, 2);

#endif
