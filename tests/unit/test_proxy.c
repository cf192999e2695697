/* Unit tests for proxy/: the strict request-head parser (every refusal
 * the issue names), authority parsing, leaf minting with its cache, and
 * the upstream fetch against a real TLS origin on loopback (a vendor
 * certificate naming its host only in the subject CN is refused). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "fwgate/proxy.h"
#include "proxy/proxy_int.h"
#include "proxy/request.h"
#include "proxy/tls.h"
#include "proxy/upstream.h"
#include "testutil.h"

static struct http_req req;

static int parse(const char *head, struct fw_err *err)
{
	size_t len = strlen(head);

	fw_err_clear(err);
	assert_int_equal(http_head_end((const uint8_t *)head, len), len);
	return http_parse_head((const uint8_t *)head, len, 100, &req, err);
}

static void test_good_heads(void **state)
{
	struct fw_err err;

	(void)state;
	assert_int_equal(parse("CONNECT vendor.example:443 HTTP/1.1\r\nHost: vendor.example:443\r\n"
			       "User-Agent: curl/7.88\r\nProxy-Connection: Keep-Alive\r\n\r\n", &err), 0);
	assert_int_equal(req.method, HTTP_CONNECT);
	assert_int_equal(req.target_len, strlen("vendor.example:443"));
	assert_int_equal(req.n_headers, 3);
	assert_non_null(req.host);
	assert_false(req.connection_close);

	assert_int_equal(parse("GET /fw/a.bin?x=1 HTTP/1.1\r\nHost: v.example\r\nConnection: keep-alive, close\r\n"
			       "X-Empty:\r\nAccept:  */*  \r\n\r\n", &err), 0);
	assert_int_equal(req.method, HTTP_GET);
	assert_true(req.connection_close);
	assert_int_equal(http_header_find(&req, "x-empty")->value_len, 0);
	assert_int_equal(http_header_find(&req, "ACCEPT")->value_len, 3);
	assert_int_equal(parse("HEAD / HTTP/1.0\r\n\r\n", &err), 0);
	assert_true(req.connection_close);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", &err), 0);
}

static const struct {
	const char *head;
	int status;
	const char *msg;
} bad_heads[] = {
	{ "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400, "obsolete line folding (obs-fold) is not accepted" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400, "the request head contains a bare CR" },
	{ "GET / HTTP/1.1\r\nHost: h\nX: a\r\n\r\n", 400, "the request head has a bare LF line ending (CRLF required)" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", 400, "duplicate Content-Length header" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "request bodies are not accepted by this gateway" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length is not a number" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Transfer-Encoding on a request is not accepted" },
	{ "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n", 400, "the Host header is missing" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate Host header" },
	{ "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "whitespace between a header name and its colon" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nno-colon\r\n\r\n", 400, "malformed header field (expected name: value)" },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400, "header X contains a control character" },
	{ "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request line: the target must be visible ASCII followed by one space" },
	{ "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "malformed request line: expected HTTP/1.1 or HTTP/1.0" },
	{ "GET / HTTP/1.7\r\nHost: h\r\n\r\n", 505, "HTTP version HTTP/1.7 is not supported (HTTP/1.1 or HTTP/1.0)" },
	{ "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request line: bad method" },
	{ "GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request line: the target must be visible ASCII followed by one space" },
};

static void test_bad_heads(void **state)
{
	struct fw_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_heads) / sizeof(bad_heads[0]); i++) {
		int st = parse(bad_heads[i].head, &err);

		if (st != bad_heads[i].status || strcmp(fw_err_msg(&err), bad_heads[i].msg) != 0)
			fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i, st, fw_err_msg(&err),
				 bad_heads[i].status, bad_heads[i].msg);
		/* A refused head is bad input or over a limit, never a failure of ours. */
		if (fw_err_code(&err) != FW_E_INVALID && fw_err_code(&err) != FW_E_LIMIT)
			fail_msg("case %zu: code %s", i, fw_errcode_name(fw_err_code(&err)));
	}
}

static void test_nul_and_limits(void **state)
{
	static const char nul[] = "GET / HTTP/1.1\r\nHost: h\0x\r\n\r\n";
	char *many, *longt;
	size_t o = 0;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(http_parse_head((const uint8_t *)nul, sizeof(nul) - 1, 100, &req, &err), 400);
	assert_string_equal(fw_err_msg(&err), "the request head contains a NUL byte");

	many = malloc(64 * 1024);
	assert_non_null(many);
	o += (size_t)snprintf(many, 64 * 1024, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(many + o, 64 * 1024 - o, "X-%d: v\r\n", i);
	snprintf(many + o, 64 * 1024 - o, "\r\n");
	assert_int_equal(parse(many, &err), 431);
	assert_string_equal(fw_err_msg(&err), "more than 100 header fields");
	free(many);

	longt = malloc(HTTP_MAX_TARGET + 100);
	assert_non_null(longt);
	o = (size_t)snprintf(longt, 100, "GET /");
	memset(longt + o, 'a', HTTP_MAX_TARGET);
	o += HTTP_MAX_TARGET;
	snprintf(longt + o, 100, " HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(parse(longt, &err), 414);
	free(longt);

	/* Incomplete heads are not complete. */
	assert_int_equal(http_head_end((const uint8_t *)"GET / HTTP/1.1\r\nHost: h\r\n", 25), 0);
}

static void test_authority(void **state)
{
	char host[256];
	uint16_t port = 0;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(http_parse_authority("vendor.example:443", 18, host, sizeof(host), &port, 0, &err), 0);
	assert_string_equal(host, "vendor.example");
	assert_int_equal(port, 443);
	assert_int_equal(http_parse_authority("[::1]:8443", 10, host, sizeof(host), &port, 0, &err), 0);
	assert_string_equal(host, "[::1]");
	assert_int_equal(port, 8443);
	assert_int_equal(http_parse_authority("v.example", 9, host, sizeof(host), &port, 443, &err), 0);
	assert_int_equal(port, 443);
	assert_int_equal(http_parse_authority("v.example", 9, host, sizeof(host), &port, 0, &err), -1);
	assert_string_equal(fw_err_msg(&err), "the authority has no port");
	fw_err_clear(&err);
	assert_int_equal(http_parse_authority("v.example:0", 11, host, sizeof(host), &port, 0, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(http_parse_authority("v.example:99999", 15, host, sizeof(host), &port, 0, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(http_parse_authority("user@v.example:443", 18, host, sizeof(host), &port, 0, &err), -1);
	assert_string_equal(fw_err_msg(&err), "malformed authority: bad character in the host");
	fw_err_clear(&err);
	assert_int_equal(http_parse_authority(":443", 4, host, sizeof(host), &port, 0, &err), -1);
}

static void test_ca_and_mint(void **state)
{
	char dir[1024], key[2048];
	struct tls_ca *ca = NULL;
	struct tls_mint *m = NULL;
	struct fw_err err;
	struct stat st;
	bool minted;
	X509 *a, *b, *c;
	GENERAL_NAMES *san;
	const GENERAL_NAME *gn;
	BIGNUM *serial;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	fw_err_clear(&err);
	if (fw_ca_init(dir, "unit test", &err) != 0)
		fail_msg("%s", fw_err_msg(&err));
	assert_int_not_equal(fw_ca_init(dir, "unit test", &err), 0); /* never overwritten */
	snprintf(key, sizeof(key), "%s/ca/ca.key", dir);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fw_err_clear(&err);
	if (tls_ca_load(&ca, dir, &err) != 0)
		fail_msg("%s", fw_err_msg(&err));
	assert_int_equal(X509_check_ca(tls_ca_cert(ca)), 1);
	assert_int_equal(tls_mint_new(&m, ca, 2, 7, &err), 0);

	a = tls_mint_leaf(m, "vendor.example", &minted, &err);
	assert_non_null(a);
	assert_true(minted);
	/* SAN: exactly one dNSName, the host. */
	san = X509_get_ext_d2i(a, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	gn = sk_GENERAL_NAME_value(san, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.dNSName), "vendor.example");
	GENERAL_NAMES_free(san);
	assert_int_equal(X509_check_host(a, "vendor.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(a, "other.example", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ca(a), 0);
	/* Signed by the CA, with a key that is not the CA's. */
	assert_int_equal(X509_verify(a, X509_get0_pubkey(tls_ca_cert(ca))), 1);
	assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(tls_ca_cert(ca))), 1);
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(a), NULL);
	assert_true(BN_num_bits(serial) >= 120);
	BN_free(serial);

	b = tls_mint_leaf(m, "vendor.example", &minted, &err);
	assert_false(minted); /* cached */
	assert_ptr_equal(a, b);
	X509_free(b);
	c = tls_mint_leaf(m, "b.example", &minted, &err);
	X509_free(c);
	c = tls_mint_leaf(m, "c.example", &minted, &err); /* evicts vendor.example (capacity 2) */
	X509_free(c);
	b = tls_mint_leaf(m, "vendor.example", &minted, &err);
	assert_true(minted);
	/* Different serials for different certificates. */
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)), 0);
	X509_free(a);
	X509_free(b);
	tls_mint_free(m);
	tls_ca_free(ca);

	/* A key readable by others is refused. */
	assert_int_equal(chmod(key, 0644), 0);
	fw_err_clear(&err);
	assert_int_not_equal(tls_ca_load(&ca, dir, &err), 0);
	assert_non_null(strstr(fw_err_msg(&err), "is readable by group or others (mode 644)"));
	tu_rmtree(dir);
}

/* ------------------------------------------------------------ upstream */

/* A one-connection TLS origin on 127.0.0.1 serving leaf/key. */
struct origin {
	int lfd;
	uint16_t port;
	X509 *leaf;
	EVP_PKEY *key;
	pthread_t th;
};

static void *origin_main(void *arg)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
	struct origin *o = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int fd = accept(o->lfd, NULL, NULL);
	SSL *ssl = NULL;
	char buf[4096];
	size_t got = 0;

	if (ctx == NULL || fd < 0 || SSL_CTX_use_certificate(ctx, o->leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, o->key) != 1 || (ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		goto out;
	if (SSL_accept(ssl) != 1)
		goto out; /* the client refused the certificate */
	while (got < sizeof(buf) - 1) {
		int n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));

		if (n <= 0)
			goto out;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	SSL_write(ssl, answer, (int)sizeof(answer) - 1);
	SSL_shutdown(ssl);
out:
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void origin_start(struct origin *o, X509 *leaf, EVP_PKEY *key)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	o->leaf = leaf;
	o->key = key;
	o->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(o->lfd >= 0);
	assert_int_equal(bind(o->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(o->lfd, 4), 0);
	assert_int_equal(getsockname(o->lfd, (struct sockaddr *)&sa, &sl), 0);
	o->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&o->th, NULL, origin_main, o), 0);
}

static void origin_join(struct origin *o)
{
	pthread_join(o->th, NULL);
	close(o->lfd);
}

/* A leaf for host signed by the CA: with a dNSName SAN, or, with
 * cn_only, the host only in the subject CN (what browsers refuse). */
static X509 *make_leaf(struct tls_ca *ca, EVP_PKEY *key, const char *host, bool cn_only)
{
	X509 *cert = X509_new();
	char san[300];

	assert_non_null(cert);
	assert_int_equal(X509_set_version(cert, 2), 1);
	assert_int_equal(tls_x509_random_serial(cert), 0);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8,
						    (const unsigned char *)host, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(cert, X509_get_subject_name(tls_ca_cert(ca))), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 86400));
	assert_int_equal(X509_set_pubkey(cert, key), 1);
	assert_int_equal(tls_x509_add_ext(cert, tls_ca_cert(ca), NID_basic_constraints, "critical,CA:FALSE"), 0);
	assert_int_equal(tls_x509_add_ext(cert, tls_ca_cert(ca), NID_ext_key_usage, "serverAuth"), 0);
	assert_int_equal(tls_x509_add_ext(cert, tls_ca_cert(ca), NID_authority_key_identifier, "keyid:always"), 0);
	if (!cn_only) {
		snprintf(san, sizeof(san), "DNS:%s", host);
		assert_int_equal(tls_x509_add_ext(cert, tls_ca_cert(ca), NID_subject_alt_name, san), 0);
	}
	assert_true(X509_sign(cert, tls_ca_key(ca), EVP_sha256()) > 0);
	return cert;
}

/* Fetches https://vendor.test:PORT/fw.bin through upstream from an
 * origin serving leaf; returns upstream_fetch's result. */
static int fetch_from(const char *dir, const char *ca_file, X509 *leaf, EVP_PKEY *key, int *status,
		      struct upstream_resp *resp, struct fw_err *err)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	struct upstream *u = NULL;
	struct origin o = { 0 };
	char head[256], url[128];
	int rc;

	assert_non_null(cfg);
	assert_non_null(cfg);
	origin_start(&o, leaf, key);
	fw_config_default(cfg);
	snprintf(cfg->state.dir, sizeof(cfg->state.dir), "%s", dir);
	snprintf(cfg->upstream.ca_file, sizeof(cfg->upstream.ca_file), "%s", ca_file);
	cfg->upstream.allow_private = true;
	cfg->upstream.n_resolve = 1;
	snprintf(cfg->upstream.resolve[0].host, sizeof(cfg->upstream.resolve[0].host), "vendor.test");
	snprintf(cfg->upstream.resolve[0].ip, sizeof(cfg->upstream.resolve[0].ip), "127.0.0.1");
	cfg->upstream.resolve[0].port = o.port;
	snprintf(head, sizeof(head), "GET /fw.bin HTTP/1.1\r\nHost: vendor.test:%u\r\n\r\n", (unsigned)o.port);
	snprintf(url, sizeof(url), "https://vendor.test:%u/fw.bin", (unsigned)o.port);
	assert_int_equal(parse(head, err), 0);
	assert_int_equal(upstream_new(&u, cfg, NULL, NULL, err), 0);
	rc = upstream_fetch(u, url, "vendor.test", &req, NULL, NULL, resp, status, err);
	upstream_free(u);
	origin_join(&o);
	free(cfg);
	return rc;
}

static void test_upstream_names_only_from_san(void **state)
{
	char dir[1024], spool[1100], ca_file[1100];
	struct upstream_resp resp;
	struct tls_ca *ca = NULL;
	EVP_PKEY *key;
	X509 *good, *cn_only;
	struct fw_err err;
	int status = 0;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	assert_int_equal(mkdir(spool, 0700), 0);
	fw_err_clear(&err);
	assert_int_equal(fw_ca_init(dir, "origin test", &err), 0);
	assert_int_equal(tls_ca_load(&ca, dir, &err), 0);
	snprintf(ca_file, sizeof(ca_file), "%s/ca/ca.crt", dir);
	key = EVP_EC_gen("P-256");
	assert_non_null(key);
	good = make_leaf(ca, key, "vendor.test", false);
	cn_only = make_leaf(ca, key, "vendor.test", true);

	/* The control: the same CA and key, with a subjectAltName. */
	fw_err_clear(&err);
	if (fetch_from(dir, ca_file, good, key, &status, &resp, &err) != 0)
		fail_msg("%s", fw_err_msg(&err));
	assert_int_equal(resp.status, 200);
	assert_int_equal(fw_spool_size(resp.body), 5);
	upstream_resp_clear(&resp);

	/* CN only: 502 and the reason, no body kept. */
	fw_err_clear(&err);
	assert_int_equal(fetch_from(dir, ca_file, cn_only, key, &status, &resp, &err), -1);
	assert_int_equal(status, 502);
	assert_non_null(strstr(fw_err_msg(&err), "the certificate of vendor.test has no subjectAltName"));
	assert_null(resp.body);

	X509_free(good);
	X509_free(cn_only);
	EVP_PKEY_free(key);
	tls_ca_free(ca);
	tu_rmtree(dir);
}

/* ------------------------------------------------------------ proxy users */

static void count_one(void *arg, const char *name)
{
	(void)name;
	(*(unsigned *)arg)++;
}

static int auth_with(struct proxy_auth *a, const char *b64, const struct source_key *src, struct fw_err *err)
{
	char head[512], user[FW_PROXY_USER_NAME_MAX + 1];

	if (b64 != NULL)
		snprintf(head, sizeof(head), "CONNECT v.example:443 HTTP/1.1\r\nHost: v.example:443\r\n"
			 "Proxy-Authorization: Basic %s\r\n\r\n", b64);
	else
		snprintf(head, sizeof(head), "CONNECT v.example:443 HTTP/1.1\r\nHost: v.example:443\r\n\r\n");
	assert_int_equal(parse(head, err), 0);
	fw_err_clear(err);
	return proxy_auth_check(a, &req, src, user, sizeof(user), err);
}

static void test_proxy_users(void **state)
{
	char dir[1024], path[1100];
	struct proxy_auth *a = NULL;
	struct source_key src = { .addr = { 127, 0, 0, 1 } }, other = { .addr = { 127, 0, 0, 2 } };
	struct fw_err err;
	unsigned n = 0;
	struct stat st;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	fw_err_clear(&err);
	/* No user: basic authentication refuses to start. */
	assert_int_equal(proxy_auth_new(&a, dir, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "holds no user"));
	fw_err_clear(&err);
	assert_int_equal(fw_proxy_user_change(dir, "appliance", "appliance-secret-1", 18, FW_PROXY_USER_ADD, &err), 0);
	assert_int_equal(fw_proxy_user_change(dir, "appliance", "appliance-secret-2", 18, FW_PROXY_USER_ADD, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "exists already"));
	fw_err_clear(&err);
	assert_int_equal(fw_proxy_user_change(dir, "bad:name", "appliance-secret-1", 18, FW_PROXY_USER_ADD, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_proxy_user_change(dir, "short", "tooshort", 8, FW_PROXY_USER_ADD, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "at least 12"));
	fw_err_clear(&err);
	assert_int_equal(fw_proxy_user_change(dir, "nobody", NULL, 0, FW_PROXY_USER_REMOVE, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_proxy_user_change(dir, "second", "second-secret-1", 15, FW_PROXY_USER_ADD, &err), 0);
	assert_int_equal(fw_proxy_user_list(dir, count_one, &n, &err), 2);
	snprintf(path, sizeof(path), "%s/proxy-users", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(proxy_auth_new(&a, dir, &err), 0);
	/* appliance:appliance-secret-1 */
	assert_int_equal(auth_with(a, "YXBwbGlhbmNlOmFwcGxpYW5jZS1zZWNyZXQtMQ==", &src, &err), 0);
	/* Again: from the remembered digest. */
	assert_int_equal(auth_with(a, "YXBwbGlhbmNlOmFwcGxpYW5jZS1zZWNyZXQtMQ==", &src, &err), 0);
	assert_int_equal(auth_with(a, NULL, &src, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "proxy authentication is required"));
	assert_int_equal(auth_with(a, "!!!", &src, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "not valid Basic credentials"));
	/* A password change (the file rewritten) is read at the next check. */
	assert_int_equal(fw_proxy_user_change(dir, "appliance", "appliance-secret-2", 18, FW_PROXY_USER_PASSWD, &err), 0);
	assert_int_equal(auth_with(a, "YXBwbGlhbmNlOmFwcGxpYW5jZS1zZWNyZXQtMQ==", &src, &err), -1);
	assert_string_equal(fw_err_msg(&err), "the proxy credentials were refused");
	/* appliance:appliance-secret-2 from another source. */
	assert_int_equal(auth_with(a, "YXBwbGlhbmNlOmFwcGxpYW5jZS1zZWNyZXQtMg==", &other, &err), 0);
	/* An unknown user: the same words. */
	assert_int_equal(auth_with(a, "bm9ib2R5OmFwcGxpYW5jZS1zZWNyZXQtMg==", &src, &err), -1);
	assert_string_equal(fw_err_msg(&err), "the proxy credentials were refused");
	/* Five failures from one source within a minute lock it out, even
	 * with the right password; another source is not locked. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(auth_with(a, "YXBwbGlhbmNlOndyb25nLXBhc3N3b3Jk", &src, &err), -1);
	assert_int_equal(auth_with(a, "YXBwbGlhbmNlOmFwcGxpYW5jZS1zZWNyZXQtMg==", &src, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "locked out"));
	assert_int_equal(auth_with(a, "YXBwbGlhbmNlOmFwcGxpYW5jZS1zZWNyZXQtMg==", &other, &err), 0);
	/* A removed user is refused at once. */
	assert_int_equal(fw_proxy_user_change(dir, "second", NULL, 0, FW_PROXY_USER_REMOVE, &err), 0);
	assert_int_equal(auth_with(a, "c2Vjb25kOnNlY29uZC1zZWNyZXQtMQ==", &other, &err), -1);
	proxy_auth_free(a);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_heads),
		cmocka_unit_test(test_bad_heads),
		cmocka_unit_test(test_nul_and_limits),
		cmocka_unit_test(test_authority),
		cmocka_unit_test(test_ca_and_mint),
		cmocka_unit_test(test_upstream_names_only_from_san),
		cmocka_unit_test(test_proxy_users),
	};

	return cmocka_run_group_tests_name("proxy", tests, NULL, NULL);
}
