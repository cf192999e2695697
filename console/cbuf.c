/* The console's page builder: a growable buffer with HTML escaping (every
 * string a page shows from the store, the event log or a request goes
 * through cbuf_html), URL encoding for query values, and the few
 * formatting helpers the pages share. Bounded by CONSOLE_PAGE_MAX. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console/console_int.h"

void cbuf_free(struct cbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static bool cbuf_reserve(struct cbuf *b, size_t more)
{
	size_t want, cap;
	char *p;

	if (b->oom)
		return false;
	if (more > CONSOLE_PAGE_MAX || b->len + more + 1 > CONSOLE_PAGE_MAX) {
		b->oom = true;
		return false;
	}
	want = b->len + more + 1;
	if (want <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < want)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void cbuf_putn(struct cbuf *b, const char *s, size_t n)
{
	if (!cbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void cbuf_puts(struct cbuf *b, const char *s)
{
	cbuf_putn(b, s, strlen(s));
}

void cbuf_printf(struct cbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !cbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void cbuf_htmln(struct cbuf *b, const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		const char *rep;
		unsigned char ch = (unsigned char)s[i];

		switch (ch) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': rep = "&#96;"; break;
		default:
			/* Control characters other than tab and newline are
			 * shown, never passed (a NUL or an escape has no place
			 * in a page). */
			rep = (ch < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f ? "\xef\xbf\xbd" : NULL;
			break;
		}
		if (rep == NULL)
			continue;
		cbuf_putn(b, s + start, i - start);
		cbuf_puts(b, rep);
		start = i + 1;
	}
	cbuf_putn(b, s + start, n - start);
}

void cbuf_html(struct cbuf *b, const char *s)
{
	if (s != NULL)
		cbuf_htmln(b, s, strlen(s));
}

void cbuf_urlenc(struct cbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; s != NULL && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[3];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '_' || ch == '.' || ch == '~') {
			cbuf_putn(b, (const char *)&ch, 1);
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[ch >> 4];
		esc[2] = hex[ch & 15];
		cbuf_putn(b, esc, 3);
	}
}

void cbuf_time(struct cbuf *b, int64_t t)
{
	char out[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		cbuf_puts(b, "-");
		return;
	}
	cbuf_puts(b, out);
}

void cbuf_size(struct cbuf *b, uint64_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024.0 && u + 1 < FW_ARRAY_LEN(unit)) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		cbuf_printf(b, "%llu B", (unsigned long long)bytes);
	else
		cbuf_printf(b, "%.1f %s", v, unit[u]);
}
