/* The bundle manifest: its strict schema (every field required and typed,
 * unknown fields refused, every string, number and count bounded, hashes
 * unique), the parser of hostile bytes (fuzzed: tests/fuzz/fuzz_manifest.c)
 * and the builder of an export's manifest. Must not touch files, keys or
 * the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwgate/bundle.h"

/* The kinds of field the schema knows. */
enum mf_kind {
	MF_STR,      /* a string of min..max bytes */
	MF_HEX64,    /* 64 lower-case hex digits */
	MF_INT,      /* an integer in min..max */
	MF_ARRAY,    /* checked by its own code */
};

struct mf_field {
	const char *name;
	enum mf_kind kind;
	long long min, max;
};

#define MF_TIME_MAX 253402300799LL /* 9999-12-31 */
#define MF_SIZE_MAX (1LL << 50)

static const struct mf_field mf_top[] = {
	{ "format", MF_STR, 1, 32 },
	{ "version", MF_INT, FW_BUNDLE_VERSION, FW_BUNDLE_VERSION },
	{ "site_id", MF_STR, 1, FW_BUNDLE_SITE_MAX },
	{ "exported_at", MF_INT, 1, MF_TIME_MAX },
	{ "sequence", MF_INT, 1, INT64_MAX },
	{ "key_fingerprint", MF_HEX64, 0, 0 },
	{ "objects", MF_ARRAY, 0, FW_BUNDLE_OBJECTS_MAX },
};

static const struct mf_field mf_object[] = {
	{ "sha256", MF_HEX64, 0, 0 },
	{ "size", MF_INT, 0, MF_SIZE_MAX },
	{ "urls", MF_ARRAY, 1, FW_EXPORT_URLS_MAX },
	{ "state", MF_STR, 1, 16 },
	{ "verdict", MF_STR, 1, 16 },
	{ "reason", MF_STR, 0, FW_ERR_MSG_MAX - 1 },
	{ "mime", MF_STR, 0, 256 },
	{ "file_type", MF_STR, 0, 32 },
	{ "engine", MF_STR, 0, FW_SCANNER_SUMMARY_MAX - 1 },
	{ "scanned_at", MF_INT, 0, MF_TIME_MAX },
	{ "sandbox", MF_ARRAY, 0, FW_EXPORT_SANDBOX_MAX },
	{ "approved_by", MF_STR, 1, 256 },
	{ "approved_at", MF_INT, 0, MF_TIME_MAX },
	{ "approved_how", MF_STR, 1, 16 },
	{ "review_reason", MF_STR, 0, 4096 },
};

static const struct mf_field mf_sandbox[] = {
	{ "member", MF_STR, 0, 1024 },
	{ "sha256", MF_HEX64, 0, 0 },
	{ "file_type", MF_STR, 0, 32 },
	{ "backend", MF_STR, 1, 16 },
	{ "verdict", MF_STR, 0, 16 },
	{ "score", MF_INT, 0, 100 },
};

static bool mf_hex64(const char *s, size_t n)
{
	if (n != FW_SHA256_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Checks obj against fields: each present with its type and bounds,
 * nothing else. path names obj in the messages. */
static int mf_check(const json_t *obj, const struct mf_field *fields, size_t n, const char *path, struct fw_err *err)
{
	const char *key;
	const json_t *v;
	size_t i;

	if (!json_is_object(obj))
		return fw_err_setc(err, FW_E_INVALID, "manifest %s: not an object", path);
	json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
		for (i = 0; i < n && strcmp(key, fields[i].name) != 0; i++)
			;
		if (i == n)
			return fw_err_setc(err, FW_E_INVALID, "manifest %s: unknown field \"%.64s\"", path, key);
	}
	for (i = 0; i < n; i++) {
		const struct mf_field *f = &fields[i];
		size_t len;

		v = json_object_get(obj, f->name);
		if (v == NULL)
			return fw_err_setc(err, FW_E_INVALID, "manifest %s.%s: missing", path, f->name);
		switch (f->kind) {
		case MF_STR:
		case MF_HEX64:
			if (!json_is_string(v))
				return fw_err_setc(err, FW_E_INVALID, "manifest %s.%s: not a string", path, f->name);
			len = json_string_length(v);
			if (f->kind == MF_HEX64 && !mf_hex64(json_string_value(v), len))
				return fw_err_setc(err, FW_E_INVALID, "manifest %s.%s: not a SHA-256 in lower-case hex",
						   path, f->name);
			if (f->kind == MF_STR && (len < (size_t)f->min || len > (size_t)f->max))
				return fw_err_setc(err, len > (size_t)f->max ? FW_E_LIMIT : FW_E_INVALID,
						   "manifest %s.%s: %zu bytes, not %lld to %lld", path, f->name, len,
						   f->min, f->max);
			if (strlen(json_string_value(v)) != len)
				return fw_err_setc(err, FW_E_INVALID, "manifest %s.%s: a NUL in a string", path, f->name);
			break;
		case MF_INT:
			if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
				return fw_err_setc(err, FW_E_INVALID, "manifest %s.%s: not an integer from %lld to %lld",
						   path, f->name, f->min, f->max);
			break;
		case MF_ARRAY:
			if (!json_is_array(v))
				return fw_err_setc(err, FW_E_INVALID, "manifest %s.%s: not an array", path, f->name);
			len = json_array_size(v);
			if (len < (size_t)f->min || len > (size_t)f->max)
				return fw_err_setc(err, len > (size_t)f->max ? FW_E_LIMIT : FW_E_INVALID,
						   "manifest %s.%s: %zu entries, not %lld to %lld", path, f->name, len,
						   f->min, f->max);
			break;
		}
	}
	return 0;
}

static bool mf_one_of(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

static int mf_object_check(const json_t *o, size_t i, struct fw_bundle_object *out, struct fw_err *err)
{
	static const char *const states[] = { "approved", "released" };
	static const char *const hows[] = { "scan", "sandbox", "release", "import" };
	static const char *const jverdicts[] = { "", "benign", "suspicious", "malicious" };
	const char **urls;
	char path[64];
	enum fw_verdict v;
	const json_t *e;
	size_t k;

	snprintf(path, sizeof(path), "objects[%zu]", i);
	if (mf_check(o, mf_object, FW_ARRAY_LEN(mf_object), path, err) != 0)
		return -1;
	if (!mf_one_of(json_string_value(json_object_get(o, "state")), states, FW_ARRAY_LEN(states)) ||
	    fw_verdict_parse(json_string_value(json_object_get(o, "verdict")), &v) != 0 || v == FW_VERDICT_PENDING ||
	    !mf_one_of(json_string_value(json_object_get(o, "approved_how")), hows, FW_ARRAY_LEN(hows)))
		return fw_err_setc(err, FW_E_INVALID, "manifest %s: its state (approved, released), verdict or "
				   "approved_how is not one of the names", path);
	json_array_foreach(json_object_get(o, "sandbox"), k, e) {
		char sp[96];

		snprintf(sp, sizeof(sp), "%s.sandbox[%zu]", path, k);
		if (mf_check(e, mf_sandbox, FW_ARRAY_LEN(mf_sandbox), sp, err) != 0)
			return -1;
		if (!mf_one_of(json_string_value(json_object_get(e, "verdict")), jverdicts, FW_ARRAY_LEN(jverdicts)))
			return fw_err_setc(err, FW_E_INVALID, "manifest %s.verdict: not a job verdict", sp);
	}
	urls = calloc(json_array_size(json_object_get(o, "urls")), sizeof(*urls));
	if (urls == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	json_array_foreach(json_object_get(o, "urls"), k, e) {
		size_t len = json_string_length(e);

		if (!json_is_string(e) || len == 0 || len > FW_BUNDLE_URL_MAX || strlen(json_string_value(e)) != len ||
		    strncmp(json_string_value(e), "https://", 8) != 0) {
			free(urls);
			return fw_err_setc(err, FW_E_INVALID, "manifest %s.urls[%zu]: not an https URL of 1 to %d bytes",
					   path, k, FW_BUNDLE_URL_MAX);
		}
		urls[k] = json_string_value(e);
	}
	out->urls = urls;
	out->n_urls = k;
	memcpy(out->sha256, json_string_value(json_object_get(o, "sha256")), FW_SHA256_HEX_LEN + 1);
	out->size = (uint64_t)json_integer_value(json_object_get(o, "size"));
	out->entry = o;
	return 0;
}

static int mf_sha_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fw_bundle_object *)a)->sha256, ((const struct fw_bundle_object *)b)->sha256);
}

/* No two objects with one hash: a bundle names each blob once. */
static int mf_unique(const struct fw_bundle_manifest *m, struct fw_err *err)
{
	struct fw_bundle_object *sorted;
	int rc = 0;

	if (m->n < 2)
		return 0;
	sorted = malloc(m->n * sizeof(*sorted));
	if (sorted == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	memcpy(sorted, m->objects, m->n * sizeof(*sorted));
	qsort(sorted, m->n, sizeof(*sorted), mf_sha_cmp);
	for (size_t i = 1; i < m->n && rc == 0; i++)
		if (strcmp(sorted[i - 1].sha256, sorted[i].sha256) == 0)
			rc = fw_err_setc(err, FW_E_INVALID, "manifest: the object %s is listed twice", sorted[i].sha256);
	free(sorted);
	return rc;
}

static bool mf_site_valid(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

void fw_bundle_manifest_free(struct fw_bundle_manifest *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->objects[i].urls);
	free(m->objects);
	json_decref(m->doc);
	free(m);
}

static int mf_top_check(struct fw_bundle_manifest *m, struct fw_err *err)
{
	const json_t *doc = m->doc;

	if (mf_check(doc, mf_top, FW_ARRAY_LEN(mf_top), "$", err) != 0)
		return -1;
	if (strcmp(json_string_value(json_object_get(doc, "format")), FW_BUNDLE_FORMAT) != 0)
		return fw_err_setc(err, FW_E_INVALID, "manifest $.format: not \"%s\"", FW_BUNDLE_FORMAT);
	if (!mf_site_valid(json_string_value(json_object_get(doc, "site_id"))))
		return fw_err_setc(err, FW_E_INVALID, "manifest $.site_id: only A-Z a-z 0-9 . _ - are allowed");
	snprintf(m->site_id, sizeof(m->site_id), "%s", json_string_value(json_object_get(doc, "site_id")));
	memcpy(m->key_fingerprint, json_string_value(json_object_get(doc, "key_fingerprint")), FW_BUNDLE_FPR_LEN + 1);
	m->exported_at = (int64_t)json_integer_value(json_object_get(doc, "exported_at"));
	m->sequence = (int64_t)json_integer_value(json_object_get(doc, "sequence"));
	return 0;
}

int fw_bundle_manifest_parse(const uint8_t *p, size_t len, struct fw_bundle_manifest **out, struct fw_err *err)
{
	struct fw_bundle_manifest *m;
	json_error_t je;
	const json_t *objs;

	*out = NULL;
	if (len > FW_BUNDLE_MANIFEST_MAX)
		return fw_err_setc(err, FW_E_LIMIT, "the manifest is %zu bytes, over the %u allowed", len,
				   FW_BUNDLE_MANIFEST_MAX);
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	/* Duplicate keys refused: two readers must never see two manifests. */
	m->doc = json_loadb(len > 0 ? (const char *)p : "", len, JSON_REJECT_DUPLICATES, &je);
	if (m->doc == NULL) {
		fw_err_setc(err, FW_E_INVALID, "the manifest is not JSON: line %d: %.200s", je.line, je.text);
		goto fail;
	}
	if (mf_top_check(m, err) != 0)
		goto fail;
	objs = json_object_get(m->doc, "objects");
	m->objects = calloc(json_array_size(objs) > 0 ? json_array_size(objs) : 1, sizeof(*m->objects));
	if (m->objects == NULL) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < json_array_size(objs); i++) {
		m->n = i + 1;
		if (mf_object_check(json_array_get(objs, i), i, &m->objects[i], err) != 0)
			goto fail;
	}
	if (mf_unique(m, err) != 0)
		goto fail;
	*out = m;
	return 0;
fail:
	fw_bundle_manifest_free(m);
	return -1;
}

/* ------------------------------------------------------------ build */

/* The fields of a store export row the manifest carries. */
static const char *const mf_carried[] = {
	"sha256", "size", "urls", "state", "verdict", "reason", "mime", "file_type", "engine", "scanned_at",
	"sandbox", "approved_by", "approved_at", "approved_how", "review_reason",
};

int fw_bundle_manifest_build(const char *site_id, int64_t exported_at, int64_t sequence, const char *fpr,
			     const json_t *objects, char **text, size_t *len, struct fw_err *err)
{
	struct fw_bundle_manifest *check = NULL;
	json_t *doc, *arr = json_array();
	const json_t *row;
	size_t i;
	int rc = -1;

	*text = NULL;
	*len = 0;
	doc = json_pack("{s:s, s:i, s:s, s:I, s:I, s:s, s:o}", "format", FW_BUNDLE_FORMAT, "version",
			FW_BUNDLE_VERSION, "site_id", site_id, "exported_at", (json_int_t)exported_at, "sequence",
			(json_int_t)sequence, "key_fingerprint", fpr, "objects", arr);
	if (doc == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	json_array_foreach((json_t *)(uintptr_t)objects, i, row) {
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(arr, o) != 0) {
			fw_err_setc(err, FW_E_NOMEM, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < FW_ARRAY_LEN(mf_carried); k++)
			if (json_object_get(row, mf_carried[k]) != NULL &&
			    json_object_set(o, mf_carried[k], json_object_get(row, mf_carried[k])) != 0) {
				fw_err_setc(err, FW_E_NOMEM, "out of memory");
				goto out;
			}
	}
	*text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (*text == NULL) {
		fw_err_setc(err, FW_E_NOMEM, "cannot write the manifest");
		goto out;
	}
	*len = strlen(*text);
	/* What this site writes, another must read: checked here, where the
	 * operator can still act on it. */
	if (fw_bundle_manifest_parse((const uint8_t *)*text, *len, &check, err) != 0) {
		fw_err_prefix(err, "the export would not be importable");
		goto out;
	}
	rc = 0;
out:
	fw_bundle_manifest_free(check);
	json_decref(doc);
	if (rc != 0) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	return rc;
}
