/* A CAPEv2-REST-API-compatible stand-in, for fwgate's integration tests
 * only: it lets them exercise the CAPE sandbox backend where no CAPE runs.
 * It is NOT a sandbox. Nothing submitted is executed, opened or stored:
 * each upload is hashed and searched for the CAPE-TEST-* markers, and the
 * apiv2 endpoints the backend uses (tasks/create/file, tasks/view,
 * tasks/get/report) answer with canned, marker-driven results on a short
 * clock. /test/stats and /test/mode let a test read counters and make the
 * service fail or hang. Listens on 127.0.0.1 only, on an ephemeral port
 * written to --port-file, and lives at most --max-seconds. Never deploy. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_UPLOAD (256ull << 20)  /* file bytes of one submission */
#define UPLOAD_SLACK (1ull << 20)  /* multipart framing tolerated above it */
#define MAX_TASKS 10000u
#define MAX_URL 1024u
#define MAX_NAME 255u              /* bytes of a target's file name kept */
#define PP_BUFFER (64u << 10)
#define MAX_CONNECTIONS 64u
#define CONN_TIMEOUT 120u          /* seconds a connection may sit idle */
#define PENDING_SECONDS 0.1
#define ANALYSIS_SECONDS 0.3
#define HANG_SECONDS 30

static const char broken_page[] =
	"<html><head><title>500 Internal Server Error</title></head>\n"
	"<body><h1>Internal Server Error</h1></body></html>\n";

/* ------------------------------------------------------------ samples */

enum { T_SLOW = 1, T_FAIL = 2, T_SUSPICIOUS = 4, T_MALICIOUS = 8 };

static const struct marker {
	const char *text;
	unsigned flag;
} markers[] = {
	{ "CAPE-TEST-SLOW", T_SLOW },
	{ "CAPE-TEST-FAILTASK", T_FAIL },
	{ "CAPE-TEST-SUSPICIOUS", T_SUSPICIOUS },
	{ "CAPE-TEST-MALICIOUS", T_MALICIOUS },
};
#define MARK_KEEP 31u              /* >= longest marker - 1: kept across chunks */

struct sig {
	const char *name, *description;
	int severity;
};

static const struct sig sigs_malicious[] = {
	{ "downloader_cabby", "Downloads and executes a second stage", 3 },
	{ "injection_runpe", "Executes a process injection", 3 },
};
static const struct sig sigs_suspicious[] = {
	{ "packer_entropy", "The binary likely contains encrypted or compressed data", 2 },
};

static const struct verdict {
	double score;
	const char *status;
	const struct sig *sigs;
	size_t nsigs;
} v_clean = { 0.0, "Clean", NULL, 0 },
  v_suspicious = { 4.5, "Suspicious", sigs_suspicious, ARRAY_SIZE(sigs_suspicious) },
  v_malicious = { 9.0, "Malicious", sigs_malicious, ARRAY_SIZE(sigs_malicious) };

/* ------------------------------------------------------------ state */

/* ok; error: 500 to everything; hang: 30 s, then 500; garbage: 200 with a
 * body that is not JSON; badscore: reports carry a malscore of 42 (CAPE's
 * scale is 0..10); modern: success answers say "error": [] as newer CAPE
 * versions do; split: each upload becomes two tasks (CAPE's archive
 * demux), the second one malicious; partial: a task for the upload, and
 * a file of it listed as rejected in "errors" (a demux CAPE did in part);
 * huge: every answer is 200 with 1 MiB of valid JSON. */
enum mode { MODE_OK, MODE_ERROR, MODE_HANG, MODE_GARBAGE, MODE_BADSCORE, MODE_MODERN, MODE_SPLIT, MODE_PARTIAL,
	    MODE_HUGE };
static const char *const mode_names[] = { "ok", "error", "hang", "garbage", "badscore", "modern", "split",
					  "partial", "huge" };
#define HUGE_ANSWER (1024 * 1024)

enum tstate { TS_PENDING, TS_RUNNING, TS_REPORTED, TS_FAILED };
static const char *const tstate_names[] = { "pending", "running", "reported", "failed_analysis" };

struct task {
	char *name;
	char sha256[65];
	uint64_t size;
	double created, done_after;     /* monotonic seconds */
	unsigned flags;
};

struct svc {
	pthread_mutex_t lock;           /* everything below, and the log */
	pthread_cond_t wake;            /* stopping became true */
	struct task *tasks;             /* task id = index + 1 */
	size_t ntasks, cap;
	uint64_t requests;              /* /apiv2/ requests seen */
	enum mode mode;
	bool stopping;
	FILE *log;
	const char *token;
	double slow;
};

enum route { R_NONE, R_CREATE, R_VIEW, R_REPORT, R_STATS, R_MODE };
static const char *const route_methods[] = {
	[R_NONE] = "", [R_CREATE] = "POST", [R_VIEW] = "GET",
	[R_REPORT] = "GET", [R_STATS] = "GET", [R_MODE] = "POST",
};

/* One request; the upload fields are used by POST tasks/create/file/ only. */
struct req {
	enum route route;
	unsigned id;
	bool apiv2, long_url;
	struct MHD_PostProcessor *pp;
	EVP_MD_CTX *md;
	char *name;
	uint64_t size;
	unsigned flags;
	int part;                       /* 0 no file yet, 1 in it, 2 past it */
	bool too_big, bad;
	unsigned char tail[MARK_KEEP];
	size_t tail_len;
	char sha256[65];
};

/* What every handler needs: the service, the connection, the request. */
struct call {
	struct svc *svc;
	struct MHD_Connection *conn;
	const char *method, *url;
	struct req *rq;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ replies */

/* Bytes of s, at most max, with anything unprintable or blank as '?'. */
static void put_clean(FILE *f, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++)
		fputc((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?', f);
}

static void log_line(const struct call *c, unsigned status)
{
	struct svc *s = c->svc;

	if (!s->log)
		return;
	pthread_mutex_lock(&s->lock);
	put_clean(s->log, c->method, 32);
	fputc(' ', s->log);
	put_clean(s->log, c->url, MAX_URL);
	fprintf(s->log, " %u\n", status);
	fflush(s->log);
	pthread_mutex_unlock(&s->lock);
}

/* Queues body (malloc'd, freed here) as the answer. */
static enum MHD_Result reply(const struct call *c, unsigned status, const char *ctype, char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (ret == MHD_YES)
		ret = MHD_queue_response(c->conn, status, r);
	MHD_destroy_response(r);
	log_line(c, status);
	return ret;
}

/* Answers j (reference stolen); NULL (out of memory) drops the connection. */
static enum MHD_Result reply_json(const struct call *c, unsigned status, json_t *j)
{
	char *body = j ? json_dumps(j, 0) : NULL;

	json_decref(j);
	return reply(c, status, "application/json", body);
}

static enum MHD_Result reply_error(const struct call *c, unsigned status, const char *msg)
{
	return reply_json(c, status, json_pack("{s:b, s:s}", "error", 1, "error_value", msg));
}

/* ------------------------------------------------------------ tasks */

/* Adds the uploaded sample as a task: its id, 0 when the table is full,
 * -1 out of memory. Takes the request's name. */
static long task_add(struct svc *s, struct req *rq)
{
	struct task *t;
	long id = -1;

	pthread_mutex_lock(&s->lock);
	if (s->ntasks >= MAX_TASKS) {
		id = 0;
		goto out;
	}
	if (s->ntasks == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		t = realloc(s->tasks, (cap < MAX_TASKS ? cap : MAX_TASKS) * sizeof(*t));
		if (!t)
			goto out;
		s->tasks = t;
		s->cap = cap < MAX_TASKS ? cap : MAX_TASKS;
	}
	t = &s->tasks[s->ntasks];
	t->name = rq->name;
	rq->name = NULL;
	memcpy(t->sha256, rq->sha256, sizeof(t->sha256));
	t->size = rq->size;
	t->flags = rq->flags;
	t->created = now();
	t->done_after = rq->flags & T_SLOW ? s->slow : ANALYSIS_SECONDS;
	id = (long)++s->ntasks;
out:
	pthread_mutex_unlock(&s->lock);
	return id;
}

/* A copy of task id; its name stays valid while the daemon runs. */
static bool task_get(struct svc *s, unsigned id, struct task *out)
{
	bool found;

	pthread_mutex_lock(&s->lock);
	found = id >= 1 && id <= s->ntasks;
	if (found)
		*out = s->tasks[id - 1];
	pthread_mutex_unlock(&s->lock);
	return found;
}

static enum tstate task_state(const struct task *t)
{
	double age = now() - t->created;

	if (age < PENDING_SECONDS)
		return TS_PENDING;
	if (age < t->done_after)
		return TS_RUNNING;
	return t->flags & T_FAIL ? TS_FAILED : TS_REPORTED;
}

/* ------------------------------------------------------------ uploads */

static unsigned find_markers(const unsigned char *p, size_t n)
{
	unsigned flags = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(markers); i++)
		if (memmem(p, n, markers[i].text, strlen(markers[i].text)))
			flags |= markers[i].flag;
	return flags;
}

/* Markers in this chunk, and those split between the last one and this. */
static void scan_markers(struct req *rq, const unsigned char *p, size_t n)
{
	unsigned char win[2 * MARK_KEEP];
	size_t head = n < MARK_KEEP ? n : MARK_KEEP;
	size_t wn = rq->tail_len + head;

	memcpy(win, rq->tail, rq->tail_len);
	memcpy(win + rq->tail_len, p, head);
	rq->flags |= find_markers(win, wn) | find_markers(p, n);
	if (n >= MARK_KEEP) {
		memcpy(rq->tail, p + n - MARK_KEEP, MARK_KEEP);
		rq->tail_len = MARK_KEEP;
	} else {
		rq->tail_len = wn < MARK_KEEP ? wn : MARK_KEEP;
		memcpy(rq->tail, win + wn - rq->tail_len, rq->tail_len);
	}
}

/* The first MAX_NAME bytes of filename, cut at a character boundary;
 * bytes of a name that is not UTF-8 become '?' (JSON needs UTF-8). */
static char *name_copy(const char *filename)
{
	size_t i, n = strnlen(filename, MAX_NAME + 1);
	json_t *probe;
	char *s;

	if (n > MAX_NAME) {
		n = MAX_NAME;
		while (n && ((unsigned char)filename[n] & 0xc0) == 0x80)
			n--;
	}
	s = strndup(filename, n);
	if (!s)
		return NULL;
	probe = json_stringn(s, n);
	if (!probe)
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] >= 0x80)
				s[i] = '?';
	json_decref(probe);
	return s;
}

static void upload_feed(struct req *rq, const char *data, size_t size)
{
	if (!size || rq->too_big)
		return;
	if (size > MAX_UPLOAD - rq->size) {
		rq->too_big = true;
		return;
	}
	rq->size += size;
	if (EVP_DigestUpdate(rq->md, data, size) != 1)
		rq->bad = true;
	scan_markers(rq, (const unsigned char *)data, size);
}

/* The post processor's callback: the first part named "file" that has a
 * file name is the sample; other fields (CAPE options) are ignored. */
static enum MHD_Result post_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
				  const char *content_type, const char *transfer_encoding, const char *data,
				  uint64_t off, size_t size)
{
	struct req *rq = cls;

	(void)kind;
	(void)content_type;
	(void)transfer_encoding;
	if (!key || strcmp(key, "file") || !filename || rq->part == 2)
		return MHD_YES;
	if (rq->part == 1 && off == 0 && rq->size > 0) {
		rq->part = 2;   /* a second file: CAPE makes a task of each, one will do */
		return MHD_YES;
	}
	if (rq->part == 0) {
		rq->part = 1;
		rq->name = name_copy(filename);
		if (!rq->name)
			rq->bad = true;
	}
	upload_feed(rq, data, size);
	return MHD_YES;
}

/* A declared body far above the cap is refused before it is read. */
static bool declared_too_big(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;
	char *end;

	if (!cl)
		return false;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return errno == ERANGE || (end != cl && n > MAX_UPLOAD + UPLOAD_SLACK);
}

/* No post processor (not a form) is no file, not a failure. */
static bool upload_begin(struct call *c)
{
	struct req *rq = c->rq;

	rq->md = EVP_MD_CTX_new();
	if (!rq->md || EVP_DigestInit_ex(rq->md, EVP_sha256(), NULL) != 1)
		return false;
	rq->pp = MHD_create_post_processor(c->conn, PP_BUFFER, post_field, rq);
	return true;
}

static void upload_end(struct req *rq)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned i, dn = 0;

	if (rq->pp && MHD_destroy_post_processor(rq->pp) == MHD_NO)
		rq->bad = true;
	rq->pp = NULL;
	if (!rq->md || rq->part == 0 || rq->too_big || rq->bad)
		return;
	if (EVP_DigestFinal_ex(rq->md, d, &dn) != 1 || dn != 32) {
		rq->bad = true;
		return;
	}
	for (i = 0; i < dn; i++)
		snprintf(rq->sha256 + 2 * i, 3, "%02x", d[i]);
}

/* ------------------------------------------------------------ endpoints */

static enum MHD_Result do_create(const struct call *c)
{
	struct req *rq = c->rq;
	char msg[64], *name2;
	enum mode m;
	long id;

	if (rq->too_big)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "file too large");
	if (rq->bad)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "malformed upload");
	if (rq->part == 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "No file was submitted");
	pthread_mutex_lock(&c->svc->lock);
	m = c->svc->mode;
	pthread_mutex_unlock(&c->svc->lock);
	/* The task takes the name; a second task (split) needs its own. */
	name2 = m == MODE_SPLIT && rq->name != NULL ? strdup(rq->name) : NULL;
	id = task_add(c->svc, rq);
	if (id <= 0)
		free(name2);
	if (id == 0)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many tasks");
	if (id < 0)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	snprintf(msg, sizeof(msg), "Task ID %ld has been submitted", id);
	{
		json_t *ids, *doc;
		long id2;

		ids = json_pack("[I]", (json_int_t)id);
		if (m == MODE_SPLIT && name2 != NULL) {
			/* The second "extracted file" of the upload: malicious. */
			rq->flags |= T_MALICIOUS;
			rq->name = name2;
			id2 = task_add(c->svc, rq);
			if (id2 > 0)
				json_array_append_new(ids, json_integer(id2));
			else
				free(rq->name);
			rq->name = NULL;
		}
		doc = json_pack("{s:b, s:{s:o, s:s}, s:[]}", "error", 0, "data", "task_ids", ids, "message", msg,
				"errors");
		if (doc != NULL && m == MODE_MODERN)
			json_object_set_new(doc, "error", json_array());
		if (doc != NULL && m == MODE_PARTIAL)
			json_object_set_new(doc, "errors",
					    json_pack("[{s:s}]", "payload.exe", "File type not allowed"));
		return reply_json(c, MHD_HTTP_OK, doc);
	}
}

static enum MHD_Result do_view(const struct call *c)
{
	struct task t;

	if (!task_get(c->svc, c->rq->id, &t))
		return reply_error(c, MHD_HTTP_OK, "Task not found");
	return reply_json(c, MHD_HTTP_OK,
			  json_pack("{s:b, s:{s:I, s:s, s:s, s:{s:s}}}", "error", 0, "data", "id",
				    (json_int_t)c->rq->id, "status", tstate_names[task_state(&t)], "target", t.name,
				    "sample", "sha256", t.sha256));
}

static json_t *report_json(const struct task *t, unsigned id)
{
	const struct verdict *v = t->flags & T_MALICIOUS ? &v_malicious :
				  t->flags & T_SUSPICIOUS ? &v_suspicious : &v_clean;
	json_t *sigs = json_array();
	size_t i;

	for (i = 0; sigs && i < v->nsigs; i++)
		json_array_append_new(sigs, json_pack("{s:s, s:s, s:i}", "name", v->sigs[i].name, "description",
						      v->sigs[i].description, "severity", v->sigs[i].severity));
	return json_pack("{s:{s:I, s:s}, s:{s:{s:s, s:s, s:I}}, s:f, s:s, s:o}", "info", "id", (json_int_t)id,
			 "package", "exe", "target", "file", "name", t->name, "sha256", t->sha256, "size",
			 (json_int_t)t->size, "malscore", v->score, "malstatus", v->status, "signatures", sigs);
}

static enum MHD_Result do_report(const struct call *c)
{
	struct task t;

	if (!task_get(c->svc, c->rq->id, &t))
		return reply_error(c, MHD_HTTP_OK, "Task not found");
	switch (task_state(&t)) {
	case TS_FAILED:
		return reply_error(c, MHD_HTTP_OK, "Analysis failed");
	case TS_REPORTED: {
		json_t *r = report_json(&t, c->rq->id);
		bool bad;

		pthread_mutex_lock(&c->svc->lock);
		bad = c->svc->mode == MODE_BADSCORE;
		pthread_mutex_unlock(&c->svc->lock);
		if (bad && r != NULL)
			json_object_set_new(r, "malscore", json_real(42.0));
		return reply_json(c, MHD_HTTP_OK, r);
	}
	case TS_PENDING:
	case TS_RUNNING:
		break;
	}
	return reply_error(c, MHD_HTTP_OK, "Task is still being analyzed");
}

static enum MHD_Result do_stats(const struct call *c)
{
	struct svc *s = c->svc;
	json_t *by = json_object(), *n, *j;
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; by && i < s->ntasks; i++) {
		n = json_object_get(by, s->tasks[i].sha256);
		json_object_set_new(by, s->tasks[i].sha256, json_integer(n ? json_integer_value(n) + 1 : 1));
	}
	j = json_pack("{s:I, s:o, s:I, s:s}", "submissions", (json_int_t)s->ntasks, "by_sha256", by, "requests",
		      (json_int_t)s->requests, "mode", mode_names[s->mode]);
	pthread_mutex_unlock(&s->lock);
	return reply_json(c, MHD_HTTP_OK, j);
}

static enum MHD_Result do_mode(const struct call *c)
{
	const char *m = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "m");
	size_t i;

	for (i = 0; m && i < ARRAY_SIZE(mode_names); i++) {
		if (strcmp(m, mode_names[i]))
			continue;
		pthread_mutex_lock(&c->svc->lock);
		c->svc->mode = (enum mode)i;
		pthread_mutex_unlock(&c->svc->lock);
		return reply_json(c, MHD_HTTP_OK, json_pack("{s:b, s:s}", "error", 0, "mode", mode_names[i]));
	}
	return reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown mode");
}

/* ------------------------------------------------------------ dispatch */

static const char *after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) ? NULL : s + n;
}

/* A task id (digits, as Django's int converter) then one of the tails. */
static bool parse_id(const char *s, const char *const *tails, size_t ntails, unsigned *id)
{
	unsigned long v = 0;
	size_t i, n;

	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++) {
		if (n >= 9)
			return false;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	for (i = 0; n && i < ntails; i++) {
		if (!strcmp(s + n, tails[i])) {
			*id = (unsigned)v;
			return true;
		}
	}
	return false;
}

static void route_url(const char *url, struct req *rq)
{
	static const char *const view_tails[] = { "/" };
	static const char *const report_tails[] = { "/", "/json/" };
	const char *p;

	rq->apiv2 = after(url, "/apiv2/") != NULL;
	if (!strcmp(url, "/apiv2/tasks/create/file/"))
		rq->route = R_CREATE;
	else if ((p = after(url, "/apiv2/tasks/view/")) && parse_id(p, view_tails, 1, &rq->id))
		rq->route = R_VIEW;
	else if ((p = after(url, "/apiv2/tasks/get/report/")) && parse_id(p, report_tails, 2, &rq->id))
		rq->route = R_REPORT;
	else if (!strcmp(url, "/test/stats"))
		rq->route = R_STATS;
	else if (!strcmp(url, "/test/mode"))
		rq->route = R_MODE;
}

static bool authorized(const struct call *c)
{
	const char *h;

	if (!c->svc->token)
		return true;
	h = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	return h && !strncmp(h, "Token ", 6) && !strcmp(h + 6, c->svc->token);
}

/* Counts an /apiv2/ request; the mode it is to be answered in. */
static enum mode apiv2_seen(struct svc *s)
{
	enum mode m;

	pthread_mutex_lock(&s->lock);
	s->requests++;
	m = s->mode;
	pthread_mutex_unlock(&s->lock);
	return m;
}

/* Sleeps HANG_SECONDS, or less when the service is stopping. */
static void hang(struct svc *s)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += HANG_SECONDS;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result dispatch(const struct call *c)
{
	const struct req *rq = c->rq;
	enum mode m;

	if (rq->long_url)
		return reply_error(c, MHD_HTTP_URI_TOO_LONG, "request URI too long");
	if (rq->apiv2) {
		m = apiv2_seen(c->svc);
		if (m == MODE_HANG)
			hang(c->svc);
		if (m == MODE_HUGE) {
			char *big = malloc(HUGE_ANSWER + 64);

			if (big != NULL) {
				int n = snprintf(big, 64, "{\"error\": false, \"pad\": \"");

				memset(big + n, 'x', HUGE_ANSWER);
				memcpy(big + n + HUGE_ANSWER, "\"}", 3);
			}
			return reply(c, MHD_HTTP_OK, "application/json", big);
		}
		if (m == MODE_GARBAGE)
			return reply(c, MHD_HTTP_OK, "application/json", strdup("{\"error\": false, \"data\": [unclosed"));
		if (m == MODE_ERROR || m == MODE_HANG)
			return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/html", strdup(broken_page));
	}
	if (rq->route == R_NONE)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "not found");
	if (rq->apiv2 && !authorized(c))
		return reply_error(c, MHD_HTTP_UNAUTHORIZED, "Authentication credentials were not provided.");
	if (strcmp(c->method, route_methods[rq->route]))
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	switch (rq->route) {
	case R_CREATE:
		return do_create(c);
	case R_VIEW:
		return do_view(c);
	case R_REPORT:
		return do_report(c);
	case R_STATS:
		return do_stats(c);
	case R_MODE:
		return do_mode(c);
	case R_NONE:
		break;
	}
	return MHD_NO;
}

/* First call of a request: headers only. Bodies are read to the end
 * before answering (so a client still sending is not reset), except one
 * declared far too large. */
static enum MHD_Result req_begin(struct call *c, void **con_cls)
{
	struct req *rq = calloc(1, sizeof(*rq));

	if (!rq)
		return MHD_NO;
	*con_cls = rq;
	c->rq = rq;
	if (strnlen(c->url, MAX_URL + 1) > MAX_URL) {
		rq->long_url = true;
		return dispatch(c);
	}
	route_url(c->url, rq);
	if (rq->route != R_CREATE || strcmp(c->method, "POST"))
		return MHD_YES;
	if (declared_too_big(c->conn)) {
		rq->too_big = true;
		return dispatch(c);
	}
	return upload_begin(c) ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct call c = { .svc = cls, .conn = conn, .method = method, .url = url, .rq = *con_cls };

	(void)version;
	if (!c.rq)
		return req_begin(&c, con_cls);
	if (*upload_data_size) {
		if (c.rq->pp && !c.rq->bad && MHD_post_process(c.rq->pp, upload_data, *upload_data_size) != MHD_YES)
			c.rq->bad = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	upload_end(c.rq);
	return dispatch(&c);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!rq)
		return;
	if (rq->pp)
		MHD_destroy_post_processor(rq->pp);
	EVP_MD_CTX_free(rq->md);
	free(rq->name);
	free(rq);
	*con_cls = NULL;
}

/* ------------------------------------------------------------ main */

struct opts {
	const char *port_file, *token, *log;
	double slow, max;
};

static void usage(FILE *f)
{
	fputs("usage: cape_service --port-file FILE [--token TOKEN] [--log FILE]\n"
	      "                    [--slow-seconds N] [--max-seconds N]\n"
	      "A CAPEv2-API-compatible stand-in for fwgate's tests; not a sandbox.\n",
	      f);
}

static bool parse_seconds(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

/* -1 to run, else the exit status. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "port-file", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, 't' },
		{ "log", required_argument, NULL, 'l' },
		{ "slow-seconds", required_argument, NULL, 's' },
		{ "max-seconds", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			o->port_file = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'l':
			o->log = optarg;
			break;
		case 's':
			if (!parse_seconds(optarg, 0, 3600, &o->slow))
				return 2;
			break;
		case 'm':
			if (!parse_seconds(optarg, 1, 86400, &o->max))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc || !o->port_file || (o->token && !*o->token))
		return 2;
	return -1;
}

static bool svc_init(struct svc *s, const struct opts *o)
{
	pthread_condattr_t ca;

	memset(s, 0, sizeof(*s));
	s->token = o->token;
	s->slow = o->slow;
	if (o->log) {
		s->log = fopen(o->log, "ae");
		if (!s->log) {
			fprintf(stderr, "cape_service: %s: %s\n", o->log, strerror(errno));
			return false;
		}
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	return true;
}

static void svc_fini(struct svc *s)
{
	size_t i;

	for (i = 0; i < s->ntasks; i++)
		free(s->tasks[i].name);
	free(s->tasks);
	if (s->log)
		fclose(s->log);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
}

static struct MHD_Daemon *svc_start(struct svc *s)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = 0,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	return MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
					MHD_USE_ERROR_LOG,
				0, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
				MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_END);
}

/* Wakes hung requests so that stopping the daemon does not wait on them. */
static void svc_stop(struct svc *s, struct MHD_Daemon *d)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	MHD_stop_daemon(d);
}

/* path gets the port, whole or not at all: written aside, then renamed. */
static bool write_port(const char *path, unsigned port)
{
	size_t n = strlen(path) + sizeof(".tmp");
	char *tmp = malloc(n);
	bool ok = false;
	FILE *f;

	if (!tmp)
		return false;
	snprintf(tmp, n, "%s.tmp", path);
	f = fopen(tmp, "we");
	if (f) {
		ok = fprintf(f, "%u\n", port) > 0;
		ok = fclose(f) == 0 && ok;
		ok = ok && rename(tmp, path) == 0;
		if (!ok)
			unlink(tmp);
	}
	if (!ok)
		fprintf(stderr, "cape_service: cannot write %s: %s\n", path, strerror(errno));
	free(tmp);
	return ok;
}

/* Until SIGTERM or SIGINT (blocked in every thread), or max seconds. */
static void wait_for_end(const sigset_t *sigs, double max)
{
	double left, deadline = now() + max;
	struct timespec ts;
	int sig;

	while ((left = deadline - now()) > 0) {
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		sig = sigtimedwait(sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			return;
	}
	fprintf(stderr, "cape_service: --max-seconds reached, exiting\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .slow = 6, .max = 900 };
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	struct svc s;
	sigset_t sigs;
	int rc = parse_opts(argc, argv, &o);

	if (rc >= 0) {
		if (rc)
			usage(stderr);
		return rc;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) || !svc_init(&s, &o))
		return 1;
	d = svc_start(&s);
	if (!d) {
		fprintf(stderr, "cape_service: cannot listen on 127.0.0.1\n");
		svc_fini(&s);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	rc = 1;
	if (info && info->port && write_port(o.port_file, info->port)) {
		wait_for_end(&sigs, o.max);
		rc = 0;
	}
	svc_stop(&s, d);
	svc_fini(&s);
	return rc;
}
