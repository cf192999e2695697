/* An event as one JSON line: jansson builds it whole, strings from the
 * network are made valid UTF-8 and bounded before jansson sees them, and
 * JSON_ENSURE_ASCII keeps bidi and other look-alike characters out of the
 * line as raw bytes. A leaf: the event log (common/event.c) and the syslog
 * forwarder (common/syslog_fwd.c) both format through it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fwgate/event.h"

static const char cut_mark[] = "...[cut]";

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when invalid. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

char *fw_utf8_sanitize(const char *s, size_t len, size_t max_bytes, size_t *out_len)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i = 0, cap;
	char *out;

	if (max_bytes < sizeof(cut_mark))
		max_bytes = sizeof(cut_mark);
	/* Each input byte becomes at most 3 output bytes; the output is capped. */
	cap = (len > max_bytes ? max_bytes : len * 3 > max_bytes ? max_bytes : len * 3) + sizeof(cut_mark);
	out = malloc(cap + 1);
	if (out == NULL)
		return NULL;
	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);
		const char *src = n ? (const char *)p + i : repl;
		size_t w = n ? n : 3;

		if (o + w > max_bytes - (sizeof(cut_mark) - 1)) {
			memcpy(out + o, cut_mark, sizeof(cut_mark) - 1);
			o += sizeof(cut_mark) - 1;
			break;
		}
		memcpy(out + o, src, w);
		o += w;
		i += n ? n : 1;
	}
	out[o] = '\0';
	if (out_len != NULL)
		*out_len = o;
	return out;
}

static int set_str(json_t *obj, const char *key, const char *value)
{
	size_t n;
	char *clean;
	json_t *js;

	if (value == NULL)
		return 0;
	clean = fw_utf8_sanitize(value, strlen(value), FW_EVENT_FIELD_MAX, &n);
	if (clean == NULL)
		return -1;
	js = json_stringn(clean, n);
	free(clean);
	if (js == NULL || json_object_set_new(obj, key, js) != 0)
		return -1;
	return 0;
}

static void timestamp_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
}

static const char *outcome_name(enum fw_outcome o)
{
	switch (o) {
	case FW_OUTCOME_SUCCESS:
		return "success";
	case FW_OUTCOME_FAILURE:
		return "failure";
	case FW_OUTCOME_UNKNOWN:
		break;
	}
	return "unknown";
}

char *fw_event_format(const struct fw_event *ev, size_t *len)
{
	char ts[48], *line = NULL, *out = NULL;
	json_t *obj = json_object();
	int bad = 0;

	*len = 0;
	if (obj == NULL)
		return NULL;
	timestamp_now(ts, sizeof(ts));
	bad |= set_str(obj, "@timestamp", ts);
	bad |= set_str(obj, "event.dataset", "fwgate.events");
	bad |= set_str(obj, "event.action", ev->action != NULL ? ev->action : "unknown");
	bad |= set_str(obj, "event.outcome", outcome_name(ev->outcome));
	bad |= set_str(obj, "url.full", ev->url);
	bad |= set_str(obj, "destination.domain", ev->domain);
	bad |= set_str(obj, "source.ip", ev->source_ip);
	bad |= set_str(obj, "file.hash.sha256", ev->sha256);
	bad |= set_str(obj, "rule.name", ev->rule);
	bad |= set_str(obj, "fwgate.verdict", ev->verdict);
	bad |= set_str(obj, "fwgate.reason", ev->reason);
	for (size_t i = 0; i < ev->n_extra && i < FW_EVENT_EXTRA_MAX; i++) {
		const struct fw_event_field *f = &ev->extra[i];

		/* Extra keys come from code, never from the network; a key that
		 * would shadow a standard field is dropped. */
		if (f->key == NULL || json_object_get(obj, f->key) != NULL)
			continue;
		if (f->str != NULL)
			bad |= set_str(obj, f->key, f->str);
		else
			bad |= json_object_set_new(obj, f->key, json_integer(f->num));
	}
	if (!bad)
		line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (line == NULL)
		return NULL;
	*len = strlen(line);
	out = realloc(line, *len + 2);
	if (out == NULL) {
		free(line);
		*len = 0;
		return NULL;
	}
	out[(*len)++] = '\n';
	out[*len] = '\0';
	return out;
}
