/* Helpers for the unit tests: temporary files and directories, and a
 * NULL check the compiler can see. Include after cmocka.h. */
#ifndef FWGATE_TESTUTIL_H
#define FWGATE_TESTUTIL_H

#include <stddef.h>
#include <stdlib.h>

/* Ends the test when p is NULL. cmocka's assertions end a test with a
 * longjmp, but its header does not say that they do not return; this
 * does (abort is never reached), so gcc -fanalyzer knows that p is not
 * NULL after it. */
#define TU_NONNULL(p) \
	do { \
		if ((p) == NULL) { \
			fail_msg("%s is NULL", #p); \
			abort(); \
		} \
	} while (0)

/* A new private directory under $TMPDIR (or /tmp); path into buf. */
void tu_mkdtemp(char *buf, size_t len);

/* Writes len bytes to dir/name; the full path into out. */
void tu_write(const char *dir, const char *name, const void *data, size_t len, char *out, size_t out_len);

/* rm -r of a test directory (flat or one level deep). */
void tu_rmtree(const char *dir);

#endif
