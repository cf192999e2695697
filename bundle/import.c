/* Import of a verified bundle: the replay check, each blob copied into a
 * spool file and hashed again there (what is committed is what was
 * verified, whatever the bundle's files do meanwhile), the local rescan
 * through the scanner with the policy's sandbox types, the local analyzer
 * on every member the policy sandboxes, then the store's all-or-nothing
 * commit with each object's provenance. Must not approve anything itself:
 * the local verdicts go to the store, whose life-cycle table decides. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle_int.h"
#include "fwgate/fileio.h"
#include "fwgate/sandbox_verdict.h"

#define IMPORT_CHUNK (1024u * 1024u)
#define IMPORT_DETAIL_MAX 4096

struct import_obj {
	const struct fw_bundle_object *bo;
	struct fw_spool *spool;
	struct fw_scan_result res;
	json_t *sandbox;               /* the local analyzer's judgements */
	char provenance[IMPORT_DETAIL_MAX];
};

struct import_run {
	const struct fw_bundle_import_opts *o;
	const struct fw_bundle_verified *v;
	struct import_obj *objs;
	size_t n;
	char engine[FW_SCANNER_SUMMARY_MAX];
};

/* The blob into a new spool file, hashed on the way and checked against
 * the manifest once more. */
static int import_copy(struct import_run *r, struct import_obj *io, struct fw_err *err)
{
	const struct fw_bundle_object *bo = io->bo;
	uint8_t *buf = NULL;
	uint64_t off = 0;
	int fd, rc = -1;

	if (fw_spool_new(&io->spool, r->o->cfg->state.dir, bo->size, err) != 0)
		return -1;
	fd = openat(r->v->blobs_fd, bo->sha256, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	buf = malloc(IMPORT_CHUNK);
	if (fd < 0 || buf == NULL) {
		fw_err_sys(err, fd < 0 ? errno : ENOMEM, "cannot read blobs/%s", bo->sha256);
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, IMPORT_CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fw_err_sys(err, errno, "cannot read blobs/%s", bo->sha256);
			goto out;
		}
		if (n == 0)
			break;
		if (fw_spool_write(io->spool, buf, (size_t)n, err) != 0)
			goto out;
		off += (uint64_t)n;
	}
	if (fw_spool_finish(io->spool, err) != 0)
		goto out;
	if (fw_spool_size(io->spool) != bo->size || strcmp(fw_spool_sha256(io->spool), bo->sha256) != 0) {
		fw_err_setc(err, FW_E_INVALID, "blobs/%s changed after it was verified", bo->sha256);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* One member the policy sandboxes, judged by the local analyzer in a
 * scanner worker: its verdict from the score, or -1 (err) when it could
 * not be judged. */
static int import_analyze(struct import_run *r, struct import_obj *io, const json_t *m, enum fw_job_verdict *jv,
			  int *score, json_t **analysis, struct fw_err *err)
{
	const char *sha = json_string_value(json_object_get(m, "sha256"));
	const char *type = json_string_value(json_object_get(m, "file_type"));
	char path[FW_PATH_MAX];
	int fd = -1, rc;

	if (type == NULL)
		return fw_err_set(err, "a member for the sandbox has no type");
	if (json_integer_value(json_object_get(m, "depth")) == 0)
		fd = dup(fw_spool_fd(io->spool));
	else if (sha != NULL && fw_path_join(path, sizeof(path), r->o->samples_dir, sha, err) == 0)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fw_err_isset(err) ? -1 : fw_err_sys(err, errno, "the member's sample is missing");
	rc = fw_scanner_analyze_fd(r->o->scanner, fd, type, r->o->cfg->sandbox.timeout_seconds, analysis, err);
	close(fd);
	if (rc != 0)
		return -1;
	*score = (int)json_integer_value(json_object_get(*analysis, "score"));
	*score = *score > 100 ? 100 : *score < 0 ? 0 : *score;
	*jv = fw_sandbox_verdict_of_score(*score, r->o->cfg->sandbox.suspicious_score,
					  r->o->cfg->sandbox.malicious_score);
	return 0;
}

/* The members the scan listed for the sandbox, each judged here; the
 * worst makes the object's verdict (malicious: infected; suspicious;
 * one that could not be judged: unscannable). */
static int import_sandbox(struct import_run *r, struct import_obj *io, struct fw_err *err)
{
	const json_t *members = json_object_get(io->res.doc, "sandbox"), *m;
	enum fw_verdict worst = FW_VERDICT_CLEAN;
	size_t i;

	if (json_array_size(members) == 0)
		return 0;
	if (r->o->cfg->sandbox.backend != FW_SANDBOX_LOCAL)
		return fw_err_setc(err, FW_E_CONFIG, "object %s has %zu member(s) the policy sandboxes, and the [sandbox] "
				   "backend %s cannot judge them during an import (only local can): nothing imported",
				   io->bo->sha256, json_array_size(members),
				   fw_sandbox_backend_name(r->o->cfg->sandbox.backend));
	io->sandbox = json_array();
	if (io->sandbox == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	json_array_foreach(members, i, m) {
		const char *path = json_string_value(json_object_get(m, "path"));
		enum fw_job_verdict jv = FW_JOB_VERDICT_NONE;
		enum fw_verdict v = FW_VERDICT_CLEAN;
		json_t *analysis = NULL;
		struct fw_err e2;
		int score = 0;

		fw_err_clear(&e2);
		if (import_analyze(r, io, m, &jv, &score, &analysis, &e2) != 0) {
			v = FW_VERDICT_UNSCANNABLE;
			json_array_append_new(io->sandbox, json_pack("{s:s?, s:s}", "member", path, "error", fw_err_msg(&e2)));
		} else {
			v = jv == FW_JOB_MALICIOUS ? FW_VERDICT_INFECTED
			    : jv == FW_JOB_SUSPICIOUS ? FW_VERDICT_SUSPICIOUS : FW_VERDICT_CLEAN;
			json_array_append_new(io->sandbox, json_pack("{s:s?, s:s, s:i, s:o}", "member", path, "verdict",
								     fw_job_verdict_name(jv), "score", score,
								     "analysis", analysis));
		}
		if (v > worst) {
			worst = v;
			snprintf(io->res.reason, sizeof(io->res.reason), "sandbox (local, at import): %s %s%s",
				 path != NULL ? path : "a member", v == FW_VERDICT_UNSCANNABLE ? "could not be judged: "
				 : "judged ", v == FW_VERDICT_UNSCANNABLE ? fw_err_msg(&e2) : fw_job_verdict_name(jv));
		}
	}
	io->res.verdict = worst;
	return 0;
}

/* The audit row's detail: where it comes from and what both sites said. */
static void import_provenance(struct import_run *r, struct import_obj *io)
{
	const json_t *e = io->bo->entry, *s;
	unsigned benign = 0, other = 0;
	json_t *doc;
	char *text;
	size_t i;

	json_array_foreach(json_object_get(e, "sandbox"), i, s)
		if (strcmp(json_string_value(json_object_get(s, "verdict")), "benign") == 0)
			benign++;
		else
			other++;
	doc = json_pack("{s:s, s:s, s:I, s:I, s:{s:O, s:O, s:O, s:O, s:O, s:O, s:{s:i, s:i}}, s:{s:s, s:s}}",
			"site", r->v->site, "key", r->v->fpr, "sequence", (json_int_t)r->v->m->sequence,
			"exported_at", (json_int_t)r->v->m->exported_at, "origin", "state",
			json_object_get(e, "state"), "verdict", json_object_get(e, "verdict"), "engine",
			json_object_get(e, "engine"), "approved_by", json_object_get(e, "approved_by"),
			"approved_at", json_object_get(e, "approved_at"), "approved_how",
			json_object_get(e, "approved_how"), "sandbox", "benign", benign, "other", other, "local",
			"verdict", fw_verdict_name(io->res.verdict), "reason", io->res.reason);
	text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (text == NULL || strlen(text) >= sizeof(io->provenance))
		snprintf(io->provenance, sizeof(io->provenance), "{\"site\":\"%s\",\"key\":\"%s\",\"sequence\":%lld}",
			 r->v->site, r->v->fpr, (long long)r->v->m->sequence);
	else
		memcpy(io->provenance, text, strlen(text) + 1);
	free(text);
	json_decref(doc);
}

/* The verdict document kept with the local scan: the scanner's, the local
 * sandbox's judgements, and the bundle's entry for the object. */
static int import_doc(struct import_run *r, struct import_obj *io, struct fw_err *err)
{
	if (io->res.doc == NULL)
		io->res.doc = json_object();
	if (io->res.doc == NULL ||
	    json_object_set_new(io->res.doc, "import", json_pack("{s:s, s:s, s:I, s:O, s:O}", "site", r->v->site, "key",
							      r->v->fpr, "sequence", (json_int_t)r->v->m->sequence,
							      "origin", io->bo->entry, "sandbox_local",
							      io->sandbox != NULL ? io->sandbox : json_null())) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return 0;
}

/* The name member chains start from: the last segment of its first URL's
 * path, as the gateway names a download; its hash when there is none. */
static void import_name(const struct fw_bundle_object *bo, char *out, size_t len)
{
	const char *u = bo->urls[0], *end = u + strcspn(u, "?#"), *p = end;

	while (p > u && p[-1] != '/')
		p--;
	if (p == end || p - u <= 8)
		snprintf(out, len, "%s", bo->sha256);
	else
		snprintf(out, len, "%.*s", (int)(end - p), p);
}

static int import_scan_one(struct import_run *r, struct import_obj *io, struct fw_err *err)
{
	char name[256];

	if (import_copy(r, io, err) != 0)
		return -1;
	import_name(io->bo, name, sizeof(name));
	if (fw_scanner_scan_fd(r->o->scanner, fw_spool_fd(io->spool), name, io->bo->sha256,
			       r->o->sandbox_types, &io->res) != 0)
		fw_scan_result_fail(&io->res, "the scanner refused the job");
	if (io->res.verdict == FW_VERDICT_PENDING)
		io->res.verdict = FW_VERDICT_UNSCANNABLE; /* never the scanner's answer offline: fail closed */
	if (io->res.verdict == FW_VERDICT_CLEAN && r->o->sandbox_types != 0 && import_sandbox(r, io, err) != 0)
		return -1;
	if (import_doc(r, io, err) != 0)
		return -1;
	import_provenance(r, io);
	return 0;
}

static int import_commit(struct import_run *r, struct fw_bundle_import_result *res, struct fw_err *err)
{
	struct fw_store_import_item *items = calloc(r->n > 0 ? r->n : 1, sizeof(*items));
	enum fw_object_state *states = calloc(r->n > 0 ? r->n : 1, sizeof(*states));
	int64_t *ids = calloc(r->n > 0 ? r->n : 1, sizeof(*ids));
	struct fw_store_import imp = {
		.site_id = r->v->site, .key_fingerprint = r->v->fpr, .sequence = r->v->m->sequence,
		.exported_at = r->v->m->exported_at, .who = r->o->who, .items = items, .n = r->n,
	};
	int rc = -1;

	if (items == NULL || states == NULL || ids == NULL) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r->n; i++) {
		struct import_obj *io = &r->objs[i];
		struct fw_store_commit *c = &items[i].commit;

		c->url = io->bo->urls[0];
		c->spool_fd = fw_spool_fd(io->spool);
		c->spool_path = fw_spool_path(io->spool);
		c->sha256 = io->bo->sha256;
		c->size = io->bo->size;
		c->verdict = io->res.verdict;
		c->reason = io->res.reason;
		c->scan_doc = io->res.doc;
		c->engine = r->engine;
		items[i].urls = io->bo->urls;
		items[i].n_urls = io->bo->n_urls;
		items[i].provenance = io->provenance;
	}
	if (fw_store_import_commit(r->o->store, &imp, states, ids, err) != 0)
		goto out;
	for (size_t i = 0; i < r->n; i++) {
		fw_spool_consumed(r->objs[i].spool);
		memcpy(res[i].sha256, r->objs[i].bo->sha256, sizeof(res[i].sha256));
		res[i].state = states[i];
		res[i].id = ids[i];
		res[i].verdict = r->objs[i].res.verdict;
		memcpy(res[i].reason, r->objs[i].res.reason, sizeof(res[i].reason));
	}
	rc = 0;
out:
	free(ids);
	free(states);
	free(items);
	return rc;
}

int fw_bundle_import(const struct fw_bundle_import_opts *o, const struct fw_bundle_verified *v,
		     struct fw_bundle_import_result **res, size_t *n, struct fw_err *err)
{
	struct import_run r = { .o = o, .v = v, .n = v->m->n };
	struct fw_bundle_import_result *out = NULL;
	char spool[FW_PATH_MAX];
	int64_t last = 0;
	int rc = -1;

	*res = NULL;
	*n = 0;
	if (fw_store_import_last(o->store, v->site, &last, err) != 0)
		return -1;
	if (v->m->sequence <= last) {
		fw_err_setc(err, FW_E_DENIED, "a bundle of site %s with sequence %lld was imported already: this one "
			    "(sequence %lld) is not newer (a replay?)", v->site, (long long)last, (long long)v->m->sequence);
		return 1;
	}
	/* No image larger than the gateway would fetch ([upstream]
	 * max_body_bytes): refused before any byte is copied. */
	for (size_t i = 0; i < r.n; i++)
		if (v->m->objects[i].size > o->cfg->upstream.max_body_bytes) {
			fw_err_setc(err, FW_E_LIMIT, "object %s is %llu bytes, over [upstream] max_body_bytes (%llu)",
				    v->m->objects[i].sha256, (unsigned long long)v->m->objects[i].size,
				    (unsigned long long)o->cfg->upstream.max_body_bytes);
			return 1;
		}
	if (fw_path_join(spool, sizeof(spool), o->cfg->state.dir, "spool", err) != 0)
		return -1;
	if (mkdir(spool, 0700) != 0 && errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create \"%s\"", spool);
	fw_scanner_summary(o->scanner, r.engine, sizeof(r.engine));
	r.objs = calloc(r.n > 0 ? r.n : 1, sizeof(*r.objs));
	out = calloc(r.n > 0 ? r.n : 1, sizeof(*out));
	if (r.objs == NULL || out == NULL) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r.n; i++) {
		r.objs[i].bo = &v->m->objects[i];
		if (import_scan_one(&r, &r.objs[i], err) != 0) {
			rc = fw_err_code(err) == FW_E_INVALID ? 1 : -1;
			goto out;
		}
	}
	if (import_commit(&r, out, err) != 0) {
		rc = fw_err_code(err) == FW_E_DENIED ? 1 : -1;
		goto out;
	}
	*res = out;
	*n = r.n;
	out = NULL;
	rc = 0;
out:
	for (size_t i = 0; r.objs != NULL && i < r.n; i++) {
		fw_spool_discard(r.objs[i].spool);
		fw_scan_result_clear(&r.objs[i].res);
		json_decref(r.objs[i].sandbox);
	}
	free(r.objs);
	free(out);
	return rc;
}
