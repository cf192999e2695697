/* Helpers for the unit tests: temporary files and directories. */
#ifndef FWGATE_TESTUTIL_H
#define FWGATE_TESTUTIL_H

#include <stddef.h>

/* A new private directory under $TMPDIR (or /tmp); path into buf. */
void tu_mkdtemp(char *buf, size_t len);

/* Writes len bytes to dir/name; the full path into out. */
void tu_write(const char *dir, const char *name, const void *data, size_t len, char *out, size_t out_len);

/* rm -r of a test directory (flat or one level deep). */
void tu_rmtree(const char *dir);

#endif
