/* Verdicts and the verdict document: built in a worker while the walker
 * and the scan threads add to it, sent as JSON, validated and summarized
 * on the client's side. The worst finding wins; nothing here lowers a
 * verdict. Must not scan or unpack. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/scan_int.h"
#include "scanner/yara_rules.h"

/* Bounds of one document, so that a package of a million members makes a
 * document of a few megabytes, not gigabytes. */
#define REPORT_MAX_MEMBERS 20000
#define REPORT_MAX_REASONS 200
#define REPORT_MAX_SIGNATURES 1000
#define REPORT_MAX_YARA 1000
/* Members the sandbox must judge, listed in full (never cut). */
#define REPORT_MAX_SANDBOX 1000

void fw_scan_result_clear(struct fw_scan_result *res)
{
	json_decref(res->doc);
	memset(res, 0, sizeof(*res));
}

void fw_scan_result_fail(struct fw_scan_result *res, const char *fmt, ...)
{
	va_list ap;

	fw_scan_result_clear(res);
	res->verdict = FW_VERDICT_UNSCANNABLE;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

int scan_report_init(struct scan_report *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		return -1;
	r->doc = json_object();
	r->members = json_array();
	r->reasons = json_array();
	r->signatures = json_array();
	r->sandbox = json_array();
	r->yara = json_array();
	if (r->doc == NULL || r->members == NULL || r->reasons == NULL || r->signatures == NULL || r->sandbox == NULL ||
	    r->yara == NULL || json_object_set(r->doc, "sandbox", r->sandbox) != 0 ||
	    json_object_set(r->doc, "yara", r->yara) != 0 ||
	    json_object_set_new(r->doc, "path", json_string(path)) != 0 ||
	    json_object_set(r->doc, "reasons", r->reasons) != 0 ||
	    json_object_set(r->doc, "signatures", r->signatures) != 0 ||
	    json_object_set(r->doc, "members", r->members) != 0) {
		scan_report_release(r);
		return -1;
	}
	return 0;
}

void scan_report_release(struct scan_report *r)
{
	json_decref(r->members);
	json_decref(r->reasons);
	json_decref(r->signatures);
	json_decref(r->sandbox);
	json_decref(r->yara);
	json_decref(r->doc);
	pthread_mutex_destroy(&r->lock);
	memset(r, 0, sizeof(*r));
}

static void raise_node(json_t *node, enum fw_verdict v)
{
	enum fw_verdict cur = FW_VERDICT_CLEAN;
	json_t *old;

	if (node == NULL)
		return;
	old = json_object_get(node, "verdict");
	if (json_is_string(old) && fw_verdict_parse(json_string_value(old), &cur) == 0 && cur >= v)
		return;
	json_object_set_new(node, "verdict", json_string(fw_verdict_name(v)));
}

/* The reason as a JSON string: a reason that carries bytes from the input
 * that are not UTF-8 (jansson refuses them) keeps its ASCII, each other
 * byte shown as '?', so that no verdict is ever raised without its
 * reason. */
static json_t *reason_string(const char *reason)
{
	char safe[FW_ERR_MSG_MAX];
	json_t *s = json_string(reason);
	size_t i;

	if (s != NULL)
		return s;
	for (i = 0; reason[i] != '\0' && i < sizeof(safe) - 1; i++)
		safe[i] = (unsigned char)reason[i] < 0x80 ? reason[i] : '?';
	safe[i] = '\0';
	return json_string(safe);
}

/* Under r->lock: raises the verdicts and keeps the reason. Returns the
 * reason's index in reasons[], or -1 past REPORT_MAX_REASONS. */
static long report_add_locked(struct scan_report *r, json_t *member, enum fw_verdict v, const char *reason)
{
	size_t n = json_array_size(r->reasons);

	if (v > r->verdict)
		r->verdict = v;
	raise_node(member, v);
	if (n >= REPORT_MAX_REASONS || json_array_append_new(r->reasons, reason_string(reason)) != 0)
		return -1;
	return (long)n;
}

void scan_report_add(struct scan_report *r, json_t *member, enum fw_verdict v, const char *fmt, ...)
{
	char reason[FW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&r->lock);
	report_add_locked(r, member, v, reason);
	pthread_mutex_unlock(&r->lock);
}

/* A signature hit: its reason, and an entry of signatures[] that names
 * that reason by its index (so that a reader can tell the reasons a
 * signature gave from the others without reading their words). */
void scan_report_signature(struct scan_report *r, json_t *member, const char *name, const char *chain,
			   const char *member_sha256)
{
	char reason[FW_ERR_MSG_MAX];
	json_t *s;
	long at;

	snprintf(reason, sizeof(reason), "signature %s in %s", name, chain);
	pthread_mutex_lock(&r->lock);
	at = report_add_locked(r, member, FW_VERDICT_INFECTED, reason);
	if (json_array_size(r->signatures) < REPORT_MAX_SIGNATURES) {
		s = json_pack("{s:s, s:s, s:s, s:I}", "name", name, "member", chain, "member_sha256",
			      member_sha256 ? member_sha256 : "", "reason", (json_int_t)at);
		if (s != NULL)
			json_array_append_new(r->signatures, s);
	}
	pthread_mutex_unlock(&r->lock);
}

void scan_report_yara(struct scan_report *r, json_t *member, const char *chain, const char *member_sha256,
		      const struct scan_yara_match *m)
{
	char name[SCAN_YARA_RULE_MAX + 8];
	json_t *e, *list;

	snprintf(name, sizeof(name), "YARA.%s", m->rule);
	if (m->effect == SCAN_YARA_MALICIOUS)
		scan_report_signature(r, member, name, chain, member_sha256);
	else if (m->effect == SCAN_YARA_SUSPICIOUS)
		scan_report_add(r, member, FW_VERDICT_SUSPICIOUS, "YARA rule %s%s%s%s matched in %s", m->rule,
				m->tags[0] ? " [" : "", m->tags, m->tags[0] ? "]" : "", chain);
	pthread_mutex_lock(&r->lock);
	if (json_array_size(r->yara) < REPORT_MAX_YARA) {
		e = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "rule", m->rule, "tags", m->tags, "member", chain,
			      "effect", scan_yara_effect_name(m->effect), "weight", (json_int_t)m->weight, "offset",
			      (json_int_t)m->offset);
		if (e != NULL && json_array_append_new(r->yara, e) != 0)
			e = NULL;
	}
	if (member != NULL) {
		list = json_object_get(member, "yara_matches");
		if (list == NULL && json_object_set_new(member, "yara_matches", json_array()) == 0)
			list = json_object_get(member, "yara_matches");
		if (json_array_size(list) < 64)
			json_array_append_new(list, json_string(m->rule));
	}
	pthread_mutex_unlock(&r->lock);
}

void scan_report_sandbox(struct scan_report *r, const char *chain, unsigned depth, uint64_t size,
			 const char *sha256, const char *file_type)
{
	json_t *e;
	bool full;

	pthread_mutex_lock(&r->lock);
	full = json_array_size(r->sandbox) >= REPORT_MAX_SANDBOX;
	e = full ? NULL : json_pack("{s:s, s:I, s:I, s:s, s:s}", "path", chain, "depth", (json_int_t)depth, "size",
				    (json_int_t)size, "sha256", sha256, "file_type", file_type);
	if (e != NULL && json_array_append_new(r->sandbox, e) != 0)
		e = NULL;
	pthread_mutex_unlock(&r->lock);
	if (full)
		scan_report_add(r, NULL, FW_VERDICT_UNSCANNABLE,
				"more than %d members need sandbox analysis (at %s): the package is not judged in full",
				REPORT_MAX_SANDBOX, chain);
	else if (e == NULL)
		scan_report_add(r, NULL, FW_VERDICT_UNSCANNABLE, "out of memory listing %s for the sandbox", chain);
}

json_t *scan_report_member(struct scan_report *r, const char *chain, unsigned depth, uint64_t size,
			   const char *sha256, const char *mime, const char *file_type)
{
	json_t *m = NULL;

	pthread_mutex_lock(&r->lock);
	r->members_total++;
	if (r->members_listed < REPORT_MAX_MEMBERS) {
		m = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "path", chain, "depth", (json_int_t)depth,
			      "size", (json_int_t)size, "sha256", sha256, "mime", mime, "file_type", file_type,
			      "verdict", "clean");
		if (m != NULL && json_array_append_new(r->members, m) == 0)
			r->members_listed++;
		else
			m = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	return m;
}

void scan_report_set(struct scan_report *r, json_t *node, const char *key, json_t *value)
{
	pthread_mutex_lock(&r->lock);
	if (node != NULL)
		json_object_set_new(node, key, value);
	else
		json_decref(value);
	pthread_mutex_unlock(&r->lock);
}

json_t *scan_report_take(struct scan_report *r)
{
	json_t *doc;

	pthread_mutex_lock(&r->lock);
	json_object_set_new(r->doc, "verdict", json_string(fw_verdict_name(r->verdict)));
	json_object_set_new(r->doc, "members_total", json_integer((json_int_t)r->members_total));
	json_object_set_new(r->doc, "members_listed", json_integer((json_int_t)r->members_listed));
	doc = json_incref(r->doc);
	pthread_mutex_unlock(&r->lock);
	return doc;
}

json_t *scan_doc_failed(const char *path, const char *reason)
{
	return json_pack("{s:s, s:s, s:[s], s:[], s:[], s:I, s:I}", "path", path, "verdict", "unscannable",
			 "reasons", reason, "signatures", "members", "members_total", (json_int_t)0,
			 "members_listed", (json_int_t)0);
}

static void copy_str(char *dst, size_t len, json_t *v)
{
	if (json_is_string(v))
		snprintf(dst, len, "%s", json_string_value(v));
}

/* "RULE [TAGS] in CHAIN; ..." for the event, cut with "..." when long. */
static void yara_summary(struct fw_scan_result *res, const json_t *doc)
{
	const json_t *v;
	size_t i, used = 0;

	json_array_foreach(json_object_get(doc, "yara"), i, v) {
		const char *rule = json_string_value(json_object_get(v, "rule"));
		const char *tags = json_string_value(json_object_get(v, "tags"));
		const char *member = json_string_value(json_object_get(v, "member"));
		int n;

		if (rule == NULL || member == NULL)
			continue;
		n = snprintf(res->yara + used, sizeof(res->yara) - used, "%s%s%s%s%s in %s", used ? "; " : "", rule,
			     tags != NULL && tags[0] ? " [" : "", tags != NULL ? tags : "", tags != NULL && tags[0] ? "]" : "",
			     member);
		if (n < 0 || (size_t)n >= sizeof(res->yara) - used) {
			memcpy(res->yara + sizeof(res->yara) - 4, "...", 4);
			break;
		}
		used += (size_t)n;
	}
}

void scan_result_from_doc(struct fw_scan_result *res, json_t *doc)
{
	json_t *v, *reasons, *sigs, *first;
	enum fw_verdict verdict;

	fw_scan_result_clear(res);
	v = json_object_get(doc, "verdict");
	reasons = json_object_get(doc, "reasons");
	sigs = json_object_get(doc, "signatures");
	if (!json_is_object(doc) || !json_is_string(v) || fw_verdict_parse(json_string_value(v), &verdict) != 0 ||
	    !json_is_array(reasons) || !json_is_array(sigs) || !json_is_array(json_object_get(doc, "members")) ||
	    (json_object_get(doc, "sandbox") != NULL && !json_is_array(json_object_get(doc, "sandbox")))) {
		json_decref(doc);
		fw_scan_result_fail(res, "the scanner answered a verdict document that does not validate");
		return;
	}
	/* Fail closed on an inconsistent document: a verdict other than
	 * clean must carry its reason. */
	if (verdict != FW_VERDICT_CLEAN && json_array_size(reasons) == 0) {
		json_decref(doc);
		fw_scan_result_fail(res, "the scanner answered a %s verdict without a reason",
				    fw_verdict_name(verdict));
		return;
	}
	res->verdict = verdict;
	res->doc = doc;
	yara_summary(res, doc);
	copy_str(res->reason, sizeof(res->reason), json_array_get(reasons, 0));
	/* The signature named first is the deepest one: the member itself,
	 * not the containers whose raw bytes also carried it. */
	first = NULL;
	for (size_t i = 0, best = 0; i < json_array_size(sigs); i++) {
		const char *m = json_string_value(json_object_get(json_array_get(sigs, i), "member"));
		size_t depth = 1;

		for (const char *p = m ? m : ""; *p != '\0'; p++)
			depth += *p == '!';
		if (m != NULL && depth > best) {
			best = depth;
			first = json_array_get(sigs, i);
		}
	}
	if (first != NULL) {
		copy_str(res->signature, sizeof(res->signature), json_object_get(first, "name"));
		copy_str(res->member, sizeof(res->member), json_object_get(first, "member"));
		copy_str(res->member_sha256, sizeof(res->member_sha256), json_object_get(first, "member_sha256"));
		/* The summary names the deepest match, whichever scan ended first. */
		if (verdict == FW_VERDICT_INFECTED)
			snprintf(res->reason, sizeof(res->reason), "signature %.200s in %.800s", res->signature,
				 res->member);
	}
}
