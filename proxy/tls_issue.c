/* Server certificates the gateway CA issues for the gateway's own HTTPS
 * listeners (the staff console): a fresh ECDSA P-256 key per issue, SAN
 * dNSName and iPAddress entries, serverAuth, never longer-lived than the
 * CA. The certificate and the key leave as PEM in memory only (the TLS
 * library of the listener loads them from there); nothing is written to
 * disk. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fwgate/host.h"
#include "fwgate/proxy.h"
#include "proxy/tls.h"

static char *bio_take(BIO *b)
{
	char *data, *out;
	long n = BIO_get_mem_data(b, &data);

	if (n <= 0 || (out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	return out;
}

/* "critical,DNS:name,IP:a,IP:b" */
static int issue_san(const char *name, const char *const *ips, size_t n_ips, char *san, size_t len)
{
	size_t used;

	if ((size_t)snprintf(san, len, "critical,DNS:%s", name) >= len)
		return -1;
	for (size_t i = 0; i < n_ips; i++) {
		used = strlen(san);
		if ((size_t)snprintf(san + used, len - used, ",IP:%s", ips[i]) >= len - used)
			return -1;
	}
	return 0;
}

static X509 *issue_cert(struct tls_ca *ca, EVP_PKEY *key, const char *san, unsigned days)
{
	X509 *cacert = tls_ca_cert(ca), *cert = X509_new();
	time_t now = time(NULL);

	if (cert == NULL || X509_set_version(cert, 2) != 1 || tls_x509_random_serial(cert) != 0 ||
	    X509_set_issuer_name(cert, X509_get_subject_name(cacert)) != 1 || X509_set_pubkey(cert, key) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(cert), 0, -3600, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, &now) == NULL)
		goto fail;
	if (ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(cacert)) > 0 &&
	    X509_set1_notAfter(cert, X509_get0_notAfter(cacert)) != 1)
		goto fail;
	if (tls_x509_add_ext(cert, cacert, NID_subject_alt_name, san) != 0 ||
	    tls_x509_add_ext(cert, cacert, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    tls_x509_add_ext(cert, cacert, NID_key_usage, "critical,digitalSignature") != 0 ||
	    tls_x509_add_ext(cert, cacert, NID_ext_key_usage, "serverAuth") != 0 ||
	    tls_x509_add_ext(cert, cacert, NID_subject_key_identifier, "hash") != 0 ||
	    tls_x509_add_ext(cert, cacert, NID_authority_key_identifier, "keyid:always") != 0 ||
	    X509_sign(cert, tls_ca_key(ca), EVP_sha256()) == 0)
		goto fail;
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

int fw_ca_issue_server(const char *state_dir, const char *name, const char *const *ips, size_t n_ips,
		       unsigned days, char **cert_pem, char **key_pem, struct fw_err *err)
{
	struct tls_ca *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *cb = NULL, *kb = NULL;
	char san[1024];
	int rc = -1;

	*cert_pem = *key_pem = NULL;
	if (!fw_host_valid(name, strlen(name)) || issue_san(name, ips, n_ips, san, sizeof(san)) != 0)
		return fw_err_setc(err, FW_E_INVALID, "cannot issue a certificate for \"%s\": not a DNS name, or too "
				   "many addresses", name);
	if (tls_ca_load(&ca, state_dir, err) != 0)
		return -1;
	key = EVP_EC_gen("P-256");
	if (key == NULL || (cert = issue_cert(ca, key, san, days)) == NULL) {
		tls_err(err, "cannot issue a server certificate");
		goto out;
	}
	cb = BIO_new(BIO_s_mem());
	kb = BIO_new(BIO_s_mem());
	if (cb == NULL || kb == NULL || PEM_write_bio_X509(cb, cert) != 1 ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (*cert_pem = bio_take(cb)) == NULL || (*key_pem = bio_take(kb)) == NULL) {
		tls_err(err, "cannot encode the server certificate");
		free(*cert_pem);
		*cert_pem = NULL;
		goto out;
	}
	rc = 0;
out:
	BIO_free(cb);
	BIO_free(kb);
	X509_free(cert);
	EVP_PKEY_free(key);
	tls_ca_free(ca);
	return rc;
}

int fw_ca_pem(const char *state_dir, char **pem, char *sha256_fp, size_t fp_len, struct fw_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct tls_ca *ca = NULL;
	BIO *b = NULL;
	int rc = -1;

	*pem = NULL;
	if (fp_len < 3 * 32)
		return fw_err_setc(err, FW_E_INVALID, "fingerprint buffer too small");
	if (tls_ca_load(&ca, state_dir, err) != 0)
		return -1;
	b = BIO_new(BIO_s_mem());
	if (b == NULL || PEM_write_bio_X509(b, tls_ca_cert(ca)) != 1 || (*pem = bio_take(b)) == NULL ||
	    X509_digest(tls_ca_cert(ca), EVP_sha256(), md, &n) != 1 || n != 32) {
		free(*pem);
		*pem = NULL;
		tls_err(err, "cannot encode the CA certificate");
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		snprintf(sha256_fp + 3 * i, fp_len - 3 * i, i + 1 < n ? "%02X:" : "%02X", md[i]);
	rc = 0;
out:
	BIO_free(b);
	tls_ca_free(ca);
	return rc;
}
