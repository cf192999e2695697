/* Password hashes for people and appliances that authenticate to fwgate
 * (the proxy's users now, the console's accounts next): scrypt, a
 * memory-hard KDF, through OpenSSL 3's EVP_KDF, in the self-describing
 * form $scrypt$ln=15,r=8,p=1$SALT$HASH (base64). Verification compares in
 * constant time. A password never leaves these functions but as a hash.
 * Thread-safety: pure functions, safe from any thread. */
#ifndef FWGATE_PASSWD_H
#define FWGATE_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#include "fwgate/err.h"

#define FW_PASSWD_HASH_MAX 160
/* Longest password accepted (a bound on hostile input, not a policy). */
#define FW_PASSWD_MAX 1024
/* Shortest password a new credential may have. */
#define FW_PASSWD_MIN 12

/* Hashes password (len bytes) with a fresh random salt into out. */
int fw_passwd_hash(const char *password, size_t len, char *out, size_t out_len, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* *ok tells whether password matches stored (a string fw_passwd_hash
 * made). Returns -1 only when stored is malformed or the KDF fails. */
int fw_passwd_verify(const char *password, size_t len, const char *stored, bool *ok, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3, 4);

/* Strict base64 (RFC 4648, padded): decodes text (len bytes) into out,
 * *out_len bytes. Fails on any other character or a bad length. */
int fw_base64_decode(const char *text, size_t len, unsigned char *out, size_t out_max, size_t *out_len)
	FW_WUR FW_NONNULL(1, 3, 5);

#endif
