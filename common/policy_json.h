/* JSON walking helpers for the rule-card loader (private to common/):
 * every accessor knows the JSON path it is at, so each error names it
 * ("rules[5].security_profiles.sandboxing.file_types[1]: ..."). */
#ifndef FWGATE_COMMON_POLICY_JSON_H
#define FWGATE_COMMON_POLICY_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "fwgate/err.h"

#define PJ_PATH_MAX 256

struct pj {
	struct fw_errlist *errs;
};

void pj_err(struct pj *pj, const char *path, const char *fmt, ...) FW_PRINTF(3, 4);

/* parent.key / parent[idx] into out (truncated paths end in "..."). */
const char *pj_key(char *out, size_t len, const char *parent, const char *key);
const char *pj_idx(char *out, size_t len, const char *parent, size_t idx);

/* A hostile string made safe to quote in a message: control bytes and
 * quotes escaped, cut at 80 characters. */
const char *pj_quote(const char *s, char *buf, size_t len);

/* Reports every member of obj whose name is not in known (NULL-ended). */
void pj_check_keys(struct pj *pj, const char *path, json_t *obj, const char *const *known);

/* Member accessors: NULL / -1 when absent (an error if required) or of
 * the wrong type (always an error). */
json_t *pj_object(struct pj *pj, json_t *parent, const char *path, const char *key, bool required);
json_t *pj_array(struct pj *pj, json_t *parent, const char *path, const char *key, bool required,
		 size_t max_items);
const char *pj_string(struct pj *pj, json_t *parent, const char *path, const char *key,
		      bool required, size_t max_len);
/* 1 present, 0 absent, -1 error. */
int pj_bool(struct pj *pj, json_t *parent, const char *path, const char *key, bool required, bool *out);
int pj_int(struct pj *pj, json_t *parent, const char *path, const char *key, bool required,
	   long long min, long long max, long long *out);
/* The index of the member's value in names[n], or -1 (absent or error). */
int pj_enum(struct pj *pj, json_t *parent, const char *path, const char *key, bool required,
	    const char *const *names, size_t n);

/* An identifier: 1..63 of [a-z0-9_.-], starting with a letter or digit. */
bool pj_ident_valid(const char *s);

/* An array of strings, each checked by check (which returns NULL when the
 * string is fine, or the reason it is not). */
typedef const char *(*pj_string_check)(const char *s);
json_t *pj_string_array(struct pj *pj, json_t *parent, const char *path, const char *key,
			bool required, size_t max_items, pj_string_check check);

/* A localized text: an object of language tag -> string. */
void pj_text(struct pj *pj, json_t *parent, const char *path, const char *key, bool required);

#endif
