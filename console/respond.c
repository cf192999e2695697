/* The console's answers: every response it sends goes out here, with the
 * headers each must carry (HSTS, a strict Content-Security-Policy, no
 * caching, no framing, no sniffing, the session cookie when it changes),
 * and the request's query and form fields read back. A leaf: calls only
 * libmicrohttpd. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console/console_int.h"

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
			  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

int64_t console_now(void)
{
	return (int64_t)time(NULL);
}

static void add_common_headers(struct creq *r, struct MHD_Response *resp, const char *cache)
{
	MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(resp, "Cache-Control", cache != NULL ? cache : "no-store");
	if (r->set_cookie[0] != '\0')
		MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
}

enum MHD_Result console_send_static(struct creq *r, unsigned status, const char *type, const void *data, size_t len,
				    const char *cache)
{
	/* A copy: this libmicrohttpd takes no const buffer. */
	char *copy = malloc(len + 1);
	struct MHD_Response *resp;
	enum MHD_Result rc;

	if (copy == NULL)
		return MHD_NO;
	memcpy(copy, data, len);
	resp = MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(copy);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	add_common_headers(r, resp, cache);
	rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

enum MHD_Result console_send(struct creq *r, unsigned status, const char *type, struct cbuf *body)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	if (body->oom) {
		static const char msg[] = "the page is too large or memory ran out\n";

		cbuf_free(body);
		return console_send_static(r, 500, "text/plain; charset=utf-8", msg, sizeof(msg) - 1, NULL);
	}
	if (body->p == NULL)
		cbuf_puts(body, "");
	if (body->oom)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(body->len, body->p, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		cbuf_free(body);
		return MHD_NO;
	}
	body->p = NULL;
	body->len = body->cap = 0;
	MHD_add_response_header(resp, "Content-Type", type);
	add_common_headers(r, resp, NULL);
	rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

enum MHD_Result console_redirect(struct creq *r, const char *location)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Location", location);
	add_common_headers(r, resp, NULL);
	rc = MHD_queue_response(r->conn, 303, resp);
	MHD_destroy_response(resp);
	return rc;
}

const char *console_arg(struct creq *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *console_field(struct creq *r, const char *name)
{
	for (size_t i = 0; i < r->n_fields; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return r->fields[i].value;
	return NULL;
}

