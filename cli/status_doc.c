/* The `fwgate status` document (status_doc.h): built from a snapshot the
 * gateway takes, printed as aligned lines for people. Owns the field names
 * and the words; must not read the gateway's state itself. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli/status_doc.h"

const char *status_rfc3339(int64_t unix_seconds, char *buf, size_t len)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

static void listener_add(struct status_snapshot *s, const char *name, const struct fw_listen_addr *a)
{
	if (a->port == 0 || s->n_listeners >= STATUS_LISTENERS_MAX)
		return;
	s->listeners[s->n_listeners].name = name;
	fw_listen_addr_str(a, s->listeners[s->n_listeners].address, sizeof(s->listeners[0].address));
	s->n_listeners++;
}

void status_listeners_of(const struct fw_config *cfg, struct status_snapshot *s)
{
	s->n_listeners = 0;
	for (unsigned i = 0; i < cfg->proxy.n_listen; i++)
		listener_add(s, "proxy", &cfg->proxy.listen[i]);
	listener_add(s, "console", &cfg->console.listen);
	listener_add(s, "mirror", &cfg->mirror.listen);
	listener_add(s, "mirror_http", &cfg->mirror.http_listen);
}

/* json_object_set_new that remembers a failure (jansson returns NULL for
 * an allocation failure, and set_new takes NULL as one). */
static void put(json_t *o, const char *key, json_t *v, bool *bad)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*bad = true;
}

static json_t *listeners_doc(const struct status_snapshot *s, bool *bad)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < s->n_listeners; i++)
		if (json_array_append_new(a, json_pack("{s:s, s:s}", "name", s->listeners[i].name, "address",
						       s->listeners[i].address)) != 0)
			*bad = true;
	return a;
}

/* The engine's databases and signatures: what fw_scanner_metrics and
 * fw_scanner_summary say now. One object, so that further facts about
 * the signatures (their directories, a reload's outcome) join it. */
static json_t *signatures_doc(const struct status_snapshot *s, bool *bad)
{
	const struct fw_metrics_gauges *g = s->gauges;
	json_t *o = json_object(), *dbs = json_object();
	char when[32];

	put(o, "summary", s->signatures_summary != NULL ? json_string(s->signatures_summary) : json_null(), bad);
	if (s->signature_sources != NULL)
		put(o, "sources", json_incref(s->signature_sources), bad);
	if (g == NULL || !g->scanner_set) {
		json_decref(dbs);
		return o;
	}
	put(o, "count", json_integer((json_int_t)g->scanner_signatures), bad);
	for (int d = 0; d < FW_METRICS_DB_COUNT; d++)
		if (g->scanner_db_version[d] != 0)
			put(dbs, fw_metrics_db_name((enum fw_metrics_db)d), json_integer(g->scanner_db_version[d]), bad);
	put(o, "databases", dbs, bad);
	if (g->scanner_db_time > 0) {
		put(o, "newest_build", json_string(status_rfc3339(g->scanner_db_time, when, sizeof(when))), bad);
		put(o, "age_seconds", json_integer(s->now > g->scanner_db_time ? s->now - g->scanner_db_time : 0), bad);
	} else {
		put(o, "newest_build", json_null(), bad);
		put(o, "age_seconds", json_null(), bad);
	}
	return o;
}

static json_t *scanner_doc(const struct status_snapshot *s, bool *bad)
{
	const struct fw_metrics_gauges *g = s->gauges;
	bool set = g != NULL && g->scanner_set;
	json_t *o = json_object();

	put(o, "up", json_boolean(set && g->scanner_up), bad);
	put(o, "restarts", json_integer(set ? g->scanner_restarts : 0), bad);
	put(o, "workers", json_pack("{s:I, s:I, s:I, s:I}", "configured", (json_int_t)s->workers_configured, "alive",
				    (json_int_t)(set ? g->scanner_workers : 0), "busy",
				    (json_int_t)(set ? g->scanner_workers_busy : 0), "replaced",
				    (json_int_t)(set ? g->scanner_worker_replacements : 0)), bad);
	put(o, "jobs", json_pack("{s:I, s:I}", "in_flight", (json_int_t)(set ? g->scanner_jobs_in_flight : 0),
				 "queued", (json_int_t)(set ? g->scanner_jobs_queued : 0)), bad);
	return o;
}

/* A member of the store's statistics, copied; an empty object when none. */
static json_t *stats_member(const struct fw_metrics_gauges *g, const char *key)
{
	json_t *v = g != NULL && g->store_stats != NULL ? json_object_get(g->store_stats, key) : NULL;

	return v != NULL ? json_deep_copy(v) : json_object();
}

static json_t *errors_doc(const struct status_snapshot *s, bool *bad)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < s->n_errors; i++) {
		const struct fw_event_ring_entry *e = &s->errors[i];
		char when[32], full[40];

		status_rfc3339(e->time_ms / 1000, when, sizeof(when));
		/* "…:SSZ" becomes "…:SS.mmmZ". */
		snprintf(full, sizeof(full), "%.*s.%03dZ", (int)strlen(when) - 1, when, (int)(e->time_ms % 1000));
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "time", full, "action", e->action,
						       "domain", e->domain, "reason", e->reason)) != 0)
			*bad = true;
	}
	return a;
}

json_t *status_doc_build(const struct status_snapshot *s, struct fw_err *err)
{
	const struct fw_metrics_gauges *g = s->gauges;
	bool sb = g != NULL && g->sandbox_set, bad = false;
	json_t *doc = json_object();
	char since[32];

	if (doc == NULL) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory");
		return NULL;
	}
	put(doc, "format", json_integer(STATUS_DOC_FORMAT), &bad);
	put(doc, "version", json_string(s->version), &bad);
	put(doc, "pid", json_integer(s->pid), &bad);
	put(doc, "started", json_string(status_rfc3339(s->started, since, sizeof(since))), &bad);
	put(doc, "uptime_seconds", json_integer(s->now > s->started ? s->now - s->started : 0), &bad);
	put(doc, "state_dir", json_string(s->state_dir), &bad);
	put(doc, "listeners", listeners_doc(s, &bad), &bad);
	put(doc, "connections", s->proxy == NULL ? json_null()
			: json_pack("{s:I, s:I, s:b}", "open", (json_int_t)s->proxy->connections_open, "accepted",
				    (json_int_t)s->proxy->connections_accepted, "accepting", s->proxy->accepting),
	    &bad);
	put(doc, "scanner", scanner_doc(s, &bad), &bad);
	put(doc, "signatures", signatures_doc(s, &bad), &bad);
	put(doc, "sandbox", json_pack("{s:I, s:I, s:o}", "runners", (json_int_t)(sb ? g->sandbox_runners : 0),
				      "running", (json_int_t)(sb ? g->sandbox_jobs_running : 0), "jobs",
				      stats_member(g, "sandbox")), &bad);
	put(doc, "store", json_pack("{s:o, s:o}", "objects", stats_member(g, "objects"), "requests_open",
				    g != NULL && g->store_stats != NULL &&
				    json_is_integer(json_object_get(g->store_stats, "requests_open"))
					    ? json_deep_copy(json_object_get(g->store_stats, "requests_open"))
					    : json_null()), &bad);
	put(doc, "last_errors", errors_doc(s, &bad), &bad);
	if (bad) {
		json_decref(doc);
		fw_err_setc(err, FW_E_NOMEM, "out of memory building the status document");
		return NULL;
	}
	return doc;
}

/* ------------------------------------------------------------ for people */

#define LABEL "%-13s"

static long long num(const json_t *o, const char *path)
{
	const json_t *v = o;
	char key[64];

	/* "a.b.c": one member per dot. */
	for (const char *p = path; v != NULL;) {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

		if (n >= sizeof(key))
			return -1;
		memcpy(key, p, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "?";
}

/* -1 (missing) prints as "?". */
static const char *n_str(long long v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%lld", v);
	return buf;
}

static const char *bytes_str(long long v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	size_t u = 0;

	if (v < 0)
		return n_str(v, buf, len);
	while (d >= 1024 && u + 1 < FW_ARRAY_LEN(units)) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", v);
	else
		snprintf(buf, len, "%.1f %s", d, units[u]);
	return buf;
}

static const char *duration_str(long long s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "?");
	else if (s >= 86400)
		snprintf(buf, len, "%lldd %02lld:%02lld:%02lld", s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
	else
		snprintf(buf, len, "%02lld:%02lld:%02lld", s / 3600, s % 3600 / 60, s % 60);
	return buf;
}

static void print_listeners(const json_t *doc, FILE *out)
{
	const json_t *a = json_object_get(doc, "listeners");
	size_t i;
	json_t *l;

	fprintf(out, LABEL, "listeners");
	if (json_array_size(a) == 0)
		fprintf(out, "none");
	json_array_foreach(a, i, l)
		fprintf(out, "%s%s %s", i > 0 ? ", " : "", str(l, "name"), str(l, "address"));
	fputc('\n', out);
}

static void print_scanner(const json_t *doc, FILE *out)
{
	const json_t *sc = json_object_get(doc, "scanner");
	char a[24], b[24], c[24], d[24], e[24], f[24], g[24];

	fprintf(out, LABEL "%s; workers %s of %s alive, %s busy, %s replaced; %s supervisor restart(s); "
		"jobs %s in flight, %s queued\n", "scanner",
		json_is_true(json_object_get(sc, "up")) ? "up" : "DOWN", n_str(num(sc, "workers.alive"), a, sizeof(a)),
		n_str(num(sc, "workers.configured"), b, sizeof(b)), n_str(num(sc, "workers.busy"), c, sizeof(c)),
		n_str(num(sc, "workers.replaced"), d, sizeof(d)), n_str(num(sc, "restarts"), e, sizeof(e)),
		n_str(num(sc, "jobs.in_flight"), f, sizeof(f)), n_str(num(sc, "jobs.queued"), g, sizeof(g)));
}

static void print_signatures(const json_t *doc, FILE *out)
{
	const json_t *sg = json_object_get(doc, "signatures");
	json_t *dbs = json_object_get(sg, "databases");
	const char *name, *sep = " (";
	char a[24], b[48];
	size_t i;
	json_t *v;

	fprintf(out, LABEL "%s loaded", "signatures", n_str(num(sg, "count"), a, sizeof(a)));
	json_object_foreach(dbs, name, v) {
		fprintf(out, "%s%s %s", sep, name, n_str(json_is_integer(v) ? json_integer_value(v) : -1, a, sizeof(a)));
		sep = ", ";
	}
	if (json_object_size(dbs) > 0)
		fputc(')', out);
	if (json_is_string(json_object_get(sg, "newest_build")))
		fprintf(out, "; newest built %s, %s old", str(sg, "newest_build"),
			duration_str(num(sg, "age_seconds"), b, sizeof(b)));
	fputc('\n', out);
	if (json_is_string(json_object_get(sg, "summary")))
		fprintf(out, LABEL "%s\n", "", str(sg, "summary"));
	json_array_foreach(json_object_get(json_object_get(sg, "sources"), "databases"), i, v) {
		const char *kind = str(v, "kind"), *db = json_string_value(json_object_get(v, "name")),
			   *dir = json_string_value(json_object_get(v, "dir"));

		fprintf(out, LABEL "%s", "", kind);
		if (db != NULL && db[0] != '\0' && strcmp(db, kind) != 0)
			fprintf(out, " %s", db);
		if (num(v, "version") > 0)
			fprintf(out, " version %s", n_str(num(v, "version"), a, sizeof(a)));
		if (json_is_integer(json_object_get(v, "age_seconds")))
			fprintf(out, ", %s old", duration_str(num(v, "age_seconds"), b, sizeof(b)));
		if (dir != NULL && dir[0] != '\0')
			fprintf(out, " in %s", dir);
		fputc('\n', out);
	}
}

/* "name n, name n" of an object of integers, or of {count, bytes}. */
static void print_counts(json_t *o, FILE *out)
{
	const char *name, *sep = "";
	char a[24], b[24];
	json_t *v;

	if (json_object_size(o) == 0)
		fprintf(out, "?");
	json_object_foreach(o, name, v) {
		if (json_is_object(v))
			fprintf(out, "%s%s %s (%s)", sep, name, n_str(num(v, "count"), a, sizeof(a)),
				bytes_str(num(v, "bytes"), b, sizeof(b)));
		else
			fprintf(out, "%s%s %s", sep, name, n_str(json_is_integer(v) ? json_integer_value(v) : -1, a,
								 sizeof(a)));
		sep = ", ";
	}
}

static void print_errors(const json_t *doc, FILE *out)
{
	const json_t *a = json_object_get(doc, "last_errors");
	size_t i;
	json_t *e;

	fprintf(out, LABEL, "last errors");
	if (json_array_size(a) == 0)
		fprintf(out, "none\n");
	json_array_foreach(a, i, e) {
		/* No domain (a lifecycle failure) is no word, not "?". */
		const char *domain = json_string_value(json_object_get(e, "domain"));

		if (domain == NULL)
			domain = "";

		if (i > 0)
			fprintf(out, LABEL, "");
		fprintf(out, "%s %s%s%s: %s\n", str(e, "time"), str(e, "action"), domain[0] ? " " : "", domain,
			str(e, "reason"));
	}
}

void status_doc_print(const json_t *doc, FILE *out)
{
	const json_t *cn = json_object_get(doc, "connections"), *sb = json_object_get(doc, "sandbox"),
		     *st = json_object_get(doc, "store");
	char a[24], b[24], c[48];

	fprintf(out, "fwgate %s (pid %s), up since %s (%s)\n", str(doc, "version"), n_str(num(doc, "pid"), a, sizeof(a)),
		str(doc, "started"), duration_str(num(doc, "uptime_seconds"), c, sizeof(c)));
	fprintf(out, LABEL "%s\n", "state", str(doc, "state_dir"));
	print_listeners(doc, out);
	if (json_is_object(cn))
		fprintf(out, LABEL "%s open, %s accepted%s\n", "connections", n_str(num(cn, "open"), a, sizeof(a)),
			n_str(num(cn, "accepted"), b, sizeof(b)),
			json_is_false(json_object_get(cn, "accepting")) ? ", NOT ACCEPTING (stopping)" : "");
	print_scanner(doc, out);
	print_signatures(doc, out);
	fprintf(out, LABEL "%s runner(s), %s job(s) running; jobs: ", "sandbox", n_str(num(sb, "runners"), a, sizeof(a)),
		n_str(num(sb, "running"), b, sizeof(b)));
	print_counts(json_object_get(sb, "jobs"), out);
	fprintf(out, "\n" LABEL, "store");
	print_counts(json_object_get(st, "objects"), out);
	fprintf(out, "; %s release request(s) open\n", n_str(num(st, "requests_open"), a, sizeof(a)));
	print_errors(doc, out);
}
