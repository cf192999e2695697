/* scrypt password hashes (OpenSSL 3 EVP_KDF "SCRYPT") and strict base64.
 * The cost is fixed high enough that a stolen hash file resists offline
 * guessing (N = 2^15, r = 8, p = 1: 32 MiB and tens of milliseconds per
 * guess) and stored with each hash, so that it can be raised later
 * without invalidating what exists. Must not log or keep a password. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "fwgate/passwd.h"

#define COST_LN 15
#define COST_R 8
#define COST_P 1
#define SALT_BYTES 16
#define HASH_BYTES 32
/* Bounds on the cost a stored hash may ask for: a tampered file must not
 * make the gateway spend gigabytes on one login. */
#define MAX_LN 20
#define MAX_R 16
#define MAX_P 4
#define MAXMEM_BYTES (1100ull * 1024 * 1024)

static int kdf(const char *password, size_t len, const unsigned char *salt, size_t salt_len, unsigned ln,
	       unsigned r, unsigned p, unsigned char *out, size_t out_len, struct fw_err *err)
{
	EVP_KDF *k = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = k != NULL ? EVP_KDF_CTX_new(k) : NULL;
	uint64_t n = 1ull << ln, maxmem = MAXMEM_BYTES;
	uint32_t r32 = r, p32 = p;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(uintptr_t)password, len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt, salt_len),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end(),
	};
	int rc = 0;

	if (ctx == NULL || EVP_KDF_derive(ctx, out, out_len, params) != 1)
		rc = fw_err_set(err, "the scrypt KDF failed");
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(k);
	return rc;
}

static void b64(const unsigned char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int fw_base64_decode(const char *text, size_t len, unsigned char *out, size_t out_max, size_t *out_len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t pad = 0, n = 0;
	uint32_t acc = 0;

	*out_len = 0;
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *c = text[i] != '\0' ? strchr(alphabet, text[i]) : NULL;

		if (text[i] == '=') {
			/* Padding only at the end, at most two. */
			if (i < len - 2 || (i == len - 2 && text[len - 1] != '='))
				return -1;
			pad++;
			acc <<= 6;
		} else if (c == NULL || pad > 0) {
			return -1;
		} else {
			acc = (acc << 6) | (uint32_t)(c - alphabet);
		}
		if (i % 4 == 3) {
			unsigned char b[3] = { (unsigned char)(acc >> 16), (unsigned char)(acc >> 8), (unsigned char)acc };
			size_t take = 3 - (i == len - 1 ? pad : 0);

			if (n + take > out_max)
				return -1;
			memcpy(out + n, b, take);
			n += take;
			acc = 0;
		}
	}
	*out_len = n;
	return 0;
}

int fw_passwd_hash(const char *password, size_t len, char *out, size_t out_len, struct fw_err *err)
{
	unsigned char salt[SALT_BYTES], hash[HASH_BYTES];
	char s64[64], h64[64];
	int n;

	if (len > FW_PASSWD_MAX)
		return fw_err_setc(err, FW_E_LIMIT, "the password is longer than %d bytes", FW_PASSWD_MAX);
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return fw_err_set(err, "cannot draw a random salt");
	if (kdf(password, len, salt, sizeof(salt), COST_LN, COST_R, COST_P, hash, sizeof(hash), err) != 0)
		return -1;
	b64(salt, sizeof(salt), s64);
	b64(hash, sizeof(hash), h64);
	OPENSSL_cleanse(hash, sizeof(hash));
	n = snprintf(out, out_len, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", COST_LN, COST_R, COST_P, s64, h64);
	if (n < 0 || (size_t)n >= out_len)
		return fw_err_set(err, "the hash does not fit");
	return 0;
}

int fw_passwd_verify(const char *password, size_t len, const char *stored, bool *ok, struct fw_err *err)
{
	unsigned char salt[64], want[64], got[64];
	size_t salt_len = 0, want_len = 0;
	unsigned ln = 0, r = 0, p = 0;
	const char *s, *h;
	int used = 0, rc;

	*ok = false;
	if (sscanf(stored, "$scrypt$ln=%u,r=%u,p=%u$%n", &ln, &r, &p, &used) != 3 || used == 0)
		return fw_err_setc(err, FW_E_INVALID, "the stored hash is not an scrypt hash");
	if (ln < 10 || ln > MAX_LN || r < 1 || r > MAX_R || p < 1 || p > MAX_P)
		return fw_err_setc(err, FW_E_LIMIT, "the stored hash asks for an scrypt cost out of bounds");
	s = stored + used;
	h = strchr(s, '$');
	if (h == NULL || fw_base64_decode(s, (size_t)(h - s), salt, sizeof(salt), &salt_len) != 0 ||
	    fw_base64_decode(h + 1, strlen(h + 1), want, sizeof(want), &want_len) != 0 || salt_len < 8 ||
	    want_len < 16)
		return fw_err_setc(err, FW_E_INVALID, "the stored hash is malformed");
	if (len > FW_PASSWD_MAX)
		return 0; /* longer than any password set here: no match, no KDF */
	rc = kdf(password, len, salt, salt_len, ln, r, p, got, want_len, err);
	if (rc == 0)
		*ok = CRYPTO_memcmp(got, want, want_len) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return rc;
}
