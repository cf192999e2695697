/* console/ internals: the server, one request's context, the page
 * builder, the route table and the handlers' shared helpers. */
#ifndef FWGATE_CONSOLE_INT_H
#define FWGATE_CONSOLE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "fwgate/console.h"
#include "fwgate/proxy.h"
#include "fwgate/store_accounts.h"

/* Bounds on what a client sends: a form or a JSON body (no uploads). */
#define CONSOLE_BODY_MAX (16 * 1024)
#define CONSOLE_FIELDS_MAX 16
/* A page that would grow past this is refused (500), never cut. */
#define CONSOLE_PAGE_MAX (16 * 1024 * 1024)
/* Rows on one page of a list. */
#define CONSOLE_PAGE_ROWS 50
#define CONSOLE_COOKIE "fwgate_session"

enum listener_kind {
	LISTEN_CONSOLE = 0,           /* the console (and the mirror, unless it has its own) */
	LISTEN_MIRROR,                /* [mirror] listen: the mirror only, HTTPS */
	LISTEN_HTTP,                  /* [mirror] http_listen: hash-named URLs only, plain HTTP */
	LISTEN_KINDS,
};

struct console_listener {
	struct fw_console *c;
	enum listener_kind kind;
	struct MHD_Daemon *mhd;
	char bound[96];
};

struct fw_console {
	struct fw_console_deps d;
	struct console_listener l[LISTEN_KINDS];
	struct fw_mirror_auth *mirror_auth;   /* NULL: [mirror] auth = none */
	char *cert_pem, *key_pem;
	char *ca_pem;
	char ca_fp[128];
};

/* A growable text buffer; a failed growth sets oom and later writes are
 * dropped (checked once, when the response is made). */
struct cbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

void cbuf_free(struct cbuf *b);
void cbuf_putn(struct cbuf *b, const char *s, size_t n);
void cbuf_puts(struct cbuf *b, const char *s);
void cbuf_printf(struct cbuf *b, const char *fmt, ...) FW_PRINTF(2, 3);
/* s escaped for HTML text and double-quoted attribute values. */
void cbuf_html(struct cbuf *b, const char *s);
void cbuf_htmln(struct cbuf *b, const char *s, size_t n);
/* s percent-encoded as a URL query value. */
void cbuf_urlenc(struct cbuf *b, const char *s);
/* A unix time as "2026-12-04 10:00:00 UTC" (or "-" for 0). */
void cbuf_time(struct cbuf *b, int64_t t);
void cbuf_size(struct cbuf *b, uint64_t bytes);

enum auth_kind {
	AUTH_NONE = 0,
	AUTH_SESSION,                 /* a browser, cookie + CSRF */
	AUTH_TOKEN,                   /* automation, bearer token, no cookie */
};

struct form_field {
	char *name, *value;
};

/* One request. */
struct creq {
	struct fw_console *c;
	struct MHD_Connection *conn;
	const char *method, *path;
	bool post;
	char source[FW_SOURCE_MAX];
	int64_t started;              /* monotonic ms */
	char *body;
	size_t body_len;
	bool body_too_big, body_done;
	struct form_field fields[CONSOLE_FIELDS_MAX];
	size_t n_fields;
	json_t *json;                 /* an API POST's body */
	/* Who asks. */
	enum auth_kind auth;
	struct fw_session sess;
	char who[FW_ACCOUNT_NAME_MAX + 1];
	enum fw_role role;
	char via[FW_SOURCE_MAX + 16];
	/* Set-Cookie of the response, when it changes the session. */
	char set_cookie[256];
	bool csrf_ok;                 /* a POST carried the session's CSRF token */
	int64_t id;                   /* the ID of /objects/ID/... */
	/* A mirror pull, for its event. */
	enum listener_kind kind;
	bool mirror, plain_http;
	unsigned mirror_status;
	uint64_t mirror_bytes;
	char mirror_sha[FW_SHA256_HEX_LEN + 1];
	char mirror_user[FW_PROXY_USER_NAME_MAX + 1];
};

/* ------------------------------------------------------------ form.c */

/* Decodes an application/x-www-form-urlencoded body in place (body[len]
 * must be writable: it becomes a NUL): '+' is a space, %XX is decoded by
 * libmicrohttpd, an empty part is skipped. Fails on a part without '='
 * or more than max fields. fields point into body. */
int console_form_parse(char *body, size_t len, struct form_field *fields, size_t max, size_t *n);

/* ------------------------------------------------------------ server.c */

/* Queues a response; adds the security headers every response has. */
enum MHD_Result console_send(struct creq *r, unsigned status, const char *type, struct cbuf *body);
enum MHD_Result console_send_static(struct creq *r, unsigned status, const char *type, const void *data,
				    size_t len, const char *cache);
enum MHD_Result console_redirect(struct creq *r, const char *location);
/* A query-string argument, or NULL. */
const char *console_arg(struct creq *r, const char *name);
/* A form field of a POST, or NULL. */
const char *console_field(struct creq *r, const char *name);
int64_t console_now(void);

/* ------------------------------------------------------------ auth.c */

/* Reads the session cookie or the bearer token into r (auth, who, role). */
int auth_identify(struct creq *r, struct fw_err *err);
/* For a session POST: the form's csrf field equals the session's. */
bool auth_csrf_valid(struct creq *r);
enum MHD_Result auth_login_page(struct creq *r, const char *error, unsigned status);
enum MHD_Result auth_login_post(struct creq *r);
enum MHD_Result auth_logout_post(struct creq *r);
enum MHD_Result auth_password_post(struct creq *r);
/* Lockout back-off for failures (config): seconds still to wait at now
 * after the last failure at last_at, 0 when not locked. */
int64_t auth_lockout_left(const struct fw_config *cfg, unsigned failures, int64_t last_at, int64_t now);
/* A session expired at now by the config's idle or absolute bound. */
bool auth_session_expired(const struct fw_config *cfg, const struct fw_session *s, int64_t now);

/* ------------------------------------------------------------ layout.c */

void page_begin(struct cbuf *b, struct creq *r, const char *title);
void page_end(struct cbuf *b);
/* The hidden CSRF field of a form. */
void page_csrf(struct cbuf *b, struct creq *r);
void page_state_badge(struct cbuf *b, const char *state);
void page_verdict_badge(struct cbuf *b, const char *verdict);
enum MHD_Result page_error(struct creq *r, unsigned status, const char *fmt, ...) FW_PRINTF(3, 4);
/* A JSON string field of o, "" when absent. */
const char *jstr(const json_t *o, const char *key);
long long jint(const json_t *o, const char *key);

/* ------------------------------------------------------------ the handlers */

/* The quarantine filter of the request's query string (state, verdict,
 * host, since, until, before); false and *why when malformed. */
bool quarantine_query(struct creq *r, struct fw_quarantine_query *q, const char **why);
/* The audit rows as a table with the given element id. */
void page_audit_rows(struct cbuf *b, const json_t *rows, const char *id);

enum MHD_Result page_dashboard(struct creq *r);
enum MHD_Result page_quarantine(struct creq *r);
enum MHD_Result page_object(struct creq *r);
enum MHD_Result page_requests(struct creq *r);
enum MHD_Result page_review_post(struct creq *r, const char *action);
enum MHD_Result page_sandbox(struct creq *r);
enum MHD_Result page_sandbox_job(struct creq *r);
enum MHD_Result page_sandbox_retry(struct creq *r);
enum MHD_Result page_audit(struct creq *r);
enum MHD_Result page_events(struct creq *r);
enum MHD_Result page_ca(struct creq *r);
enum MHD_Result page_ca_download(struct creq *r);
enum MHD_Result page_account(struct creq *r);
enum MHD_Result api_dispatch(struct creq *r, const char *rest);
enum MHD_Result metrics_page(struct creq *r);

/* ------------------------------------------------------------ review.c (shared by pages and API) */

/* Carries out a review action ("release", "reject", "cancel") on r->id
 * with reason and the override flag, after the role checks; *msg says
 * what happened (for people). Returns the HTTP status. */
unsigned review_act(struct creq *r, const char *action, const char *reason, bool override, char *msg, size_t len);
unsigned sandbox_retry_act(struct creq *r, char *msg, size_t len);

/* ------------------------------------------------------------ events.c */

struct ev_query {
	const char *text;        /* case-insensitive substring of the line; NULL or "": any */
	const char *action;      /* event.action exactly; NULL or "": any */
	const char *day;         /* "YYYY-MM-DD" prefix of @timestamp; NULL or "": any */
	unsigned limit;
};

/* The newest matching events of the log (at most q->limit), newest first,
 * from the last EVENTS_TAIL_MAX bytes of the file; *truncated says whether
 * the file had more before them. */
int events_search(const char *path, const struct ev_query *q, json_t **out, bool *truncated, struct fw_err *err);
/* Today's proxy-request events by outcome and verdict: {"success": n,
 * "failure": n, "verdicts": {v: n}}. */
int events_today(const char *path, json_t **out, bool *truncated, struct fw_err *err);

/* ------------------------------------------------------------ mirror.c */

/* GET/HEAD /firmware/...: access, then the image or the index. */
enum MHD_Result mirror_dispatch(struct creq *r);
/* The pull's event, at the end of the request. */
void mirror_event(struct creq *r, bool completed);
/* A Range field against size: 1 and the part (*off, *len), 0 for the
 * whole (no field, another unit, several ranges, a malformed one), -1
 * when unsatisfiable (416). */
int mirror_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len);

/* ------------------------------------------------------------ embedded assets */

extern const unsigned char console_css[];
extern const size_t console_css_len;
extern const unsigned char console_js[];
extern const size_t console_js_len;

#endif
