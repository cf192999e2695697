/* The words of remote syslog: the [log] syslog_target grammar and the
 * RFC 5424 message built from one event line (header, structured data of
 * the ECS fields, the JSON line as MSG). Pure functions: no I/O, no
 * clock, no state; every output is bounded by the caller's max_bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "fwgate/host.h"
#include "fwgate/syslog_fwd.h"

/* A target longer than this is refused before it is looked at. */
#define TARGET_TEXT_MAX 300
/* RFC 5424 6.2.4: HOSTNAME is at most 255 printable characters. */
#define HOSTNAME_MAX 255
/* The parameters kept when the whole set does not fit: values cut here. */
#define CORE_VALUE_MAX 64
#define FORMAT_MIN_BYTES 1024

static const char cut_mark[] = "...[cut]";
static const char bom[] = "\xef\xbb\xbf";

int fw_syslog_target_parse(const char *text, struct fw_syslog_target *out, struct fw_err *err)
{
	static const struct {
		const char *prefix;
		enum fw_syslog_proto proto;
	} schemes[] = { { "udp://", FW_SYSLOG_UDP }, { "tcp://", FW_SYSLOG_TCP }, { "tls://", FW_SYSLOG_TLS } };
	struct fw_syslog_target t = { 0 };
	size_t len = strnlen(text, TARGET_TEXT_MAX + 1), hlen;
	const char *p = NULL, *host, *port;
	unsigned long v = 0;
	const char *why;
	char ip[64];

	memset(out, 0, sizeof(*out));
	if (len > TARGET_TEXT_MAX)
		return fw_err_setc(err, FW_E_LIMIT, "longer than %d bytes", TARGET_TEXT_MAX);
	for (size_t i = 0; i < FW_ARRAY_LEN(schemes); i++)
		if (strncmp(text, schemes[i].prefix, strlen(schemes[i].prefix)) == 0) {
			p = text + strlen(schemes[i].prefix);
			t.proto = schemes[i].proto;
		}
	if (p == NULL)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\" does not start with udp://, tcp:// or tls://", text);
	host = p;
	if (*p == '[') {
		const char *end = strchr(p, ']');

		if (end == NULL || end[1] != ':')
			return fw_err_setc(err, FW_E_INVALID, "\"%s\": an IPv6 address is written [ADDRESS]:PORT", text);
		hlen = (size_t)(end - p - 1);
		if (hlen == 0 || hlen >= sizeof(ip))
			return fw_err_setc(err, FW_E_INVALID, "\"%s\": not an IPv6 address in brackets", text);
		memcpy(ip, p + 1, hlen);
		ip[hlen] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, ip, &a6) != 1)
			return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not an IPv6 address", ip);
		memcpy(t.host, ip, hlen + 1);
		t.host_is_ip = true;
		port = end + 2;
	} else {
		const char *colon = strrchr(p, ':');
		struct in_addr a4;

		if (colon == NULL)
			return fw_err_setc(err, FW_E_INVALID, "\"%s\" has no :PORT", text);
		hlen = (size_t)(colon - host);
		if (memchr(host, ':', hlen) != NULL)
			return fw_err_setc(err, FW_E_INVALID, "\"%s\": an IPv6 address is written [ADDRESS]:PORT", text);
		if (hlen == 0)
			return fw_err_setc(err, FW_E_INVALID, "\"%s\" has no host", text);
		if (hlen < sizeof(ip) && strspn(host, "0123456789.") == hlen) {
			memcpy(ip, host, hlen);
			ip[hlen] = '\0';
			/* inet_pton takes only the dotted quad: no 127.1, no octal. */
			if (inet_pton(AF_INET, ip, &a4) != 1)
				return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not an IPv4 address", ip);
			memcpy(t.host, ip, hlen + 1);
			t.host_is_ip = true;
		} else if (fw_host_check(host, hlen, t.host, sizeof(t.host), &why) != 0 ||
			   fw_host_is_ip(t.host, strlen(t.host))) {
			return fw_err_setc(err, FW_E_INVALID, "\"%.*s\" is not a host name or IP address",
					   (int)(hlen > 80 ? 80 : hlen), host);
		}
		port = colon + 1;
	}
	if (port[0] < '1' || port[0] > '9' || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    (v = strtoul(port, NULL, 10)) > 65535)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\": the port must be a number from 1 to 65535", text);
	t.port = (uint16_t)v;
	*out = t;
	return 0;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

size_t fw_syslog_param_name(const char *key, char *out)
{
	size_t n = 0, klen = strlen(key);

	if (klen == 0) {
		out[0] = '_';
		out[1] = '\0';
		return 1;
	}
	for (size_t i = 0; i < klen && n < FW_SYSLOG_NAME_MAX; i++) {
		unsigned char c = (unsigned char)key[i];

		out[n++] = (c < '!' || c > '~' || c == '=' || c == ']' || c == '"') ? '_' : (char)c;
	}
	if (klen > FW_SYSLOG_NAME_MAX) {
		/* 23 + '~' + 8 hex: names that share a long prefix stay apart. */
		n = 23;
		n += (size_t)snprintf(out + n, FW_SYSLOG_NAME_MAX + 1 - n, "~%08" PRIx32, fnv1a(key));
	}
	out[n] = '\0';
	return n;
}

int fw_syslog_severity(enum fw_outcome outcome, bool high)
{
	if (outcome == FW_OUTCOME_FAILURE)
		return high ? LOG_ERR : LOG_WARNING;
	return high ? LOG_NOTICE : LOG_INFO;
}

/* A growing buffer that refuses to pass hard_max bytes. */
struct sbuf {
	char *p;
	size_t len, cap, hard_max;
	bool failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (n > b->hard_max - b->len) {
		b->failed = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		char *np;

		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->hard_max)
			cap = b->hard_max;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* RFC 5424 6.3.3: '"', '\' and ']' are escaped with '\'. Control
 * characters are replaced (a collector may split or re-escape them). At
 * most max_in input bytes, cut on a character boundary. */
static void sb_value(struct sbuf *b, const char *s, size_t len, size_t max_in)
{
	if (len > max_in) {
		len = max_in;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\' || c == ']') {
			char e[2] = { '\\', (char)c };

			sb_put(b, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			sb_put(b, "\xef\xbf\xbd", 3);
		} else {
			sb_put(b, (const char *)&s[i], 1);
		}
	}
}

static void sb_param(struct sbuf *b, const char *key, const char *val, size_t len, size_t max_in)
{
	char name[FW_SYSLOG_NAME_MAX + 1];

	sb_put(b, " ", 1);
	sb_put(b, name, fw_syslog_param_name(key, name));
	sb_put(b, "=\"", 2);
	sb_value(b, val, len, max_in);
	sb_put(b, "\"", 1);
}

/* The text of one JSON member's value; *tmp (to free) when dumped. */
static const char *member_text(json_t *v, char *num, size_t num_len, char **tmp, size_t *len)
{
	*tmp = NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		*len = json_string_length(v);
		return json_string_value(v);
	case JSON_INTEGER:
		*len = (size_t)snprintf(num, num_len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return num;
	case JSON_REAL:
		*len = (size_t)snprintf(num, num_len, "%.17g", json_real_value(v));
		return num;
	case JSON_TRUE:
		*len = 4;
		return "true";
	case JSON_FALSE:
		*len = 5;
		return "false";
	case JSON_NULL:
		*len = 0;
		return "";
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	}
	*tmp = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	*len = *tmp != NULL ? strlen(*tmp) : 0;
	return *tmp != NULL ? *tmp : "";
}

/* "[fwgate@32473 ...]": every member (core: only action, outcome), then
 * profile and truncated. */
static void sb_sd(struct sbuf *b, json_t *obj, const char *profile, bool core, bool truncated)
{
	const char *key;
	json_t *v;

	sb_str(b, "[" FW_SYSLOG_SD_ID);
	json_object_foreach(obj, key, v) {
		char num[64], *tmp;
		size_t len;
		const char *text;

		if (core && strcmp(key, "event.action") != 0 && strcmp(key, "event.outcome") != 0)
			continue;
		text = member_text(v, num, sizeof(num), &tmp, &len);
		sb_param(b, key, text, len, core ? CORE_VALUE_MAX : SIZE_MAX);
		free(tmp);
	}
	if (profile != NULL && profile[0] != '\0')
		sb_param(b, "profile", profile, strlen(profile), core ? CORE_VALUE_MAX : SIZE_MAX);
	if (truncated)
		sb_param(b, "truncated", "true", 4, SIZE_MAX);
	sb_str(b, "]");
}

static void sb_header(struct sbuf *b, const struct fw_syslog_header *h, json_t *obj)
{
	char buf[96], base[32], msgid[FW_SYSLOG_NAME_MAX + 1];
	time_t sec = (time_t)(h->time_us / 1000000);
	long usec = (long)(h->time_us % 1000000);
	json_t *action = json_object_get(obj, "event.action");
	struct tm tm;
	int n;

	if (usec < 0) {
		usec += 1000000;
		sec--;
	}
	if (gmtime_r(&sec, &tm) == NULL || strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(base, sizeof(base), "1970-01-01T00:00:00");
	n = snprintf(buf, sizeof(buf), "<%d>1 %s.%06ldZ ", (h->facility & LOG_FACMASK) | (h->severity & LOG_PRIMASK),
		     base, usec);
	sb_put(b, buf, (size_t)n);
	if (h->hostname == NULL || h->hostname[0] == '\0') {
		sb_put(b, "-", 1);
	} else {
		for (size_t i = 0; h->hostname[i] != '\0' && i < HOSTNAME_MAX; i++) {
			unsigned char c = (unsigned char)h->hostname[i];

			sb_put(b, (c < '!' || c > '~') ? "_" : &h->hostname[i], 1);
		}
	}
	n = snprintf(buf, sizeof(buf), " fwgate %ld ", h->pid);
	sb_put(b, buf, (size_t)n);
	if (json_is_string(action))
		sb_put(b, msgid, fw_syslog_param_name(json_string_value(action), msgid));
	else
		sb_put(b, "-", 1);
	sb_put(b, " ", 1);
}

int fw_syslog_format(const struct fw_syslog_header *h, const char *line, size_t len, size_t max_bytes,
		     char **out, size_t *out_len, struct fw_err *err)
{
	struct sbuf head = { .hard_max = max_bytes }, sd = { .hard_max = SIZE_MAX }, all = { .hard_max = max_bytes };
	json_error_t jerr;
	json_t *obj;
	size_t avail;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (max_bytes < FORMAT_MIN_BYTES)
		return fw_err_setc(err, FW_E_INVALID, "a syslog message needs at least %d bytes", FORMAT_MIN_BYTES);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL || !json_is_object(obj)) {
		fw_err_setc(err, FW_E_INVALID, "the event line is not a JSON object");
		goto out;
	}
	sb_header(&head, h, obj);
	sb_sd(&sd, obj, h->profile, false, false);
	if (head.failed || sd.failed) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory formatting a syslog message");
		goto out;
	}
	if (head.len + sd.len + 1 + 3 + len > max_bytes) {
		/* Too long: mark it, and keep only the core parameters when the
		 * whole set leaves no room for the start of MSG. */
		sd.len = 0;
		sb_sd(&sd, obj, h->profile, false, true);
		if (!sd.failed && head.len + sd.len + 1 + 3 + 256 > max_bytes) {
			sd.len = 0;
			sb_sd(&sd, obj, h->profile, true, true);
		}
		if (sd.failed || head.len + sd.len + 1 + 3 + sizeof(cut_mark) > max_bytes) {
			fw_err_setc(err, FW_E_LIMIT, "a syslog message header does not fit in %zu bytes", max_bytes);
			goto out;
		}
		avail = max_bytes - head.len - sd.len - 1 - 3 - (sizeof(cut_mark) - 1);
		while (avail > 0 && ((unsigned char)line[avail] & 0xc0) == 0x80)
			avail--;
	} else {
		avail = len;
	}
	sb_put(&all, head.p, head.len);
	sb_put(&all, sd.p, sd.len);
	sb_put(&all, " ", 1);
	sb_put(&all, bom, 3);
	sb_put(&all, line, avail);
	if (avail < len)
		sb_put(&all, cut_mark, sizeof(cut_mark) - 1);
	if (all.failed) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory formatting a syslog message");
		goto out;
	}
	*out = all.p;
	*out_len = all.len;
	all.p = NULL;
	rc = 0;
out:
	json_decref(obj);
	free(head.p);
	free(sd.p);
	free(all.p);
	return rc;
}
