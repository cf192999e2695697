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

struct fw_ca;

/* Loads <state>/ca/ca.crt and ca.key; refuses a key readable by group
 * or others, a key that does not match, or a certificate that is not a
 * valid CA now. */
int fw_ca_load(struct fw_ca **out, const char *state_dir, struct fw_err *err) FW_WUR;
void fw_ca_free(struct fw_ca *ca);
X509 *fw_ca_cert(const struct fw_ca *ca);
EVP_PKEY *fw_ca_key(const struct fw_ca *ca);

/* Adds an X.509v3 extension in openssl.cnf syntax ("critical,CA:TRUE"). */
int fw_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);
/* Sets a random positive 128-bit serial. */
int fw_x509_random_serial(X509 *cert);

/* Leaf certificates for CONNECT hosts: one ECDSA P-256 key per run, a
 * bounded LRU cache of certificates by host. Thread-safe. */
struct fw_mint;

int fw_mint_new(struct fw_mint **out, struct fw_ca *ca, unsigned cache_entries,
		unsigned validity_days, struct fw_err *err) FW_WUR;
void fw_mint_free(struct fw_mint *m);

/* The certificate for host (lower-case DNS name), from the cache or
 * minted now; a new reference for the caller to X509_free. *minted tells
 * whether it was made by this call. */
X509 *fw_mint_leaf(struct fw_mint *m, const char *host, bool *minted, struct fw_err *err);
EVP_PKEY *fw_mint_key(struct fw_mint *m);

/* The client-facing context: TLS 1.2 minimum, AEAD suites only, ALPN
 * http/1.1, no renegotiation, no compression. */
SSL_CTX *fw_tls_server_ctx_new(struct fw_err *err);

/* Handshake with the client on fd as host, with leaf and key. The
 * client's SNI must equal host (case-insensitive) or the handshake is
 * refused. Returns the SSL, or NULL with the reason in err. */
SSL *fw_tls_accept(SSL_CTX *ctx, int fd, const char *host, X509 *leaf, EVP_PKEY *key,
		   unsigned timeout_ms, struct fw_err *err);

/* The OpenSSL error queue as one line appended to err's sentence. */
void fw_tls_err(struct fw_err *err, const char *what);

#endif
