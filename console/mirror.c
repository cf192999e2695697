/* The mirror: vetted images for BMCs. GET and HEAD of
 * /firmware/<sha256>/<name> (and /firmware/<sha256>) serve an approved or
 * released object's blob, byte for byte from the store, with Range,
 * ETag (the SHA-256), Content-Length and Last-Modified; anything else is
 * 404, with no word on whether the store holds it. /firmware/index.json
 * lists what is servable. Who may pull: a source address in [mirror]
 * allow (403 otherwise), and with [mirror] auth = basic the credentials of
 * a BMC group (401). The plain-HTTP listener, when an operator enables it,
 * serves the hash-named URLs only (no index). Every pull is an event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "console/console_int.h"
#include "fwgate/proxy.h"

/* Objects listed in index.json at most (the newest). */
#define MIRROR_INDEX_MAX 20000

int mirror_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	unsigned long long a = 0, b = 0;
	const char *p;
	char *end;

	*off = 0;
	*len = size;
	if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 0;  /* none, another unit, or several ranges: the whole */
	p = h + 6;
	if (*p == '-') {
		if (p[1] < '0' || p[1] > '9')
			return 0;
		b = strtoull(p + 1, &end, 10);
		if (*end != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*len = b < size ? b : size;
		*off = size - *len;
		return 1;
	}
	if (*p < '0' || *p > '9')
		return 0;
	a = strtoull(p, &end, 10);
	if (*end != '-')
		return 0;
	p = end + 1;
	if (*p == '\0') {
		b = size > 0 ? size - 1 : 0;
	} else {
		if (*p < '0' || *p > '9')
			return 0;
		b = strtoull(p, &end, 10);
		if (*end != '\0' || b < a)
			return 0;
	}
	if (a >= size)
		return -1;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

static bool is_sha256(const char *s, size_t n)
{
	if (n != FW_SHA256_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '.' || s[i] == '_' || s[i] == '-' || s[i] == '+'))
			return false;
	return true;
}

static enum MHD_Result mirror_plain(struct creq *r, unsigned status, const char *msg)
{
	struct cbuf b = { 0 };

	cbuf_puts(&b, msg);
	cbuf_puts(&b, "\n");
	return console_send(r, status, "text/plain; charset=utf-8", &b);
}

/* The source may pull, and its credentials hold. */
static enum MHD_Result mirror_access(struct creq *r, bool *ok)
{
	const struct fw_config *cfg = r->c->d.cfg;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct fw_err err;

	*ok = false;
	fw_err_clear(&err);
	if (ci == NULL || ci->client_addr == NULL ||
	    !fw_cidr_list_contains(cfg->mirror.allow, cfg->mirror.n_allow, ci->client_addr)) {
		r->mirror_status = 403;
		return mirror_plain(r, 403, "this address may not pull from the mirror ([mirror] allow)");
	}
	if (r->c->mirror_auth != NULL) {
		const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");

		if (fw_mirror_auth_check(r->c->mirror_auth, h, r->source, r->mirror_user, sizeof(r->mirror_user),
					 &err) != 0) {
			struct cbuf b = { 0 };
			struct MHD_Response *resp;
			enum MHD_Result rc;

			r->mirror_status = 401;
			cbuf_puts(&b, fw_err_msg(&err));
			cbuf_puts(&b, "\n");
			if (b.oom || (resp = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE)) == NULL) {
				cbuf_free(&b);
				return MHD_NO;
			}
			MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"fwgate mirror\"");
			MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
			rc = MHD_queue_response(r->conn, 401, resp);
			MHD_destroy_response(resp);
			return rc;
		}
	}
	*ok = true;
	return MHD_YES;
}

/* Over TLS libmicrohttpd cannot use sendfile and reads a file response in
 * small blocks; a reader of MIRROR_BLOCK bytes a call lets each round of
 * the event loop encrypt and send that much. */
#define MIRROR_BLOCK (256 * 1024)

struct blob_reader {
	int fd;
	uint64_t off, end;
};

static ssize_t blob_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct blob_reader *br = cls;
	uint64_t at = br->off + pos;
	ssize_t got;

	if (at >= br->end)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (max > br->end - at)
		max = (size_t)(br->end - at);
	got = pread(br->fd, buf, max, (off_t)at);
	return got > 0 ? got : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void blob_free(void *cls)
{
	struct blob_reader *br = cls;

	close(br->fd);
	free(br);
}

static struct MHD_Response *blob_response(int fd, uint64_t off, uint64_t len, bool tls)
{
	struct blob_reader *br;
	struct MHD_Response *resp;

	if (!tls)
		return MHD_create_response_from_fd_at_offset64(len, fd, off);
	if ((br = malloc(sizeof(*br))) == NULL)
		return NULL;
	*br = (struct blob_reader){ .fd = fd, .off = off, .end = off + len };
	resp = MHD_create_response_from_callback(len, MIRROR_BLOCK, blob_read, br, blob_free);
	if (resp == NULL)
		free(br);
	return resp;
}

static enum MHD_Result mirror_blob(struct creq *r, const char *sha, const char *name)
{
	const char *range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
	const char *if_range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-Range");
	char etag[FW_SHA256_HEX_LEN + 3], lastmod[64], disp[300], crange[96];
	struct MHD_Response *resp;
	uint64_t size = 0, off, len;
	struct fw_err err;
	struct stat sb;
	enum MHD_Result rc;
	struct tm tm;
	int fd = -1, part;

	fw_err_clear(&err);
	snprintf(r->mirror_sha, sizeof(r->mirror_sha), "%s", sha);
	if (fw_store_open_blob(r->c->d.store, sha, &fd, &size, &err) != 0) {
		r->mirror_status = 404;
		return mirror_plain(r, 404, "no such image");
	}
	snprintf(etag, sizeof(etag), "\"%s\"", sha);
	if (if_range != NULL && strcmp(if_range, etag) != 0)
		range = NULL;   /* another version than the client has: the whole */
	part = mirror_range(range, size, &off, &len);
	if (part < 0) {
		close(fd);
		r->mirror_status = 416;
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			return MHD_NO;
		snprintf(crange, sizeof(crange), "bytes */%llu", (unsigned long long)size);
		MHD_add_response_header(resp, "Content-Range", crange);
		rc = MHD_queue_response(r->conn, 416, resp);
		MHD_destroy_response(resp);
		return rc;
	}
	resp = blob_response(fd, off, len, !r->plain_http);
	if (resp == NULL) {
		close(fd);
		return MHD_NO;
	}
	lastmod[0] = '\0';
	if (fstat(fd, &sb) == 0 && gmtime_r(&sb.st_mtime, &tm) != NULL)
		strftime(lastmod, sizeof(lastmod), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name != NULL ? name : sha);
	MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
	MHD_add_response_header(resp, "Content-Disposition", disp);
	MHD_add_response_header(resp, "ETag", etag);
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	MHD_add_response_header(resp, "X-Fwgate-SHA256", sha);
	if (lastmod[0] != '\0')
		MHD_add_response_header(resp, "Last-Modified", lastmod);
	if (part == 1) {
		snprintf(crange, sizeof(crange), "bytes %llu-%llu/%llu", (unsigned long long)off,
			 (unsigned long long)(off + len - 1), (unsigned long long)size);
		MHD_add_response_header(resp, "Content-Range", crange);
	}
	r->mirror_status = part == 1 ? 206 : 200;
	r->mirror_bytes = strcmp(r->method, "HEAD") == 0 ? 0 : len;
	rc = MHD_queue_response(r->conn, r->mirror_status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* index.json: what is servable, newest first. */
static enum MHD_Result mirror_index(struct creq *r)
{
	static const char *const states[] = { "approved", "released" };
	json_t *list = json_array(), *doc;
	struct cbuf b = { 0 };
	struct fw_err err;
	char *text;

	fw_err_clear(&err);
	if (list == NULL)
		return MHD_NO;
	for (size_t s = 0; s < FW_ARRAY_LEN(states); s++) {
		struct fw_quarantine_query q = { .state = states[s], .limit = 1000 };

		for (;;) {
			json_t *items = NULL, *v;
			int64_t total = 0;
			size_t i, n;

			if (fw_store_quarantine_page(r->c->d.store, &q, &items, &total, &err) != 0) {
				json_decref(list);
				return mirror_plain(r, 503, fw_err_msg(&err));
			}
			json_array_foreach(items, i, v) {
				const char *url = jstr(v, "url"), *slash = strrchr(url, '/'), *sha = jstr(v, "sha256");
				char name[256];

				snprintf(name, sizeof(name), "%s", slash != NULL && slash[1] != '\0' ? slash + 1 : sha);
				name[strcspn(name, "?#")] = '\0';
				if (!name_ok(name))
					snprintf(name, sizeof(name), "%s", sha);
				json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:s+++}",
					"sha256", sha, "size", (json_int_t)jint(v, "size"), "name", name, "url", url,
					"state", jstr(v, "state"), "verdict", jstr(v, "verdict"), "first_seen",
					(json_int_t)jint(v, "first_seen"), "href", "/firmware/", sha, "/", name));
			}
			n = json_array_size(items);
			if (n > 0)
				q.before_id = jint(json_array_get(items, n - 1), "id");
			json_decref(items);
			if (n < q.limit || json_array_size(list) >= MIRROR_INDEX_MAX)
				break;
		}
	}
	doc = json_pack("{s:i, s:o}", "version", 1, "images", list);
	text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text == NULL)
		return MHD_NO;
	cbuf_puts(&b, text);
	cbuf_puts(&b, "\n");
	free(text);
	r->mirror_status = 200;
	return console_send(r, 200, "application/json", &b);
}

enum MHD_Result mirror_dispatch(struct creq *r)
{
	const char *p = r->path + strlen("/firmware/"), *slash;
	char sha[FW_SHA256_HEX_LEN + 1];
	enum MHD_Result rc;
	bool ok;

	r->mirror = true;
	if (r->post)
		return mirror_plain(r, 405, "the mirror serves GET and HEAD");
	rc = mirror_access(r, &ok);
	if (!ok)
		return rc;
	if (strcmp(p, "index.json") == 0 && !r->plain_http)
		return mirror_index(r);
	slash = strchr(p, '/');
	if (!is_sha256(p, slash != NULL ? (size_t)(slash - p) : strlen(p)) || (slash != NULL && !name_ok(slash + 1))) {
		r->mirror_status = 404;
		return mirror_plain(r, 404, "no such image");
	}
	memcpy(sha, p, FW_SHA256_HEX_LEN);
	sha[FW_SHA256_HEX_LEN] = '\0';
	return mirror_blob(r, sha, slash != NULL ? slash + 1 : NULL);
}

void mirror_event(struct creq *r, bool completed)
{
	const struct fw_event_field extra[] = {
		{ .key = "http.response.status_code", .num = r->mirror_status },
		{ .key = "http.response.body.bytes", .num = (long long)r->mirror_bytes },
		{ .key = "user.name", .str = r->mirror_user[0] != '\0' ? r->mirror_user : NULL },
		{ .key = "url.path", .str = r->path },
	};
	const struct fw_event ev = {
		.action = "mirror-pull",
		.outcome = completed && (r->mirror_status == 200 || r->mirror_status == 206) ? FW_OUTCOME_SUCCESS
											      : FW_OUTCOME_FAILURE,
		.source_ip = r->source, .sha256 = r->mirror_sha[0] != '\0' ? r->mirror_sha : NULL,
		.extra = extra, .n_extra = FW_ARRAY_LEN(extra),
	};

	if (r->c->d.log != NULL)
		fw_evlog_emit(r->c->d.log, &ev);
}
