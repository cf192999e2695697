/* The analyzer's project rules (scanner/analyze.h): parsing the rule file
 * (bounded, every error with its line) and matching the rules against a
 * member. Must not open files itself: the caller hands the text over. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/analyze_int.h"

/* ------------------------------------------------------------ rules */

struct an_rule {
	char name[ANALYZE_RULE_NAME_MAX + 1];
	unsigned weight;
	unsigned line;
	size_t len;
	uint8_t pat[ANALYZE_PATTERN_MAX];
};

/* Rules indexed by their first byte (1-byte patterns) and first two
 * bytes (the rest), so one pass over the member tries only rules that
 * can match at each offset. */
struct analyze_rules {
	size_t n;
	struct an_rule *r;
	uint16_t order1[ANALYZE_RULES_MAX], start1[256 + 1];
	uint16_t order2[ANALYZE_RULES_MAX], start2[65536 + 1];
};

static void an_rules_try(struct an *a, const struct analyze_rules *rs, const uint16_t *order, size_t lo, size_t hi,
			 size_t at, bool *seen, size_t *left)
{
	for (size_t j = lo; j < hi; j++) {
		const struct an_rule *r = &rs->r[order[j]];
		char pat[ANALYZE_DETAIL_MAX];

		if (seen[order[j]] || r->len > a->len - at || memcmp(a->p + at, r->pat, r->len) != 0)
			continue;
		seen[order[j]] = true;
		(*left)--;
		an_escape(r->pat, r->len, pat, 160);
		an_add(a, AN_RULE, r->weight, at, "%s: \"%s\"", r->name, pat);
	}
}

void an_rules(struct an *a, const struct analyze_rules *rs)
{
	bool seen[ANALYZE_RULES_MAX] = { false };
	size_t left = rs->n;

	for (size_t i = 0; i < a->len && left > 0; i++) {
		unsigned b = a->p[i], k;

		if (rs->start1[b] != rs->start1[b + 1])
			an_rules_try(a, rs, rs->order1, rs->start1[b], rs->start1[b + 1], i, seen, &left);
		if (i + 1 == a->len)
			break;
		k = b << 8 | a->p[i + 1];
		if (rs->start2[k] != rs->start2[k + 1])
			an_rules_try(a, rs, rs->order2, rs->start2[k], rs->start2[k + 1], i, seen, &left);
	}
}

/* A cursor over one line of the rule file. */
struct an_line {
	const char *s;
	size_t n, i;
	unsigned no;
};

static void an_line_ws(struct an_line *l)
{
	while (l->i < l->n && (l->s[l->i] == ' ' || l->s[l->i] == '\t'))
		l->i++;
}

/* The next whitespace-separated token; its length (0 at the end). */
static size_t an_line_token(struct an_line *l, const char **tok)
{
	size_t start;

	an_line_ws(l);
	start = l->i;
	while (l->i < l->n && l->s[l->i] != ' ' && l->s[l->i] != '\t')
		l->i++;
	*tok = l->s + start;
	return l->i - start;
}

static int an_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int an_rule_string(struct an_line *l, struct an_rule *r, struct fw_err *err)
{
	an_line_ws(l);
	if (l->i >= l->n || l->s[l->i] != '"')
		return fw_err_set(err, "rules:%u: a string pattern must be in double quotes", l->no);
	for (l->i++; l->i < l->n && l->s[l->i] != '"'; l->i++) {
		uint8_t b = (uint8_t)l->s[l->i];

		if (b == '\\') {
			char e = l->i + 1 < l->n ? l->s[++l->i] : '\0';
			int hi, lo;

			if (e == 'x' && l->i + 2 < l->n && (hi = an_hex_digit(l->s[l->i + 1])) >= 0 &&
			    (lo = an_hex_digit(l->s[l->i + 2])) >= 0) {
				b = (uint8_t)(hi << 4 | lo);
				l->i += 2;
			} else if (e == '\\' || e == '"') {
				b = (uint8_t)e;
			} else if (e == 't' || e == 'n' || e == 'r') {
				b = e == 't' ? '\t' : e == 'n' ? '\n' : '\r';
			} else {
				return fw_err_set(err, "rules:%u: bad escape in string: use \\xNN, \\\\, \\\", \\t, \\n or \\r",
						  l->no);
			}
		}
		if (r->len == ANALYZE_PATTERN_MAX)
			return fw_err_set(err, "rules:%u: the pattern is longer than %d bytes", l->no, ANALYZE_PATTERN_MAX);
		r->pat[r->len++] = b;
	}
	if (l->i >= l->n)
		return fw_err_set(err, "rules:%u: unterminated string", l->no);
	l->i++;
	if (r->len == 0)
		return fw_err_set(err, "rules:%u: empty pattern", l->no);
	return 0;
}

static int an_rule_hex(struct an_line *l, struct an_rule *r, struct fw_err *err)
{
	const char *t;
	size_t n = an_line_token(l, &t);

	if (n == 0)
		return fw_err_set(err, "rules:%u: expected NAME WEIGHT KIND PATTERN", l->no);
	for (size_t i = 0; i < n; i++)
		if (an_hex_digit(t[i]) < 0 || n % 2 != 0)
			return fw_err_set(err, "rules:%u: bad hex \"%.*s\": use pairs of hex digits", l->no,
					  (int)(n > 32 ? 32 : n), t);
	if (n / 2 > ANALYZE_PATTERN_MAX)
		return fw_err_set(err, "rules:%u: the pattern is longer than %d bytes", l->no, ANALYZE_PATTERN_MAX);
	for (size_t i = 0; i < n; i += 2)
		r->pat[r->len++] = (uint8_t)(an_hex_digit(t[i]) << 4 | an_hex_digit(t[i + 1]));
	return 0;
}

static int an_rule_name(struct an_line *l, const struct analyze_rules *rs, struct an_rule *r, struct fw_err *err)
{
	const char *t;
	size_t n = an_line_token(l, &t);
	bool ok = n >= 1 && n <= ANALYZE_RULE_NAME_MAX;

	for (size_t i = 0; i < n && ok; i++)
		ok = (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
		     t[i] == '_' || t[i] == '.' || t[i] == '-';
	if (!ok)
		return fw_err_set(err, "rules:%u: bad name: use 1 to %d characters of A-Z a-z 0-9 _ . -", l->no,
				  ANALYZE_RULE_NAME_MAX);
	memcpy(r->name, t, n);
	r->name[n] = '\0';
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].name, r->name) == 0)
			return fw_err_set(err, "rules:%u: the name %s is already used on line %u", l->no, r->name,
					  rs->r[i].line);
	return 0;
}

static int an_rule_line(struct analyze_rules *rs, struct an_line *l, struct fw_err *err)
{
	struct an_rule *r;
	const char *t;
	size_t n;
	bool digits;

	an_line_ws(l);
	if (l->i == l->n || l->s[l->i] == '#')
		return 0;
	if (memchr(l->s, '\0', l->n) != NULL)
		return fw_err_set(err, "rules:%u: the line contains a NUL byte", l->no);
	if (rs->n == ANALYZE_RULES_MAX)
		return fw_err_set(err, "rules:%u: more than %d rules", l->no, ANALYZE_RULES_MAX);
	r = &rs->r[rs->n];
	memset(r, 0, sizeof(*r));
	r->line = l->no;
	if (an_rule_name(l, rs, r, err) != 0)
		return -1;
	n = an_line_token(l, &t);
	digits = n >= 1 && n <= 4;
	for (size_t i = 0; i < n && digits; i++)
		if ((digits = t[i] >= '0' && t[i] <= '9'))
			r->weight = r->weight * 10 + (unsigned)(t[i] - '0');
	if (!digits || r->weight < 1 || r->weight > ANALYZE_RULE_WEIGHT_MAX)
		return fw_err_set(err, "rules:%u: bad weight \"%.*s\": use a whole number from 1 to %d", l->no,
				  (int)(n > 32 ? 32 : n), t, ANALYZE_RULE_WEIGHT_MAX);
	n = an_line_token(l, &t);
	if (n == 6 && memcmp(t, "string", 6) == 0) {
		if (an_rule_string(l, r, err) != 0)
			return -1;
	} else if (n == 3 && memcmp(t, "hex", 3) == 0) {
		if (an_rule_hex(l, r, err) != 0)
			return -1;
	} else if (n == 0) {
		return fw_err_set(err, "rules:%u: expected NAME WEIGHT KIND PATTERN", l->no);
	} else {
		return fw_err_set(err, "rules:%u: unknown pattern kind \"%.*s\": use string or hex", l->no,
				  (int)(n > 32 ? 32 : n), t);
	}
	an_line_ws(l);
	if (l->i < l->n && l->s[l->i] != '#')
		return fw_err_set(err, "rules:%u: unexpected text after the pattern", l->no);
	rs->n++;
	return 0;
}

static int an_key_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return (a > b) - (a < b);
}

/* order[] lists rules by key (first byte, or first two bytes); rules
 * with key k are order[start[k] .. start[k + 1]). */
static void an_rules_index(struct analyze_rules *rs, bool two, uint16_t *order, uint16_t *start, size_t nkeys)
{
	uint32_t keyed[ANALYZE_RULES_MAX];
	size_t m = 0, j = 0;

	for (size_t i = 0; i < rs->n; i++)
		if ((rs->r[i].len >= 2) == two)
			keyed[m++] = (uint32_t)(two ? rs->r[i].pat[0] << 8 | rs->r[i].pat[1] : rs->r[i].pat[0]) << 10 |
				     (uint32_t)i;
	qsort(keyed, m, sizeof(keyed[0]), an_key_cmp);
	for (size_t k = 0; k <= nkeys; k++) {
		while (j < m && (keyed[j] >> 10) < k)
			j++;
		start[k] = (uint16_t)j;
	}
	for (size_t i = 0; i < m; i++)
		order[i] = (uint16_t)(keyed[i] & 0x3ff);
}

int analyze_rules_load(struct analyze_rules **out, const char *text, size_t len, struct fw_err *err)
{
	struct analyze_rules *rs = NULL;
	struct an_line l = { 0 };
	size_t pos = 0;
	int rc = -1;

	*out = NULL;
	if (text == NULL && len > 0)
		return fw_err_set(err, "rules: no text");
	if (len > ANALYZE_RULES_TEXT_MAX)
		return fw_err_set(err, "rules: the rule file is larger than %d bytes", ANALYZE_RULES_TEXT_MAX);
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL || (rs->r = calloc(ANALYZE_RULES_MAX, sizeof(*rs->r))) == NULL) {
		fw_err_set(err, "out of memory");
		goto out;
	}
	while (pos < len) {
		const char *eol = memchr(text + pos, '\n', len - pos);

		l.s = text + pos;
		l.n = eol != NULL ? (size_t)(eol - l.s) : len - pos;
		l.i = 0;
		l.no++;
		pos += l.n + (eol != NULL);
		if (l.n > 0 && l.s[l.n - 1] == '\r')
			l.n--;
		if (l.n > ANALYZE_RULE_LINE_MAX) {
			fw_err_set(err, "rules:%u: the line is longer than %d bytes", l.no, ANALYZE_RULE_LINE_MAX);
			goto out;
		}
		if (an_rule_line(rs, &l, err) != 0)
			goto out;
	}
	an_rules_index(rs, false, rs->order1, rs->start1, 256);
	an_rules_index(rs, true, rs->order2, rs->start2, 65536);
	*out = rs;
	rs = NULL;
	rc = 0;
out:
	analyze_rules_free(rs);
	return rc;
}

void analyze_rules_free(struct analyze_rules *rules)
{
	if (rules == NULL)
		return;
	free(rules->r);
	free(rules);
}

size_t analyze_rules_count(const struct analyze_rules *rules)
{
	return rules->n;
}
