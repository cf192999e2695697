/* TLS interception internals, private to proxy/: the CA, leaf minting
 * with its cache, and the client-facing server contexts. The CA key is
 * loaded only here, in the proxy process. */
#ifndef FWGATE_PROXY_TLS_H
#define FWGATE_PROXY_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "fwgate/err.h"

struct tls_ca;

/* Loads <state>/ca/ca.crt and ca.key; refuses a key readable by group
 * or others, a key that does not match, or a certificate that is not a
 * valid CA now. */
int tls_ca_load(struct tls_ca **out, const char *state_dir, struct fw_err *err) FW_WUR;
void tls_ca_free(struct tls_ca *ca);
X509 *tls_ca_cert(const struct tls_ca *ca);
EVP_PKEY *tls_ca_key(const struct tls_ca *ca);

/* Adds an X.509v3 extension in openssl.cnf syntax ("critical,CA:TRUE"). */
int tls_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);
/* Sets a random positive 128-bit serial. */
int tls_x509_random_serial(X509 *cert);

/* Leaf certificates for CONNECT hosts: one ECDSA P-256 key per run, a
 * bounded LRU cache of certificates by host. Thread-safe. */
struct tls_mint;

int tls_mint_new(struct tls_mint **out, struct tls_ca *ca, unsigned cache_entries,
		unsigned validity_days, struct fw_err *err) FW_WUR;
void tls_mint_free(struct tls_mint *m);

/* The certificate for host (lower-case DNS name), from the cache or
 * minted now; a new reference for the caller to X509_free. *minted tells
 * whether it was made by this call. */
X509 *tls_mint_leaf(struct tls_mint *m, const char *host, bool *minted, struct fw_err *err);
EVP_PKEY *tls_mint_key(struct tls_mint *m);

/* The client-facing context: TLS 1.2 minimum, AEAD suites only, ALPN
 * http/1.1, no renegotiation, no compression. */
SSL_CTX *tls_server_ctx_new(struct fw_err *err);

/* Handshake with the client on fd as host, with leaf and key. The
 * client's SNI must equal host (case-insensitive) or the handshake is
 * refused. Returns the SSL, or NULL with the reason in err. */
SSL *tls_accept(SSL_CTX *ctx, int fd, const char *host, X509 *leaf, EVP_PKEY *key,
		   unsigned timeout_ms, struct fw_err *err);

/* The OpenSSL error queue as one line appended to err's sentence. */
void tls_err(struct fw_err *err, const char *what);

#endif
