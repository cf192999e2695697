/* The analyzer's findings and the helpers every analysis shares: the
 * weights table (the one place to tune them), adding a finding under the
 * limits, bounds-checked reads of the member, entropy. A leaf: must not
 * call an analysis (analyze.c, analyze_pe.c, analyze_yara.c call it). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "scanner/analyze_int.h"

/* ------------------------------------------------------------ weights
 * Tune here. Weights are modest: the score ranks members for a reviewer,
 * and a single weak signal should not dominate it. */
const struct an_weight an_weights[] = {
	/* >= 64 KiB above 7.2 bits/byte in a member below 6: a payload packed
	 * or encrypted inside an otherwise plain image. */
	[AN_HIGH_ENTROPY] = { "high-entropy-region", 30 },
	/* A valid executable header at an offset > 0 (one finding each). */
	[AN_EMBEDDED_PE] = { "embedded-pe", 40 },
	[AN_EMBEDDED_ELF] = { "embedded-elf", 30 },
	[AN_EMBEDDED_MACHO] = { "embedded-macho", 30 },
	/* The member is a PE: a section both writable and executable. */
	[AN_PE_WX] = { "pe-wx-section", 25 },
	/* ... a section of >= 1 KiB above 7.2 bits/byte (packer). */
	[AN_PE_PACKED] = { "pe-packed-section", 20 },
	/* ... no Authenticode certificate table (not reported for EFI images). */
	[AN_PE_UNSIGNED] = { "pe-unsigned", 10 },
	/* ... one finding per suspicious API imported (injection, download, exec). */
	[AN_PE_IMPORT] = { "pe-suspicious-import", 15 },
	/* ... headers that contradict the file (the first problem only). */
	[AN_PE_MALFORMED] = { "pe-malformed", 10 },
	/* Strings: one finding per kind, the first few examples in the detail. */
	[AN_URL] = { "url", 5 },
	[AN_IPV4] = { "ip", 10 },        /* public IPv4 literal: a whole string, IP:port or a URL's host */
	[AN_DOWNLOAD_EXEC] = { "download-exec", 25 }, /* wget/curl/tftp and an exec cue in one string */
	/* A bound stopped an analysis early: informational. */
	[AN_LIMIT] = { "analysis-limit", 0 },
	/* A YARA rule matched: the weight its meta gives (analyze_yara.c). */
	[AN_RULE] = { "yara", 0 },
};

/* ------------------------------------------------------------ findings */

static void an_vadd(struct an *a, enum an_kind k, unsigned weight, uint64_t off, const char *fmt, va_list ap)
	FW_PRINTF(5, 0);
static void an_vadd(struct an *a, enum an_kind k, unsigned weight, uint64_t off, const char *fmt, va_list ap)
{
	struct analyze_finding *f;
	int n;

	a->total = a->total + weight > ANALYZE_SCORE_MAX ? ANALYZE_SCORE_MAX : a->total + weight;
	if (a->res.count >= a->lim->max_findings) {
		a->res.dropped++;
		return;
	}
	f = &a->res.findings[a->res.count++];
	snprintf(f->kind, sizeof(f->kind), "%s", an_weights[k].kind);
	f->weight = weight;
	f->offset = off;
	n = vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	if (n < 0)
		snprintf(f->detail, sizeof(f->detail), "(detail could not be formatted)");
	else if ((size_t)n >= sizeof(f->detail)) /* shown shortened, and says so */
		memcpy(f->detail + sizeof(f->detail) - 4, "...", 4);
}

void an_add(struct an *a, enum an_kind k, unsigned weight, uint64_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	an_vadd(a, k, weight, off, fmt, ap);
	va_end(ap);
}

void an_pe_bad(struct an *a, uint64_t off, const char *fmt, ...)
{
	va_list ap;

	if (a->pe_bad)
		return;
	a->pe_bad = true;
	va_start(ap, fmt);
	an_vadd(a, AN_PE_MALFORMED, W(AN_PE_MALFORMED), off, fmt, ap);
	va_end(ap);
}

/* Hostile bytes for a detail: printable ASCII as is, the rest as \xNN. */
void an_escape(const uint8_t *s, size_t n, char *out, size_t out_len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 <= out_len; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			out[o++] = (char)s[i];
		else
			o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", s[i]);
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------ bytes */

uint16_t an_le16(const uint8_t *q) { return (uint16_t)(q[0] | q[1] << 8); }
uint32_t an_le32(const uint8_t *q) { return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24; }
uint32_t an_be32(const uint8_t *q) { return (uint32_t)q[3] | (uint32_t)q[2] << 8 | (uint32_t)q[1] << 16 | (uint32_t)q[0] << 24; }

/* True when n bytes at base + rel lie inside the member; the offset into *off. */
bool an_span(const struct an *a, size_t base, size_t rel, size_t n, size_t *off)
{
	size_t o;

	if (__builtin_add_overflow(base, rel, &o) || o > a->len || a->len - o < n)
		return false;
	*off = o;
	return true;
}

bool an_rd16(const struct an *a, size_t base, size_t rel, uint16_t *v)
{
	size_t o;

	if (!an_span(a, base, rel, 2, &o))
		return false;
	*v = an_le16(a->p + o);
	return true;
}

bool an_rd32(const struct an *a, size_t base, size_t rel, uint32_t *v)
{
	size_t o;

	if (!an_span(a, base, rel, 4, &o))
		return false;
	*v = an_le32(a->p + o);
	return true;
}

/* ------------------------------------------------------------ entropy */

/* log2 without libm: x = m * 2^e with m in [1, 2), ln m by the atanh series
 * (|s| <= 1/3, so 20 terms are far below double precision). */
double an_log2(double x)
{
	double s, s2, term, sum = 0.0;
	int e = 0;

	if (x <= 0.0)
		return 0.0;
	for (; x >= 2.0; x /= 2.0)
		e++;
	for (; x < 1.0; x *= 2.0)
		e--;
	s = (x - 1.0) / (x + 1.0);
	s2 = s * s;
	term = s;
	for (int k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return e + 2.0 * sum / 0.69314718055994530942;
}

static double an_entropy_counts(const uint64_t counts[256], uint64_t total)
{
	double h = 0.0;

	for (int i = 0; i < 256 && total > 0; i++)
		if (counts[i] > 0) {
			double q = (double)counts[i] / (double)total;
			h -= q * an_log2(q);
		}
	return h < 0.0 ? 0.0 : h;
}

double an_entropy(const uint8_t *p, size_t n)
{
	uint64_t c[256] = { 0 };

	for (size_t i = 0; i < n; i++)
		c[p[i]]++;
	return an_entropy_counts(c, n);
}
