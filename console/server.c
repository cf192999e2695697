/* The console's HTTPS listener (libmicrohttpd over GnuTLS): the daemon
 * and its bounds (connections in all and per source, request size, no
 * uploads, per-request time), one request's life (body collected within
 * CONSOLE_BODY_MAX, form decoded with MHD_http_unescape), the route
 * table, and the headers every response carries (HSTS, a strict CSP, no
 * caching, no framing, no sniffing). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "console/console_int.h"
#include "fwgate/fileio.h"
#include "fwgate/proxy.h"

/* TLS 1.2 and 1.3 only, AEAD ciphers only, the server's order. */
#define CONSOLE_TLS_PRIORITIES \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
	"-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"
/* The minted certificate's life; every start issues a new one. */
#define CONSOLE_CERT_DAYS 397

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void source_of(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	snprintf(out, len, "%s", "unknown");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)len);
}

/* "/objects/12/release" with prefix "/objects/": r->id = 12, *rest =
 * "/release" (or ""). */
static bool path_id(struct creq *r, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);
	const char *p = r->path + n;
	int64_t v = 0;

	if (strncmp(r->path, prefix, n) != 0 || *p < '1' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (*p != '\0' && *p != '/')
		return false;
	r->id = v;
	*rest = p;
	return true;
}

/* A browser's POST must come from the console's own pages: the CSRF
 * token, and, when the browser says where the request comes from, the
 * same site. */
static bool post_same_origin(struct creq *r)
{
	const char *site = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");

	return site == NULL || strcmp(site, "same-origin") == 0 || strcmp(site, "none") == 0;
}

static enum MHD_Result route_post(struct creq *r)
{
	const char *rest;

	if (strcmp(r->path, "/login") == 0)
		return post_same_origin(r) ? auth_login_post(r) : page_error(r, 403, "cross-site login refused");
	if (r->auth != AUTH_SESSION)
		return page_error(r, 403, "log in first");
	if (!post_same_origin(r) || !auth_csrf_valid(r))
		return page_error(r, 403, "this form is stale or did not come from the console (CSRF check failed): "
				  "reload the page and try again");
	if (strcmp(r->path, "/logout") == 0)
		return auth_logout_post(r);
	if (strcmp(r->path, "/account/password") == 0)
		return auth_password_post(r);
	if (path_id(r, "/objects/", &rest)) {
		if (strcmp(rest, "/release") == 0 || strcmp(rest, "/reject") == 0 || strcmp(rest, "/cancel") == 0)
			return page_review_post(r, rest + 1);
	}
	if (path_id(r, "/sandbox/", &rest) && strcmp(rest, "/retry") == 0)
		return page_sandbox_retry(r);
	return page_error(r, 404, "no such action");
}

static enum MHD_Result route_get(struct creq *r)
{
	static const struct {
		const char *path;
		enum MHD_Result (*fn)(struct creq *r);
	} pages[] = {
		{ "/", page_dashboard }, { "/quarantine", page_quarantine }, { "/requests", page_requests },
		{ "/sandbox", page_sandbox }, { "/audit", page_audit }, { "/events", page_events },
		{ "/ca", page_ca }, { "/ca.crt", page_ca_download }, { "/account", page_account },
	};
	const char *rest;

	if (strcmp(r->path, "/login") == 0)
		return r->auth == AUTH_SESSION ? console_redirect(r, "/") : auth_login_page(r, NULL, 200);
	if (r->auth != AUTH_SESSION)
		return console_redirect(r, "/login");
	for (size_t i = 0; i < FW_ARRAY_LEN(pages); i++)
		if (strcmp(r->path, pages[i].path) == 0)
			return pages[i].fn(r);
	if (path_id(r, "/objects/", &rest) && rest[0] == '\0')
		return page_object(r);
	if (path_id(r, "/sandbox/", &rest) && rest[0] == '\0')
		return page_sandbox_job(r);
	return page_error(r, 404, "no such page");
}

static enum MHD_Result route(struct creq *r)
{
	struct fw_err err;

	fw_err_clear(&err);
	if (strncmp(r->path, "/firmware/", 10) == 0)
		return mirror_dispatch(r);
	if (r->kind != LISTEN_CONSOLE)
		return console_send_static(r, 404, "text/plain; charset=utf-8", "this listener serves /firmware/ only\n",
					   37, NULL);
	if (strcmp(r->path, "/static/console.css") == 0)
		return console_send_static(r, 200, "text/css; charset=utf-8", console_css, console_css_len,
					   "public, max-age=3600");
	if (strcmp(r->path, "/static/console.js") == 0)
		return console_send_static(r, 200, "text/javascript; charset=utf-8", console_js, console_js_len,
					   "public, max-age=3600");
	if (auth_identify(r, &err) != 0)
		return page_error(r, 503, "the console cannot read its accounts: %s", fw_err_msg(&err));
	if (strcmp(r->path, "/metrics") == 0)
		return metrics_page(r);
	if (strncmp(r->path, "/api/v1/", 8) == 0)
		return api_dispatch(r, r->path + 7);
	return r->post ? route_post(r) : route_get(r);
}

/* Collects a POST body within its bound; false when the request must be
 * answered now (too large, too slow, wrong type). */
static enum MHD_Result collect_body(struct creq *r, const char *data, size_t *size, bool *answered)
{
	*answered = false;
	if (mono_ms() - r->started > (int64_t)r->c->d.cfg->console.request_timeout_seconds * 1000) {
		*answered = true;
		return page_error(r, 408, "the request took too long");
	}
	if (r->body_len + *size > CONSOLE_BODY_MAX) {
		r->body_too_big = true;
	} else {
		char *p = realloc(r->body, r->body_len + *size + 1);

		if (p == NULL)
			return MHD_NO;
		memcpy(p + r->body_len, data, *size);
		r->body = p;
		r->body_len += *size;
		r->body[r->body_len] = '\0';
	}
	*size = 0;
	return MHD_YES;
}

static enum MHD_Result request_first(struct console_listener *l, struct MHD_Connection *conn, const char *url,
				     const char *method, void **con_cls)
{
	struct creq *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return MHD_NO;
	r->c = l->c;
	r->kind = l->kind;
	r->plain_http = l->kind == LISTEN_HTTP;
	r->conn = conn;
	r->method = method;
	r->path = url;
	r->post = strcmp(method, "POST") == 0;
	r->started = mono_ms();
	source_of(conn, r->source, sizeof(r->source));
	*con_cls = r;
	return MHD_YES;
}

/* The body is complete: decode it for its type. */
static enum MHD_Result request_body_done(struct creq *r)
{
	const char *type = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");

	if (strncmp(r->path, "/firmware/", 10) == 0 || r->kind != LISTEN_CONSOLE)
		return route(r);  /* the mirror takes no body: it says so */
	if (r->body_too_big)
		return page_error(r, 413, "the request body is larger than %d bytes", CONSOLE_BODY_MAX);
	if (type != NULL && strncasecmp(type, "application/json", 16) == 0 && strncmp(r->path, "/api/", 5) == 0) {
		json_error_t je;

		r->json = json_loadb(r->body != NULL ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &je);
		if (r->json == NULL || !json_is_object(r->json))
			return page_error(r, 400, "the body is not a JSON object");
	} else if (type != NULL && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0) {
		if (r->body != NULL &&
		    console_form_parse(r->body, r->body_len, r->fields, CONSOLE_FIELDS_MAX, &r->n_fields) != 0)
			return page_error(r, 400, "the form is malformed or has too many fields");
	} else if (r->body_len > 0 || strncmp(r->path, "/api/", 5) != 0) {
		return page_error(r, 415, "a form (application/x-www-form-urlencoded) or JSON is expected");
	}
	return route(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct creq *r = *con_cls;
	bool answered;
	enum MHD_Result rc;

	(void)version;
	if (r == NULL)
		return request_first(cls, conn, url, method, con_cls);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && !r->post)
		return page_error(r, 405, "method not allowed");
	if (!r->post) {
		if (*upload_data_size != 0)
			return page_error(r, 413, "a %s request has no body", method);
		return route(r);
	}
	if (*upload_data_size != 0) {
		rc = collect_body(r, upload_data, upload_data_size, &answered);
		return rc;
	}
	if (r->body_done)
		return MHD_YES;
	r->body_done = true;
	return request_body_done(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct creq *r = *con_cls;

	(void)cls;
	(void)conn;
	if (r == NULL)
		return;
	if (r->mirror)
		mirror_event(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	if (r->body != NULL)
		explicit_bzero(r->body, r->body_len);  /* a password may have been in it */
	free(r->body);
	json_decref(r->json);
	explicit_bzero(r, sizeof(*r));
	free(r);
	*con_cls = NULL;
}

/* libmicrohttpd's own complaints (a client's bad TLS, a closed socket)
 * are a client's doing: not for stderr. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

static int console_cert(struct fw_console *c, struct fw_err *err)
{
	const struct fw_config *cfg = c->d.cfg;
	const struct fw_listen_addr *at[] = { &cfg->console.listen, &cfg->mirror.listen };
	const char *ips[2];
	size_t n_ips = 0;

	if (cfg->console.cert_file[0] != '\0') {
		uint8_t *crt = NULL, *key = NULL;
		size_t len;

		if (fw_file_read(cfg->console.cert_file, 1024 * 1024, &crt, &len, err) != 0 ||
		    fw_file_read(cfg->console.key_file, 1024 * 1024, &key, &len, err) != 0) {
			free(crt);
			return fw_err_prefix(err, "[console] cert_file/key_file");
		}
		c->cert_pem = (char *)crt;
		c->key_pem = (char *)key;
		return 0;
	}
	/* The name, and each HTTPS listener's address unless a wildcard. */
	for (size_t i = 0; i < FW_ARRAY_LEN(at); i++)
		if (at[i]->port != 0 && strcmp(at[i]->ip, "0.0.0.0") != 0 && strcmp(at[i]->ip, "::") != 0 &&
		    (n_ips == 0 || strcmp(ips[0], at[i]->ip) != 0))
			ips[n_ips++] = at[i]->ip;
	return fw_ca_issue_server(cfg->state.dir, cfg->console.name, ips, n_ips, CONSOLE_CERT_DAYS, &c->cert_pem,
				  &c->key_pem, err);
}

static int console_bind(struct console_listener *l, const struct fw_listen_addr *at, struct fw_err *err)
{
	const struct fw_config *cfg = l->c->d.cfg;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	fw_listen_addr_str(at, l->bound, sizeof(l->bound));
	memset(&ss, 0, sizeof(ss));
	if (at->ipv6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(at->port);
		if (inet_pton(AF_INET6, at->ip, &s6->sin6_addr) != 1)
			return fw_err_setc(err, FW_E_CONFIG, "%s: bad address", l->bound);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(at->port);
		if (inet_pton(AF_INET, at->ip, &s4->sin_addr) != 1)
			return fw_err_setc(err, FW_E_CONFIG, "%s: bad address", l->bound);
	}
	errno = 0;
	if (l->kind == LISTEN_HTTP)
		l->mhd = MHD_start_daemon(
			flags, at->port, NULL, NULL, on_request, l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_THREAD_POOL_SIZE, (unsigned)2,
			MHD_OPTION_CONNECTION_LIMIT, cfg->console.max_connections,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->console.max_connections_per_source,
			MHD_OPTION_CONNECTION_TIMEOUT, cfg->console.request_timeout_seconds,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
			MHD_OPTION_END);
	else
		l->mhd = MHD_start_daemon(
			flags | MHD_USE_TLS, at->port, NULL, NULL, on_request, l,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_HTTPS_MEM_CERT, l->c->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, l->c->key_pem,
			MHD_OPTION_HTTPS_PRIORITIES, CONSOLE_TLS_PRIORITIES,
			MHD_OPTION_THREAD_POOL_SIZE, (unsigned)2,
			MHD_OPTION_CONNECTION_LIMIT, cfg->console.max_connections,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->console.max_connections_per_source,
			MHD_OPTION_CONNECTION_TIMEOUT, cfg->console.request_timeout_seconds,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
			MHD_OPTION_END);
	if (l->mhd == NULL)
		return fw_err_sys(err, errno != 0 ? errno : EADDRINUSE, "cannot serve %s on %s",
				  l->kind == LISTEN_CONSOLE ? "the console" : "the mirror", l->bound);
	return 0;
}

/* The plain-HTTP mirror is said at start, where the operator and the SIEM
 * see it: the policy blocks clear-text management. */
static void http_mirror_said(struct fw_console *c)
{
	char reason[256];
	const struct fw_event ev = { .action = "mirror-http-listening", .outcome = FW_OUTCOME_SUCCESS,
				     .reason = reason };

	snprintf(reason, sizeof(reason), "plain-HTTP mirror on %s ([mirror] http_listen): it serves hash-named "
		 "URLs only (/firmware/<sha256>[/<name>]), no index; the policy blocks clear-text management",
		 c->l[LISTEN_HTTP].bound);
	fprintf(stderr, "fwgate: warning: %s\n", reason);
	if (c->d.log != NULL)
		fw_evlog_emit(c->d.log, &ev);
}

int fw_console_start(struct fw_console **out, const struct fw_console_deps *deps, struct fw_err *err)
{
	const struct fw_config *cfg = deps->cfg;
	const struct fw_listen_addr *at[LISTEN_KINDS] = { &cfg->console.listen, &cfg->mirror.listen,
							  &cfg->mirror.http_listen };
	struct fw_console *c;

	*out = NULL;
	if (at[LISTEN_CONSOLE]->port == 0 && at[LISTEN_MIRROR]->port == 0 && at[LISTEN_HTTP]->port == 0)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return fw_err_setc(err, FW_E_CONFIG, "this libmicrohttpd has no TLS: the console serves HTTPS only");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	c->d = *deps;
	for (int k = 0; k < LISTEN_KINDS; k++) {
		c->l[k].c = c;
		c->l[k].kind = (enum listener_kind)k;
	}
	if (console_cert(c, err) != 0 || fw_ca_pem(cfg->state.dir, &c->ca_pem, c->ca_fp, sizeof(c->ca_fp), err) != 0 ||
	    (cfg->mirror.auth == FW_PROXY_AUTH_BASIC && fw_mirror_auth_new(&c->mirror_auth, cfg->state.dir, err) != 0))
		goto fail;
	for (int k = 0; k < LISTEN_KINDS; k++)
		if (at[k]->port != 0 && console_bind(&c->l[k], at[k], err) != 0)
			goto fail;
	if (c->l[LISTEN_HTTP].mhd != NULL)
		http_mirror_said(c);
	*out = c;
	return 0;
fail:
	fw_console_stop(c);
	return -1;
}

void fw_console_stop(struct fw_console *c)
{
	if (c == NULL)
		return;
	for (int k = 0; k < LISTEN_KINDS; k++)
		if (c->l[k].mhd != NULL)
			MHD_stop_daemon(c->l[k].mhd);
	fw_mirror_auth_free(c->mirror_auth);
	if (c->key_pem != NULL)
		explicit_bzero(c->key_pem, strlen(c->key_pem));
	free(c->key_pem);
	free(c->cert_pem);
	free(c->ca_pem);
	free(c);
}
