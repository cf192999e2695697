/* Static analysis of one member's bytes (scanner/analyze.h): entropy
 * profile, embedded executables, PE header facts, strings of interest and
 * the YARA rules, each finding weighted from analyze_findings.c.
 * Hostile input: every read is bounds-checked against len. Must not open
 * files or sockets, spawn, log, keep global state or decide a verdict. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scanner/analyze_int.h"

static const char *const an_fetchers[] = { "wget ", "curl ", "tftp ", "ftpget " };
static const char *const an_exec_cues[] = { "| sh", "|sh", "| bash", "|bash", "sh -c", "chmod +x",
					    "chmod 777", "&& ./", "&&./", "; ./", ";./" };

/* A 4 KiB block from the c * log2(c) table: H = 12 - sum / 4096. */
static double an_block_entropy(const struct an *a, const uint8_t *p)
{
	uint32_t c[256] = { 0 };
	double sum = 0.0;

	for (size_t i = 0; i < AN_BLOCK; i++)
		c[p[i]]++;
	for (int i = 0; i < 256; i++)
		sum += a->clog[c[i]];
	return 12.0 - sum / AN_BLOCK;
}

static void an_high_run(struct an *a, size_t first, size_t blocks, double max)
{
	if (blocks * AN_BLOCK < AN_HIGH_RUN_BYTES || a->res.entropy_overall >= AN_LOW_FILE_BITS)
		return;
	an_add(a, AN_HIGH_ENTROPY, W(AN_HIGH_ENTROPY), (uint64_t)first * AN_BLOCK,
	       "%zu KiB above %.1f bits/byte (max %.2f) in a member of overall entropy %.2f", blocks * AN_BLOCK / 1024,
	       AN_HIGH_BITS, max, a->res.entropy_overall);
}

static int an_range_cmp(const void *x, const void *y)
{
	const struct analyze_range *l = x, *r = y;

	return l->off < r->off ? -1 : l->off > r->off;
}

/* The caller's opened streams, clipped to the member, sorted, merged. */
static int an_opened_load(struct an *a)
{
	size_t n, k = 0;

	if (a->lim->opened == NULL || a->lim->opened->find == NULL || a->len == 0)
		return 0;
	a->opened = calloc(ANALYZE_OPENED_MAX, sizeof(*a->opened));
	if (a->opened == NULL)
		return -1;
	n = a->lim->opened->find(a->lim->opened->arg, a->p, a->len, a->opened, ANALYZE_OPENED_MAX);
	if (n > ANALYZE_OPENED_MAX)
		n = ANALYZE_OPENED_MAX;
	for (size_t i = 0; i < n; i++) {
		struct analyze_range r = a->opened[i];

		if (r.off >= a->len || r.len == 0)
			continue;
		if (r.len > a->len - r.off)
			r.len = a->len - r.off;
		a->opened[k++] = r;
	}
	qsort(a->opened, k, sizeof(*a->opened), an_range_cmp);
	a->n_opened = 0;
	for (size_t i = 0; i < k; i++) {
		struct analyze_range *last = a->n_opened ? &a->opened[a->n_opened - 1] : NULL;

		if (last != NULL && a->opened[i].off <= last->off + last->len) {
			uint64_t end = a->opened[i].off + a->opened[i].len;

			if (end > last->off + last->len)
				last->len = end - last->off;
		} else {
			a->opened[a->n_opened++] = a->opened[i];
		}
	}
	return 0;
}

/* True when at least half of block b lies in opened streams; *cursor
 * walks the sorted ranges as b grows. */
static bool an_block_opened(const struct an *a, size_t b, size_t *cursor)
{
	uint64_t lo = (uint64_t)b * AN_BLOCK, hi = lo + AN_BLOCK, covered = 0;

	while (*cursor < a->n_opened && a->opened[*cursor].off + a->opened[*cursor].len <= lo)
		(*cursor)++;
	for (size_t i = *cursor; i < a->n_opened && a->opened[i].off < hi; i++) {
		uint64_t s = a->opened[i].off > lo ? a->opened[i].off : lo;
		uint64_t e = a->opened[i].off + a->opened[i].len < hi ? a->opened[i].off + a->opened[i].len : hi;

		covered += e - s;
	}
	return covered * 2 >= AN_BLOCK;
}

static void an_entropy_profile(struct an *a)
{
	size_t nblocks = a->len / AN_BLOCK, high = 0, run_first = 0, run = 0, cursor = 0;
	double run_max = 0.0;

	a->res.entropy_overall = an_entropy(a->p, a->len);
	a->res.entropy_max = nblocks == 0 ? a->res.entropy_overall : 0.0;
	for (size_t b = 0; b < nblocks; b++) {
		double h;

		if (a->n_opened > 0 && an_block_opened(a, b, &cursor)) {
			/* An opened stream: its contents are walked, typed and
			 * judged as children; its entropy is no finding. */
			a->res.opened_bytes += AN_BLOCK;
			an_high_run(a, run_first, run, run_max);
			run = 0;
			continue;
		}
		h = an_block_entropy(a, a->p + b * AN_BLOCK);
		if (h > a->res.entropy_max)
			a->res.entropy_max = h;
		if (h <= AN_HIGH_BITS) {
			an_high_run(a, run_first, run, run_max);
			run = 0;
			continue;
		}
		high++;
		if (run++ == 0) {
			run_first = b;
			run_max = 0.0;
		}
		run_max = h > run_max ? h : run_max;
	}
	an_high_run(a, run_first, run, run_max);
	a->res.entropy_high_fraction = nblocks == 0 ? 0.0 : (double)high / (double)nblocks;
}

/* ------------------------------------------------------------ strings */

struct an_strkind {
	size_t count;
	uint64_t first;
	char ex[ANALYZE_DETAIL_MAX - 32];
};

static void an_example(struct an_strkind *k, uint64_t off, const char *s, size_t n)
{
	size_t used = strlen(k->ex), show = n > AN_EXAMPLE_CHARS ? AN_EXAMPLE_CHARS : n;

	if (k->count++ == 0)
		k->first = off;
	if (k->count > AN_EXAMPLES)
		return;
	/* Room was reserved: 3 examples of 64 characters, separators and "...". */
	snprintf(k->ex + used, sizeof(k->ex) - used, "%s%.*s%s", used ? ", " : "", (int)show, s,
		 show < n ? "..." : "");
}

/* A dotted quad (each octet 0..255, no leading zeros), optionally :port,
 * spanning exactly s[0..n). Public addresses only: loopback, private,
 * link-local, multicast and broadcast are normal in firmware. */
static bool an_ipv4(const char *s, size_t n, bool port_ok)
{
	unsigned q[4], port = 0;
	size_t i = 0, d;

	for (int k = 0; k < 4; k++) {
		for (q[k] = 0, d = 0; i < n && s[i] >= '0' && s[i] <= '9' && d < 4; i++, d++)
			q[k] = q[k] * 10 + (unsigned)(s[i] - '0');
		if (d == 0 || d > 3 || q[k] > 255 || (d > 1 && s[i - d] == '0'))
			return false;
		if (k < 3 && (i >= n || s[i++] != '.'))
			return false;
	}
	if (i < n) {
		if (!port_ok || s[i++] != ':')
			return false;
		for (d = 0; i < n && s[i] >= '0' && s[i] <= '9' && d < 6; i++, d++)
			port = port * 10 + (unsigned)(s[i] - '0');
		if (i != n || d == 0 || port == 0 || port > 65535)
			return false;
	}
	return !(q[0] == 0 || q[0] == 10 || q[0] == 127 || q[0] >= 224 || (q[0] == 172 && q[1] >= 16 && q[1] <= 31) ||
		 (q[0] == 192 && q[1] == 168) || (q[0] == 169 && q[1] == 254));
}

static size_t an_scheme(const char *s, size_t at)
{
	static const char *const schemes[] = { "https", "http", "ftp" };

	for (size_t i = 0; i < FW_ARRAY_LEN(schemes); i++) {
		size_t l = strlen(schemes[i]);

		if (at >= l && strncasecmp(s + at - l, schemes[i], l) == 0)
			return l;
	}
	return 0;
}

static void an_urls(struct an_strkind st[2], uint64_t off, const char *s, size_t n)
{
	const char *c, *user;
	size_t from = 0;

	while (from < n && (c = memmem(s + from, n - from, "://", 3)) != NULL) {
		size_t at = (size_t)(c - s), l = an_scheme(s, at), end = at + 3, host, hl;

		from = at + 3;
		if (l == 0)
			continue;
		while (end < n && strchr(" \t\"'<>`|;", s[end]) == NULL)
			end++;
		an_example(&st[0], off + at - l, s + at - l, end - (at - l));
		host = at + 3;
		for (hl = 0; host + hl < end && strchr("/?#", s[host + hl]) == NULL;)
			hl++;
		user = memchr(s + host, '@', hl);
		if (user != NULL) {
			hl -= (size_t)(user + 1 - (s + host));
			host = (size_t)(user + 1 - s);
		}
		if (an_ipv4(s + host, hl, true))
			an_example(&st[1], off + host, s + host, hl);
		from = end;
	}
}

static void an_download_exec(struct an_strkind *k, uint64_t off, const char *s, size_t n)
{
	const char *f = NULL;

	for (size_t i = 0; i < FW_ARRAY_LEN(an_fetchers) && f == NULL; i++)
		f = memmem(s, n, an_fetchers[i], strlen(an_fetchers[i]));
	if (f == NULL)
		return;
	for (size_t i = 0; i < FW_ARRAY_LEN(an_exec_cues); i++)
		if (memmem(s, n, an_exec_cues[i], strlen(an_exec_cues[i])) != NULL) {
			an_example(k, off + (size_t)(f - s), f, n - (size_t)(f - s));
			return;
		}
}

static bool an_printable(uint8_t c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t';
}

/* Printable runs; the bytes of a run are printable ASCII, so they may be
 * shown and searched as characters (they contain no NUL). */
static void an_strings(struct an *a)
{
	struct an_strkind st[3];   /* url, ip, download-exec */
	static const enum an_kind kinds[3] = { AN_URL, AN_IPV4, AN_DOWNLOAD_EXEC };
	size_t runs = 0, i = 0;

	memset(st, 0, sizeof(st));
	while (i < a->len) {
		size_t s = i;

		while (i < a->len && an_printable(a->p[i]))
			i++;
		if (i == s) {
			i++;
			continue;
		}
		if (i - s < AN_STRING_MIN)
			continue;
		if (runs++ == a->lim->max_strings) {
			an_add(a, AN_LIMIT, W(AN_LIMIT), s, "string analysis stopped after %zu strings (max_strings)",
			       a->lim->max_strings);
			break;
		}
		const char *r = (const char *)a->p + s;
		if (an_ipv4(r, i - s, true))
			an_example(&st[1], s, r, i - s);
		an_urls(st, s, r, i - s);
		an_download_exec(&st[2], s, r, i - s);
	}
	for (int k = 0; k < 3; k++)
		if (st[k].count > 0)
			an_add(a, kinds[k], W(kinds[k]), st[k].first, "%zu found, e.g. %s", st[k].count, st[k].ex);
}

/* ------------------------------------------------------------ entry points */

void analyze_limits_default(struct analyze_limits *lim)
{
	lim->max_bytes = 256ull * 1024 * 1024;
	lim->max_findings = 64;
	lim->max_strings = 1000000;
	lim->max_candidates = 65536;
	lim->max_pe_sections = 96;
	lim->max_imports = 4096;
	lim->yara_seconds = 60;
	lim->embedded_pe_expected = false;
	lim->opened = NULL;
}

static int an_limits_check(const struct analyze_limits *lim, struct fw_err *err)
{
	if (lim->max_bytes < 1 || lim->max_bytes > 4ull * 1024 * 1024 * 1024 || lim->max_bytes > SIZE_MAX)
		return fw_err_set(err, "analyze: max_bytes must be from 1 to 4 GiB");
	if (lim->max_findings < 1 || lim->max_findings > 4096)
		return fw_err_set(err, "analyze: max_findings must be from 1 to 4096");
	if (lim->max_pe_sections < 1 || lim->max_pe_sections > 1024)
		return fw_err_set(err, "analyze: max_pe_sections must be from 1 to 1024");
	if (lim->yara_seconds < 1 || lim->yara_seconds > 86400)
		return fw_err_set(err, "analyze: yara_seconds must be from 1 to 86400");
	if (lim->max_strings < 1 || lim->max_candidates < 1 || lim->max_imports < 1)
		return fw_err_set(err, "analyze: max_strings, max_candidates and max_imports must be at least 1");
	return 0;
}

static int an_too_big(uint64_t size, const struct analyze_limits *lim, struct fw_err *err)
{
	return fw_err_set(err, "the member is %" PRIu64 " bytes, more than the %" PRIu64
			  " bytes the analyzer reads (max_bytes)", size, lim->max_bytes);
}

int analyze_buffer(const uint8_t *p, size_t len, const struct scan_yara *yara, const struct analyze_limits *lim,
		   struct analyze_result *out, struct fw_err *err)
{
	struct analyze_limits def;
	struct an a;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	if (lim == NULL) {
		analyze_limits_default(&def);
		lim = &def;
	}
	if (an_limits_check(lim, err) != 0)
		return -1;
	if (p == NULL && len > 0)
		return fw_err_set(err, "analyze: no buffer");
	if ((uint64_t)len > lim->max_bytes)
		return an_too_big(len, lim, err);
	a.p = p;
	a.len = len;
	a.lim = lim;
	a.res.findings = calloc(lim->max_findings, sizeof(*a.res.findings));
	a.clog = malloc((AN_BLOCK + 1) * sizeof(*a.clog));
	if (a.res.findings == NULL || a.clog == NULL) {
		fw_err_set(err, "out of memory");
		goto out;
	}
	for (size_t c = 0; c <= AN_BLOCK; c++)
		a.clog[c] = c == 0 ? 0.0 : (double)c * an_log2((double)c);
	if (an_opened_load(&a) != 0) {
		fw_err_set(err, "out of memory");
		goto out;
	}
	an_entropy_profile(&a);
	an_pe(&a);
	an_embedded(&a);
	an_strings(&a);
	if (yara != NULL && an_yara(&a, yara, err) != 0)
		goto out;
	a.res.score = (int)a.total;
	*out = a.res;
	a.res.findings = NULL;
	rc = 0;
out:
	free(a.opened);
	free(a.clog);
	free(a.res.findings);
	return rc;
}

int analyze_fd(int fd, const struct scan_yara *yara, const struct analyze_limits *lim,
	       struct analyze_result *out, struct fw_err *err)
{
	struct analyze_limits def;
	struct stat st;
	uint8_t *buf = NULL;
	void *map;
	size_t n, got = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (lim == NULL) {
		analyze_limits_default(&def);
		lim = &def;
	}
	if (an_limits_check(lim, err) != 0)
		return -1;
	if (fstat(fd, &st) != 0)
		return fw_err_sys(err, errno, "cannot stat the member");
	if (!S_ISREG(st.st_mode))
		return fw_err_set(err, "the member is not a regular file");
	if (st.st_size < 0 || (uint64_t)st.st_size > lim->max_bytes)
		return an_too_big((uint64_t)st.st_size, lim, err);
	n = (size_t)st.st_size;
	if (n == 0)
		return analyze_buffer(NULL, 0, yara, lim, out, err);
	/* Mapped, not copied: a large image costs page cache, which the
	 * kernel can reclaim, rather than the worker's own memory. */
	map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map != MAP_FAILED) {
		(void)madvise(map, n, MADV_SEQUENTIAL);
		rc = analyze_buffer(map, n, yara, lim, out, err);
		munmap(map, n);
		return rc;
	}
	buf = malloc(n);
	if (buf == NULL)
		return fw_err_set(err, "out of memory");
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fw_err_sys(err, errno, "cannot read the member");
			goto out;
		}
		if (r == 0) {
			fw_err_set(err, "the member shrank while it was read");
			goto out;
		}
		got += (size_t)r;
	}
	rc = analyze_buffer(buf, n, yara, lim, out, err);
out:
	free(buf);
	return rc;
}

json_t *analyze_result_json(const struct analyze_result *res)
{
	json_t *doc, *arr = json_array();

	doc = json_pack("{s:i, s:I, s:{s:f, s:f, s:f, s:I}}", "score", res->score, "dropped", (json_int_t)res->dropped,
			"entropy", "overall", res->entropy_overall, "max", res->entropy_max, "high_fraction",
			res->entropy_high_fraction, "opened_bytes", (json_int_t)res->opened_bytes);
	if (doc == NULL || arr == NULL || json_object_set_new(doc, "findings", arr) != 0) {
		if (doc == NULL)
			json_decref(arr);
		json_decref(doc);
		return NULL;
	}
	for (size_t i = 0; i < res->count; i++) {
		const struct analyze_finding *f = &res->findings[i];
		json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "kind", f->kind, "detail", f->detail, "weight",
				      (json_int_t)f->weight, "offset", (json_int_t)f->offset);

		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(doc);
			return NULL;
		}
	}
	return doc;
}

void analyze_result_clear(struct analyze_result *res)
{
	if (res == NULL)
		return;
	free(res->findings);
	memset(res, 0, sizeof(*res));
}
