/* Path-aware JSON accessors for the rule-card loader. They only check
 * shapes and report; the meaning of fields lives in policy.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/policy_json.h"

void pj_err(struct pj *pj, const char *path, const char *fmt, ...)
{
	char what[FW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fw_errlist_addc(pj->errs, FW_E_CONFIG, "%s: %s", path[0] ? path : "(document)", what);
}

static const char *path_fit(char *out, size_t len, int n)
{
	if (n < 0 || (size_t)n >= len) {
		if (len > 4)
			memcpy(out + len - 4, "...", 4);
	}
	return out;
}

const char *pj_key(char *out, size_t len, const char *parent, const char *key)
{
	char q[96];

	pj_quote(key, q, sizeof(q));
	return path_fit(out, len, snprintf(out, len, parent[0] ? "%s.%s" : "%s%s", parent, q));
}

const char *pj_idx(char *out, size_t len, const char *parent, size_t idx)
{
	return path_fit(out, len, snprintf(out, len, "%s[%zu]", parent, idx));
}

const char *pj_quote(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, shown = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && o + 8 < len; p++) {
		if (shown == 80) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		} else {
			buf[o++] = (char)*p;
		}
		/* Count characters, not UTF-8 continuation bytes. */
		if ((*p & 0xc0) != 0x80)
			shown++;
	}
	buf[o] = '\0';
	return buf;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "of an unknown type";
}

void pj_check_keys(struct pj *pj, const char *path, json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;
	char p[PJ_PATH_MAX];

	json_object_foreach(obj, key, v) {
		bool ok = false;

		for (const char *const *k = known; *k; k++)
			if (strcmp(*k, key) == 0)
				ok = true;
		if (!ok)
			pj_err(pj, pj_key(p, sizeof(p), path, key), "unknown field");
	}
}

/* The member, or NULL (with an error when required). */
static json_t *member(struct pj *pj, json_t *parent, const char *path, const char *key,
		      bool required, json_type want, const char *want_name, char *p, size_t plen)
{
	json_t *v = json_object_get(parent, key);

	pj_key(p, plen, path, key);
	if (v == NULL) {
		if (required)
			pj_err(pj, p, "required field is missing");
		return NULL;
	}
	if (json_typeof(v) != want && !(want == JSON_TRUE && json_is_boolean(v))) {
		pj_err(pj, p, "must be %s, not %s", want_name, type_name(v));
		return NULL;
	}
	return v;
}

json_t *pj_object(struct pj *pj, json_t *parent, const char *path, const char *key, bool required)
{
	char p[PJ_PATH_MAX];

	return member(pj, parent, path, key, required, JSON_OBJECT, "an object", p, sizeof(p));
}

json_t *pj_array(struct pj *pj, json_t *parent, const char *path, const char *key, bool required,
		 size_t max_items)
{
	char p[PJ_PATH_MAX];
	json_t *v = member(pj, parent, path, key, required, JSON_ARRAY, "an array", p, sizeof(p));

	if (v != NULL && json_array_size(v) > max_items) {
		pj_err(pj, p, "%zu items, over the limit of %zu", json_array_size(v), max_items);
		return NULL;
	}
	return v;
}

const char *pj_string(struct pj *pj, json_t *parent, const char *path, const char *key,
		      bool required, size_t max_len)
{
	char p[PJ_PATH_MAX];
	json_t *v = member(pj, parent, path, key, required, JSON_STRING, "a string", p, sizeof(p));

	if (v == NULL)
		return NULL;
	if (json_string_length(v) > max_len) {
		pj_err(pj, p, "%zu bytes, over the limit of %zu", json_string_length(v), max_len);
		return NULL;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		pj_err(pj, p, "contains a NUL character");
		return NULL;
	}
	return json_string_value(v);
}

int pj_bool(struct pj *pj, json_t *parent, const char *path, const char *key, bool required, bool *out)
{
	char p[PJ_PATH_MAX];
	json_t *v = json_object_get(parent, key);

	if (v == NULL) {
		if (required)
			pj_err(pj, pj_key(p, sizeof(p), path, key), "required field is missing");
		return required ? -1 : 0;
	}
	if (member(pj, parent, path, key, required, JSON_TRUE, "a boolean", p, sizeof(p)) == NULL)
		return -1;
	*out = json_is_true(v);
	return 1;
}

int pj_int(struct pj *pj, json_t *parent, const char *path, const char *key, bool required,
	   long long min, long long max, long long *out)
{
	char p[PJ_PATH_MAX];
	json_t *v = json_object_get(parent, key);

	if (v == NULL) {
		if (required)
			pj_err(pj, pj_key(p, sizeof(p), path, key), "required field is missing");
		return required ? -1 : 0;
	}
	if (member(pj, parent, path, key, required, JSON_INTEGER, "an integer", p, sizeof(p)) == NULL)
		return -1;
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		pj_err(pj, p, "%lld is out of range (%lld to %lld)", (long long)json_integer_value(v),
		       min, max);
		return -1;
	}
	*out = (long long)json_integer_value(v);
	return 1;
}

int pj_enum(struct pj *pj, json_t *parent, const char *path, const char *key, bool required,
	    const char *const *names, size_t n)
{
	char p[PJ_PATH_MAX], q[256], list[512];
	const char *s = pj_string(pj, parent, path, key, required, 256);
	size_t o = 0;

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	list[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", names[i]);

		if (w < 0 || (size_t)w >= sizeof(list) - o)
			break;
		o += (size_t)w;
	}
	pj_err(pj, pj_key(p, sizeof(p), path, key), "unknown value \"%s\" (expected one of: %s)",
	       pj_quote(s, q, sizeof(q)), list);
	return -1;
}

bool pj_ident_valid(const char *s)
{
	size_t n = 0;

	for (const char *c = s; *c; c++, n++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      (n > 0 && (*c == '_' || *c == '-' || *c == '.'))))
			return false;
	return n >= 1 && n <= 63;
}

json_t *pj_string_array(struct pj *pj, json_t *parent, const char *path, const char *key,
			bool required, size_t max_items, pj_string_check check)
{
	char p[PJ_PATH_MAX], ip[PJ_PATH_MAX], q[256];
	json_t *arr = pj_array(pj, parent, path, key, required, max_items);
	json_t *v;
	size_t i;

	if (arr == NULL)
		return NULL;
	pj_key(p, sizeof(p), path, key);
	json_array_foreach(arr, i, v) {
		const char *why;

		pj_idx(ip, sizeof(ip), p, i);
		if (!json_is_string(v)) {
			pj_err(pj, ip, "must be a string, not %s", type_name(v));
			continue;
		}
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			pj_err(pj, ip, "contains a NUL character");
			continue;
		}
		if (check != NULL && (why = check(json_string_value(v))) != NULL)
			pj_err(pj, ip, "%s \"%s\"", why, pj_quote(json_string_value(v), q, sizeof(q)));
	}
	return arr;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "en", "fr", "pt-BR", "zh-Hant": a 2-3 letter language and optional
 * subtags of 2-8 letters or digits (a subset of BCP 47). */
static bool lang_tag_valid(const char *s)
{
	size_t n = 0, sub = 0;

	while (s[n] >= 'a' && s[n] <= 'z')
		n++;
	if (n < 2 || n > 3)
		return false;
	for (s += n; *s; s++) {
		if (*s == '-') {
			if (sub == 1 || (sub > 0 && sub < 3))
				return false;
			sub = 1;
		} else if (sub > 0 && (is_alpha(*s) || (*s >= '0' && *s <= '9')) && sub <= 8) {
			sub++;
		} else {
			return false;
		}
	}
	return sub == 0 || sub >= 3;
}

void pj_text(struct pj *pj, json_t *parent, const char *path, const char *key, bool required)
{
	char p[PJ_PATH_MAX], kp[PJ_PATH_MAX];
	json_t *obj = pj_object(pj, parent, path, key, required);
	const char *lang;
	json_t *v;

	if (obj == NULL)
		return;
	pj_key(p, sizeof(p), path, key);
	json_object_foreach(obj, lang, v) {
		pj_key(kp, sizeof(kp), p, lang);
		if (!lang_tag_valid(lang))
			pj_err(pj, kp, "not a language tag (such as \"en\" or \"pt-BR\")");
		else if (!json_is_string(v))
			pj_err(pj, kp, "must be a string, not %s", type_name(v));
		else if (json_string_length(v) > 64 * 1024)
			pj_err(pj, kp, "over the limit of 65536 bytes");
	}
}
