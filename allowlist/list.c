/* The domain allow-list: parsing of the allow-list file and of the rule's
 * url_filtering.allow_list, and lookups. Must not consult categories or
 * decide anything itself (decide.c orders the steps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist/host.h"
#include "allowlist/list.h"
#include "fwgate/allowlist.h"
#include "fwgate/fileio.h"

/* A sorted set of names, for bsearch once sealed. */
struct allow_set {
	char **v;
	size_t n, cap;
};

struct allow_list {
	struct allow_set exact;  /* "vendor.example" */
	struct allow_set suffix; /* "*.vendor.example", stored as "vendor.example" */
};

struct allow_list *allow_list_new(void)
{
	return calloc(1, sizeof(struct allow_list));
}

static void set_free(struct allow_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

void allow_list_free(struct allow_list *l)
{
	if (l == NULL)
		return;
	set_free(&l->exact);
	set_free(&l->suffix);
	free(l);
}

static int set_add(struct allow_set *s, const char *name)
{
	char *copy;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	copy = strdup(name);
	if (copy == NULL)
		return -1;
	s->v[s->n++] = copy;
	return 0;
}

/* Parses one trimmed, non-empty entry into out (the name without "*.").
 * Returns NULL, or why the entry is refused (the end of a sentence). */
static const char *entry_parse(const char *s, size_t len, char *out, size_t out_len, bool *suffix)
{
	const char *why;

	*suffix = false;
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		*suffix = true;
		s += 2;
		len -= 2;
	} else if (len > 0 && s[0] == '.') {
		return "starts with \".\": write \"*.name\" to allow the names below a domain";
	}
	if (memchr(s, '*', len) != NULL)
		return "has a \"*\" that is not a leading \"*.\"";
	if (fw_host_is_ip(s, len))
		return "is an IP address: the allow-list names domains, and a CONNECT to an "
		       "IP address is always refused";
	if (fw_host_check(s, len, out, out_len, &why) != 0)
		return why;
	/* "*.com" would hand the whole top-level domain to anyone. */
	if (*suffix && strchr(out, '.') == NULL)
		return "would allow a whole top-level domain: a \"*.\" entry needs at least two labels";
	return NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One line of the file: "# comment", blank, or one entry (a comment may follow it). */
static int line_add(struct allow_list *l, const char *path, size_t line, const char *s, size_t n,
		    size_t *entries, struct fw_err *err)
{
	const char *hash = memchr(s, '#', n), *why;
	char name[FW_HOST_MAX], shown[96];
	bool suffix;

	if (memchr(s, '\0', n) != NULL)
		return fw_err_setc(err, FW_E_CONFIG, "%s:%zu: contains a NUL byte", path, line);
	if (hash != NULL)
		n = (size_t)(hash - s);
	while (n > 0 && is_space(s[n - 1]))
		n--;
	while (n > 0 && is_space(s[0])) {
		s++;
		n--;
	}
	if (n == 0)
		return 0;
	allow_display(shown, sizeof(shown), s, n);
	for (size_t i = 0; i < n; i++)
		if (is_space(s[i]))
			return fw_err_setc(err, FW_E_CONFIG, "%s:%zu: \"%s\": one name per line", path, line, shown);
	why = entry_parse(s, n, name, sizeof(name), &suffix);
	if (why != NULL)
		return fw_err_setc(err, FW_E_CONFIG, "%s:%zu: \"%s\" %s", path, line, shown, why);
	if (++*entries > FW_ALLOWLIST_MAX_ENTRIES)
		return fw_err_setc(err, FW_E_LIMIT, "%s:%zu: more than %u entries, the limit of an allow-list file",
				  path, line, FW_ALLOWLIST_MAX_ENTRIES);
	if (set_add(suffix ? &l->suffix : &l->exact, name) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "%s:%zu: out of memory", path, line);
	return 0;
}

int allow_list_load_file(struct allow_list *l, const char *path, struct fw_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0, pos = 0, line = 0, entries = 0;
	int rc = -1;

	if (fw_file_read(path, FW_ALLOWLIST_MAX_BYTES, &buf, &len, err) != 0)
		return -1;
	while (pos < len) {
		const char *s = (const char *)buf + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;

		pos += n + (nl != NULL ? 1 : 0);
		if (line_add(l, path, ++line, s, n, &entries, err) != 0)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int allow_list_add_rule(struct allow_list *l, const struct fw_policy *pol, struct fw_err *err)
{
	char name[FW_HOST_MAX], shown[96];

	for (size_t i = 0; i < pol->url_filtering.n_allow_list; i++) {
		const char *s = pol->url_filtering.allow_list[i], *why;
		size_t n = strnlen(s, 1024);
		bool suffix;

		why = entry_parse(s, n, name, sizeof(name), &suffix);
		if (why != NULL) {
			allow_display(shown, sizeof(shown), s, n);
			return fw_err_setc(err, FW_E_CONFIG, "rule %s: url_filtering.allow_list[%zu]: \"%s\" %s",
					  pol->rule, i, shown, why);
		}
		if (set_add(suffix ? &l->suffix : &l->exact, name) != 0)
			return fw_err_setc(err, FW_E_NOMEM, "out of memory loading the allow-list");
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_key(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

static void set_seal(struct allow_set *s)
{
	size_t out = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_names);
	for (size_t i = 1; i < s->n; i++) {
		if (strcmp(s->v[i], s->v[out]) == 0)
			free(s->v[i]);
		else
			s->v[++out] = s->v[i];
	}
	s->n = out + 1;
}

void allow_list_seal(struct allow_list *l)
{
	set_seal(&l->exact);
	set_seal(&l->suffix);
}

size_t allow_list_count(const struct allow_list *l)
{
	return l->exact.n + l->suffix.n;
}

static bool set_has(const struct allow_set *s, const char *name)
{
	return s->n > 0 && bsearch(name, s->v, s->n, sizeof(*s->v), cmp_key) != NULL;
}

bool allow_list_match(const struct allow_list *l, const char *host, char *entry, size_t entry_len)
{
	entry[0] = '\0';
	if (set_has(&l->exact, host)) {
		snprintf(entry, entry_len, "%s", host);
		return true;
	}
	/* Only proper parents: "*.vendor.example" does not cover vendor.example. */
	for (const char *p = strchr(host, '.'); p != NULL; p = strchr(p + 1, '.')) {
		if (set_has(&l->suffix, p + 1)) {
			snprintf(entry, entry_len, "*.%s", p + 1);
			return true;
		}
	}
	return false;
}
