/* Private to scanner/: which files ClamAV loads, the .cvd/.cld header,
 * the databases of one directory and their wire form (sigdb.c); the
 * debounce of the directory watch (sigwatch_debounce.c). Nothing here is
 * for other modules. */
#ifndef FWGATE_SIGDB_H
#define FWGATE_SIGDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fwgate/scanner.h"

/* A ClamAV database opens with this many bytes of text:
 * "ClamAV-VDB:time:version:sigs:fl:md5:dsig:builder:stime", padded with
 * spaces (libclamav's cl_cvdhead reads the same 512). */
#define SIGDB_HEADER_LEN 512

/* True when ClamAV's cl_load loads a file of this name from a directory
 * (by its extension, as libclamav's CLI_DBEXT): editor temporary files,
 * freshclam's partial downloads and directories are not databases. */
bool sigdb_name_loadable(const char *name) FW_NONNULL(1);

/* Parses the header at p (len bytes, at least SIGDB_HEADER_LEN; only the
 * first SIGDB_HEADER_LEN are read) into out's version, signatures and
 * time (0 when the header has no build time, as very old ones). out's
 * other fields are left alone. */
int sigdb_header_parse(const uint8_t *p, size_t len, struct fw_sigdb *out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* Adds the databases in dir to si: one entry per .cvd/.cld (its header)
 * and one "local" entry for all its other signature files (their newest
 * modification time). Fails when a .cvd/.cld header does not parse, a file
 * cannot be read, or si is full. */
int sigdb_dir_add(struct fw_signature_info *si, const char *dir, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Adds the "bundled" entry. */
int sigdb_add_bundled(struct fw_signature_info *si, struct fw_err *err) FW_WUR FW_NONNULL(1);

/* Reads back what fw_signature_info_json(si, 0) wrote (the supervisor's
 * READY), checking every field's type and bound; out is cleared first. */
int sigdb_info_from_json(const json_t *doc, struct fw_signature_info *out, struct fw_err *err)
	FW_WUR FW_NONNULL(2);

/* ------------------------------------------------------------ debounce */

/* The watch's decision when to reload, as a table (sigwatch_debounce.c):
 * state x input -> new state, and whether to reload now. Times are
 * monotonic milliseconds, passed in: a pure function. */
enum sigwatch_state {
	SIGWATCH_IDLE = 0,  /* nothing changed since the last reload */
	SIGWATCH_SETTLING,  /* changed; waiting for quiet_ms of silence (max_ms at most) */
};

enum sigwatch_input {
	SIGWATCH_CHANGE = 0, /* a database file changed */
	SIGWATCH_TICK,       /* time passed */
};

struct sigwatch_debounce {
	enum sigwatch_state state;
	int64_t quiet_ms;   /* silence that ends a burst */
	int64_t max_ms;     /* longest wait after a burst's first change */
	int64_t first_ms;   /* the burst's first change */
	int64_t last_ms;    /* its latest change */
};

void sigwatch_debounce_init(struct sigwatch_debounce *d, int64_t quiet_ms, int64_t max_ms) FW_NONNULL(1);
/* Applies one input at now_ms; true when a reload is due now (the state
 * is then idle again). */
bool sigwatch_debounce_step(struct sigwatch_debounce *d, enum sigwatch_input in, int64_t now_ms) FW_NONNULL(1);
/* Milliseconds until the next tick can fire (0: now); -1 when idle. */
int64_t sigwatch_debounce_wait_ms(const struct sigwatch_debounce *d, int64_t now_ms) FW_NONNULL(1);

#endif
