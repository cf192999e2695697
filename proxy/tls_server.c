/* The client-facing TLS side: a context with TLS 1.2+, AEAD suites and
 * ALPN http/1.1, and the handshake that refuses any SNI other than the
 * CONNECT host (a client must not be able to ask for a certificate for
 * one name through a tunnel opened for another). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy/tls.h"

/* TLS 1.2 suites for an ECDSA leaf: ECDHE key exchange, AEAD only. */
#define TLS12_SUITES "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
		     "ECDHE-ECDSA-CHACHA20-POLY1305"
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

struct accept_state {
	const char *want;
	char got[256];
	bool sni_missing;
	bool sni_mismatch;
	bool alpn_mismatch;
};

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct accept_state *st = SSL_get_app_data(ssl);
	const char *got = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)arg;
	if (got == NULL) {
		st->sni_missing = true;
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	if (strcasecmp(got, st->want) != 0) {
		snprintf(st->got, sizeof(st->got), "%.200s", got);
		st->sni_mismatch = true;
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char http11[] = "\x08http/1.1";
	unsigned char *sel = NULL;
	struct accept_state *st = SSL_get_app_data(ssl);

	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, http11, sizeof(http11) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED) {
		st->alpn_mismatch = true;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

SSL_CTX *tls_server_ctx_new(struct fw_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tls_err(err, "cannot create the TLS context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_SUITES) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1) {
		tls_err(err, "cannot configure the TLS context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	return ctx;
}

/* SSL_accept on a non-blocking socket, bounded by timeout_ms. On an
 * error, *ssl_error and *sys_errno say what kind. */
static int accept_loop(SSL *ssl, int fd, unsigned timeout_ms, int *ssl_error, int *sys_errno)
{
	struct timespec ts;
	uint64_t deadline;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + timeout_ms;
	for (;;) {
		struct pollfd pfd = { .fd = fd };
		uint64_t now;
		int rc, e;

		errno = 0;
		rc = SSL_accept(ssl);
		if (rc == 1)
			return 1;
		e = SSL_get_error(ssl, rc);
		if (e == SSL_ERROR_WANT_READ) {
			pfd.events = POLLIN;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			pfd.events = POLLOUT;
		} else {
			*ssl_error = e;
			*sys_errno = errno;
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
		if (now >= deadline)
			return 0;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc == 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

SSL *tls_accept(SSL_CTX *ctx, int fd, const char *host, X509 *leaf, EVP_PKEY *key,
		   unsigned timeout_ms, struct fw_err *err)
{
	struct accept_state st = { .want = host };
	SSL *ssl = SSL_new(ctx);
	int rc, ssl_error = 0, sys_errno = 0;

	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_use_certificate(ssl, leaf) != 1 ||
	    SSL_use_PrivateKey(ssl, key) != 1) {
		tls_err(err, "cannot set up the client TLS session");
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_app_data(ssl, &st);
	ERR_clear_error();
	rc = accept_loop(ssl, fd, timeout_ms, &ssl_error, &sys_errno);
	SSL_set_app_data(ssl, NULL);
	if (rc == 1)
		return ssl;
	if (rc == 0)
		fw_err_setc(err, FW_E_TIMEOUT, "TLS handshake with the client timed out after %u ms", timeout_ms);
	else if (st.sni_missing)
		fw_err_setc(err, FW_E_DENIED, "TLS handshake refused: the client sent no SNI (expected %s)", host);
	else if (st.sni_mismatch)
		fw_err_setc(err, FW_E_DENIED, "TLS handshake refused: the client asked for \"%s\" inside a tunnel to %s",
			   st.got, host);
	else if (st.alpn_mismatch)
		fw_err_setc(err, FW_E_DENIED, "TLS handshake refused: the client does not offer ALPN http/1.1");
	else if (ssl_error == SSL_ERROR_SYSCALL && sys_errno != 0)
		fw_err_sys(err, sys_errno, "the client went away during the TLS handshake");
	else if (ssl_error == SSL_ERROR_SYSCALL || ERR_peek_error() == 0)
		fw_err_setc(err, FW_E_IO, "the client closed the connection during the TLS handshake");
	else
		tls_err(err, "TLS handshake with the client failed");
	SSL_free(ssl);
	return NULL;
}
