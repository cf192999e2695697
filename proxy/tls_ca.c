/* The interception CA: creation (fwgate ca init, first start), loading
 * with checks, and printing. ECDSA P-256, basicConstraints CA pathlen 0,
 * keyUsage keyCertSign/cRLSign. The key file is 0600 and never leaves the
 * proxy process. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "fwgate/fileio.h"
#include "fwgate/proxy.h"
#include "proxy/tls.h"

#define CA_VALIDITY_DAYS 1825

struct tls_ca {
	X509 *cert;
	EVP_PKEY *key;
};

void tls_err(struct fw_err *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e == 0) {
		fw_err_set(err, "%s", what);
		return;
	}
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	fw_err_set(err, "%s: %s", what, buf);
}

static int ca_paths(const char *state_dir, char *dir, char *crt, char *key, size_t len,
		    struct fw_err *err)
{
	if (fw_path_join(dir, len, state_dir, "ca", err) != 0 ||
	    fw_path_join(crt, len, dir, "ca.crt", err) != 0 ||
	    fw_path_join(key, len, dir, "ca.key", err) != 0)
		return -1;
	return 0;
}

int tls_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

int tls_x509_random_serial(X509 *cert)
{
	unsigned char b[16];
	BIGNUM *bn;
	int rc = -1;

	/* 128 random bits, top bit clear so the DER INTEGER stays positive. */
	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] &= 0x7f;
	b[0] |= 0x01 << 6; /* never shorter than 127 bits */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL)
		rc = 0;
	BN_free(bn);
	return rc;
}

static X509 *ca_make_cert(EVP_PKEY *key, const char *name, struct fw_err *err)
{
	X509 *cert = X509_new();
	X509_NAME *subj;
	char cn[64];

	snprintf(cn, sizeof(cn), "fwgate interception CA %.40s", name);
	if (cert == NULL || X509_set_version(cert, 2) != 1 || tls_x509_random_serial(cert) != 0)
		goto fail;
	subj = X509_get_subject_name(cert);
	if (X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_UTF8, (const unsigned char *)"fwgate", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(subj, "OU", MBSTRING_UTF8, (const unsigned char *)name, -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, subj) != 1)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), (long)CA_VALIDITY_DAYS * 86400) == NULL ||
	    X509_set_pubkey(cert, key) != 1)
		goto fail;
	if (tls_x509_add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
	    tls_x509_add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    tls_x509_add_ext(cert, cert, NID_subject_key_identifier, "hash") != 0 ||
	    tls_x509_add_ext(cert, cert, NID_authority_key_identifier, "keyid:always") != 0)
		goto fail;
	if (X509_sign(cert, key, EVP_sha256()) == 0)
		goto fail;
	return cert;
fail:
	tls_err(err, "cannot build the CA certificate");
	X509_free(cert);
	return NULL;
}

/* Writes PEM to path, created exclusively with mode, fsynced. */
static int write_pem(const char *path, mode_t mode, X509 *cert, EVP_PKEY *key, struct fw_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd < 0)
		return fw_err_sys(err, errno, "cannot create \"%s\"", path);
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return fw_err_sys(err, errno, "cannot write \"%s\"", path);
	}
	ok = cert != NULL ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (ok != 1 || fflush(f) != 0 || fsync(fd) != 0) {
		fclose(f);
		unlink(path);
		return fw_err_sys(err, errno, "cannot write \"%s\"", path);
	}
	if (fclose(f) != 0)
		return fw_err_sys(err, errno, "cannot write \"%s\"", path);
	return 0;
}

int fw_ca_init(const char *state_dir, const char *name, struct fw_err *err)
{
	char dir[FW_CA_PATH_MAX], crt[FW_CA_PATH_MAX], key[FW_CA_PATH_MAX];
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	int rc = -1;

	if (ca_paths(state_dir, dir, crt, key, sizeof(dir), err) != 0)
		return -1;
	if (access(crt, F_OK) == 0 || access(key, F_OK) == 0)
		return fw_err_setc(err, FW_E_EXISTS, "a CA already exists in \"%s\"; remove ca.crt and ca.key "
				  "first to replace it (every client must then trust the new one)", dir);
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create \"%s\"", state_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create \"%s\"", dir);
	pkey = EVP_EC_gen("P-256");
	if (pkey == NULL) {
		tls_err(err, "cannot generate the CA key");
		goto out;
	}
	cert = ca_make_cert(pkey, name, err);
	if (cert == NULL)
		goto out;
	/* Key first: a certificate without its key is useless, the reverse
	 * would let a restart mint with a key no client trusts. */
	if (write_pem(key, 0600, NULL, pkey, err) != 0)
		goto out;
	if (write_pem(crt, 0644, cert, NULL, err) != 0) {
		unlink(key);
		goto out;
	}
	rc = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return rc;
}

int fw_ca_ensure(const char *state_dir, const char *name, bool *created, struct fw_err *err)
{
	char dir[FW_CA_PATH_MAX], crt[FW_CA_PATH_MAX], key[FW_CA_PATH_MAX];

	*created = false;
	if (ca_paths(state_dir, dir, crt, key, sizeof(dir), err) != 0)
		return -1;
	if (access(crt, F_OK) == 0 || access(key, F_OK) == 0)
		return 0;
	if (fw_ca_init(state_dir, name, err) != 0)
		return -1;
	*created = true;
	return 0;
}

int fw_ca_show(const char *state_dir, FILE *out, struct fw_err *err)
{
	struct tls_ca *ca = NULL;
	int rc;

	if (tls_ca_load(&ca, state_dir, err) != 0)
		return -1;
	rc = PEM_write_X509(out, ca->cert) == 1 ? 0 : fw_err_set(err, "cannot print the CA");
	tls_ca_free(ca);
	return rc;
}

static int ca_check(struct tls_ca *ca, const char *crt, const char *key, struct fw_err *err)
{
	if (X509_check_private_key(ca->cert, ca->key) != 1)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\" does not match the key \"%s\"", crt, key);
	if (X509_check_ca(ca->cert) < 1)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a CA certificate", crt);
	if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0)
		return fw_err_setc(err, FW_E_INVALID, "the CA \"%s\" has expired; create a new one", crt);
	if (X509_cmp_current_time(X509_get0_notBefore(ca->cert)) >= 0)
		return fw_err_setc(err, FW_E_INVALID, "the CA \"%s\" is not valid yet (check the clock)", crt);
	return 0;
}

int tls_ca_load(struct tls_ca **out, const char *state_dir, struct fw_err *err)
{
	char dir[FW_CA_PATH_MAX], crt[FW_CA_PATH_MAX], key[FW_CA_PATH_MAX];
	struct tls_ca *ca;
	struct stat st;
	FILE *f;

	*out = NULL;
	if (ca_paths(state_dir, dir, crt, key, sizeof(dir), err) != 0)
		return -1;
	ca = calloc(1, sizeof(*ca));
	if (ca == NULL) {
		/* Returned here, not through fw_err_setc's -1: gcc's analyzer
		 * would follow a NULL ca past it. */
		fw_err_setc(err, FW_E_NOMEM, "out of memory");
		return -1;
	}
	if ((f = fopen(key, "re")) == NULL) {
		fw_err_sys(err, errno, "cannot open the CA key \"%s\" (create one with fwgate ca init)", key);
		goto fail;
	}
	if (fstat(fileno(f), &st) != 0 || (st.st_mode & 0077) != 0) {
		fclose(f);
		fw_err_setc(err, FW_E_DENIED, "the CA key \"%s\" is readable by group or others (mode %03o); chmod 600 it",
			   key, (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (ca->key == NULL) {
		tls_err(err, "cannot read the CA key");
		goto fail;
	}
	if ((f = fopen(crt, "re")) == NULL) {
		fw_err_sys(err, errno, "cannot open the CA certificate \"%s\"", crt);
		goto fail;
	}
	ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (ca->cert == NULL) {
		tls_err(err, "cannot read the CA certificate");
		goto fail;
	}
	if (ca_check(ca, crt, key, err) != 0)
		goto fail;
	*out = ca;
	return 0;
fail:
	tls_ca_free(ca);
	return -1;
}

void tls_ca_free(struct tls_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

X509 *tls_ca_cert(const struct tls_ca *ca)
{
	return ca->cert;
}

EVP_PKEY *tls_ca_key(const struct tls_ca *ca)
{
	return ca->key;
}
