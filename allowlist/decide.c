/* The policy decision for a CONNECT target or a URL, in the order of
 * DESIGN.md (malformed, blocked category, allow-list, uncategorized), and
 * the one sentence that says why. Must not do network I/O. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "allowlist/categories.h"
#include "allowlist/host.h"
#include "allowlist/list.h"
#include "fwgate/allowlist.h"

/* Longest URL shown in a reason; the rest is cut with "...". */
#define DECIDE_URL_SHOWN 200

struct fw_allowlist {
	const struct fw_policy *pol; /* read-only, owned by the caller */
	struct allow_list *list;     /* read-only once sealed */
	struct allow_cats *cats;     /* NULL: no categories; locks itself */
};

int fw_allowlist_open(struct fw_allowlist **out, const struct fw_policy *pol,
		      const char *allowlist_file, const char *db_path, struct fw_err *err)
{
	struct fw_allowlist *al;

	*out = NULL;
	al = calloc(1, sizeof(*al));
	if (al == NULL || (al->list = allow_list_new()) == NULL) {
		free(al);
		return fw_err_setc(err, FW_E_NOMEM, "out of memory loading the allow-list");
	}
	al->pol = pol;
	if ((allowlist_file[0] != '\0' && allow_list_load_file(al->list, allowlist_file, err) != 0) ||
	    allow_list_add_rule(al->list, pol, err) != 0 ||
	    allow_cats_open(&al->cats, db_path, err) != 0) {
		fw_allowlist_free(al);
		return -1;
	}
	allow_list_seal(al->list);
	*out = al;
	return 0;
}

void fw_allowlist_free(struct fw_allowlist *al)
{
	if (al == NULL)
		return;
	allow_cats_free(al->cats);
	allow_list_free(al->list);
	free(al);
}

size_t fw_allowlist_count(const struct fw_allowlist *al)
{
	return allow_list_count(al->list);
}

uint64_t fw_allowlist_category_count(const struct fw_allowlist *al)
{
	return allow_cats_count(al->cats);
}

static void result_clear(struct fw_decision_result *out)
{
	memset(out, 0, sizeof(*out));
	out->decision = FW_DECISION_BLOCK;
	out->step = FW_STEP_MALFORMED;
}

/* Sets the outcome and its sentence; a reason cut by the buffer ends in "...". */
FW_PRINTF(4, 5)
static void result_set(struct fw_decision_result *out, enum fw_decision d, enum fw_decision_step step,
		       const char *fmt, ...)
{
	va_list ap;
	int n;

	out->decision = d;
	out->step = step;
	va_start(ap, fmt);
	n = vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(out->reason, sizeof(out->reason), "%s", "the decision could not be worded");
	else if ((size_t)n >= sizeof(out->reason))
		memcpy(out->reason + sizeof(out->reason) - 4, "...", 4);
}

static bool port_allowed(const struct fw_policy *pol, uint16_t port)
{
	for (unsigned i = 0; i < pol->n_ports; i++)
		if (pol->ports[i] == port)
			return true;
	return false;
}

static void ports_list(const struct fw_policy *pol, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < pol->n_ports && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%u", i ? ", " : "", (unsigned)pol->ports[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (pol->n_ports == 0)
		snprintf(buf, len, "%s", "none");
}

/* Step 1 for a host and port: IP literal, bad name, port. On success hn
 * holds the normalized name. */
static bool check_target(const struct fw_policy *pol, const char *host, size_t len, uint16_t port,
			 char *hn, size_t hn_len, struct fw_decision_result *out)
{
	char shown[FW_HOST_MAX + 8], ports[FW_POLICY_MAX_PORTS * 7 + 8];
	const char *why;

	allow_display(shown, sizeof(shown), host, len);
	if (fw_host_is_ip(host, len)) {
		result_set(out, FW_DECISION_BLOCK, FW_STEP_MALFORMED,
			   "%s is an IP address: the gateway connects only to named domains it can vet",
			   shown);
		return false;
	}
	if (fw_host_check(host, len, hn, hn_len, &why) != 0) {
		result_set(out, FW_DECISION_BLOCK, FW_STEP_MALFORMED, "\"%s\" is not a valid host name: it %s",
			   shown, why);
		return false;
	}
	if (!port_allowed(pol, port)) {
		ports_list(pol, ports, sizeof(ports));
		result_set(out, FW_DECISION_BLOCK, FW_STEP_MALFORMED,
			   "port %u of %s is not allowed by rule %s (allowed: %s)", (unsigned)port, hn,
			   pol->rule, ports);
		return false;
	}
	return true;
}

/* uncategorized_action: allow and alert let the request through; every
 * other action, unset and default included, refuses it (fail closed). */
static bool uncategorized_allows(enum fw_profile_action a)
{
	return a == FW_PA_ALLOW || a == FW_PA_ALERT;
}

/* Steps 3-4 and the rule's own action, once no category blocks. */
static void decide_listed(struct fw_allowlist *al, const char *hn, struct fw_decision_result *out)
{
	const struct fw_policy *pol = al->pol;
	enum fw_profile_action ua = pol->url_filtering.uncategorized_action;
	bool listed = allow_list_match(al->list, hn, out->matched, sizeof(out->matched));

	if (listed && pol->action == FW_RULE_ALLOW) {
		result_set(out, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST, "%s is on the allow-list (entry \"%s\")",
			   hn, out->matched);
	} else if (listed) {
		result_set(out, FW_DECISION_BLOCK, FW_STEP_RULE_ACTION,
			   "%s is on the allow-list, but the action of rule %s is %s", hn, pol->rule,
			   fw_rule_action_name(pol->action));
	} else if (ua == FW_PA_BLOCK || ua == FW_PA_UNSET) {
		result_set(out, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED,
			   "%s is not on the allow-list: uncategorized destinations are blocked by rule %s",
			   hn, pol->rule);
	} else if (!uncategorized_allows(ua)) {
		result_set(out, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED,
			   "%s is not on the allow-list: uncategorized destinations are refused by rule %s "
			   "(uncategorized_action %s)", hn, pol->rule, fw_profile_action_name(ua));
	} else if (pol->action != FW_RULE_ALLOW) {
		result_set(out, FW_DECISION_BLOCK, FW_STEP_RULE_ACTION,
			   "%s is uncategorized and rule %s would let it through, but the rule's action is %s",
			   hn, pol->rule, fw_rule_action_name(pol->action));
	} else {
		result_set(out, FW_DECISION_ALLOW, FW_STEP_UNCATEGORIZED,
			   "%s is not on the allow-list: uncategorized destinations are allowed by rule %s "
			   "(uncategorized_action %s)", hn, pol->rule, fw_profile_action_name(ua));
	}
}

static void category_blocked(struct fw_allowlist *al, const char *hn, const char *subject,
			     const struct allow_cat_hit *hit, struct fw_decision_result *out)
{
	char entry[FW_HOST_MAX + 2];
	bool listed = allow_list_match(al->list, hn, entry, sizeof(entry));

	snprintf(out->category, sizeof(out->category), "%s", hit->category);
	snprintf(out->matched, sizeof(out->matched), "%s", hit->entry);
	/* A vendor domain can be compromised: the allow-list never overrides. */
	result_set(out, FW_DECISION_BLOCK, FW_STEP_CATEGORY,
		   "%s is in the blocked category \"%s\" (listed as %s)%s", subject, hit->category,
		   hit->entry, listed ? ", which the allow-list does not override" : "");
}

static int db_failed(struct fw_decision_result *out, const struct fw_err *err)
{
	result_set(out, FW_DECISION_BLOCK, FW_STEP_CATEGORY,
		   "the category database could not be searched, so the request is refused: %s",
		   fw_err_msg(err));
	return -1;
}

/* Steps 2-4 for a checked host name, and for a URL key when key is not NULL. */
static int decide_name(struct fw_allowlist *al, const char *hn, const char *key, const char *url_shown,
		       struct fw_decision_result *out)
{
	struct allow_cat_hit hit;
	struct fw_err err;
	int r;

	fw_err_clear(&err);
	r = allow_cats_match_host(al->cats, al->pol, hn, &hit, &err);
	if (r == 1) {
		category_blocked(al, hn, hn, &hit, out);
		return 0;
	}
	if (r == 0 && key != NULL)
		r = allow_cats_match_url(al->cats, al->pol, key, strlen(hn), &hit, &err);
	if (r == 1) {
		category_blocked(al, hn, url_shown, &hit, out);
		return 0;
	}
	if (r < 0)
		return db_failed(out, &err);
	decide_listed(al, hn, out);
	return 0;
}

int fw_allowlist_decide_connect(struct fw_allowlist *al, const char *host, uint16_t port,
				struct fw_decision_result *out)
{
	char hn[FW_HOST_MAX];

	result_clear(out);
	if (!check_target(al->pol, host, strnlen(host, FW_HOST_MAX + 1), port, hn, sizeof(hn), out))
		return 0;
	return decide_name(al, hn, NULL, NULL, out);
}

/* https://host[:port] at the start of url: host into *h, *hlen; port. */
static const char *url_authority(const char *url, size_t len, const char **h, size_t *hlen,
				 uint16_t *port, size_t *path_at)
{
	size_t a = 8, end = 8, colon = 0;
	unsigned long v = 0;

	while (end < len && url[end] != '/' && url[end] != '?')
		end++;
	*path_at = end;
	*h = url + a;
	*hlen = end - a;
	*port = 443;
	if (end == a)
		return "has no host";
	if (memchr(url + a, '@', end - a) != NULL)
		return "carries user information (user@host), which the gateway refuses";
	if (url[a] == '[') {
		const char *close = memchr(url + a, ']', end - a);

		*hlen = close != NULL ? (size_t)(close - url) + 1 - a : end - a;
		return NULL; /* an IPv6 literal: check_target refuses it */
	}
	if (memchr(url + a, ':', end - a) != memrchr(url + a, ':', end - a))
		return NULL; /* an unbracketed IPv6 literal, refused the same way */
	for (size_t i = a; i < end; i++)
		if (url[i] == ':')
			colon = i;
	if (colon == 0)
		return NULL;
	*hlen = colon - a;
	if (end - colon - 1 == 0 || end - colon - 1 > 5)
		return "has a malformed port";
	for (size_t i = colon + 1; i < end; i++) {
		if (url[i] < '0' || url[i] > '9')
			return "has a malformed port";
		v = v * 10 + (unsigned long)(url[i] - '0');
	}
	if (v == 0 || v > 65535)
		return "has a port out of range";
	*port = (uint16_t)v;
	return NULL;
}

/* Step 1 for the shape of a URL. */
static const char *url_shape(const char *url, size_t len)
{
	if (len > ALLOW_URL_MAX)
		return "is too long";
	if (len >= 7 && strncasecmp(url, "http://", 7) == 0)
		return "is plain HTTP: the gateway proxies HTTPS only";
	if (len < 8 || strncasecmp(url, "https://", 8) != 0)
		return "is not an https:// URL";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return "contains a space, control or non-ASCII byte";
	if (memchr(url, '#', len) != NULL)
		return "carries a fragment (#), which a request never sends";
	return NULL;
}

int fw_allowlist_decide_url(struct fw_allowlist *al, const char *url, struct fw_decision_result *out)
{
	size_t len = strnlen(url, ALLOW_URL_MAX + 1), hlen = 0, path_at = 0;
	char shown[DECIDE_URL_SHOWN + 1], hn[FW_HOST_MAX], *key = NULL;
	const char *why, *h = NULL;
	uint16_t port = 443;
	int rc = 0;

	result_clear(out);
	allow_display(shown, sizeof(shown), url, len);
	why = url_shape(url, len);
	if (why == NULL)
		why = url_authority(url, len, &h, &hlen, &port, &path_at);
	if (why != NULL) {
		result_set(out, FW_DECISION_BLOCK, FW_STEP_MALFORMED, "the URL %s %s", shown, why);
		return 0;
	}
	if (!check_target(al->pol, h, hlen, port, hn, sizeof(hn), out))
		return 0;
	key = malloc(ALLOW_URL_MAX + 1);
	if (key == NULL) {
		result_set(out, FW_DECISION_BLOCK, FW_STEP_MALFORMED, "out of memory judging the URL %s", shown);
		return -1;
	}
	if (allow_url_key(hn, url + path_at, len - path_at, key, ALLOW_URL_MAX + 1, &why) != 0)
		result_set(out, FW_DECISION_BLOCK, FW_STEP_MALFORMED, "the URL %s %s", shown, why);
	else
		rc = decide_name(al, hn, key, shown, out);
	free(key);
	return rc;
}
