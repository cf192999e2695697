/* Summaries of CAPE reports, made in a scanner worker: a full CAPEv2
 * report is tens of megabytes of JSON written by a service that ran the
 * sample, so the gateway (which holds the CA key) never parses one. The
 * worker reads it under a size bound and keeps only what the sandbox
 * queue judges by: the error flag, the malscore, the malstatus and the
 * first signatures, every string bounded. Must not judge the score. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scanner/scan_int.h"

/* A copy of v cut to at most max bytes without splitting a UTF-8
 * sequence; "" when v is not a string. */
static json_t *bounded(const json_t *v, size_t max)
{
	const char *s = json_string_value(v);
	size_t n = s != NULL ? json_string_length(v) : 0;

	if (s == NULL)
		return json_string("");
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return json_stringn(s, n);
}

static json_t *signatures_of(const json_t *report)
{
	json_t *out = json_array();
	const json_t *s;
	size_t i;

	json_array_foreach(json_object_get(report, "signatures"), i, s) {
		json_t *one;

		if (out == NULL || json_array_size(out) >= SCAN_CAPE_SIGNATURES)
			break;
		if (!json_is_string(json_object_get(s, "name")))
			continue;
		one = json_pack("{s:o, s:o, s:I}", "name", bounded(json_object_get(s, "name"), 128), "description",
				bounded(json_object_get(s, "description"), 256), "severity",
				json_integer_value(json_object_get(s, "severity")));
		if (one != NULL)
			json_array_append_new(out, one);
	}
	return out;
}

static json_t *failed(const char *why)
{
	return json_pack("{s:s}", "error", why);
}

json_t *scan_cape_summary(int fd)
{
	struct stat st;
	json_error_t je;
	json_t *report, *sum, *ms;
	char *buf;
	size_t got = 0;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return failed("the report is not a regular file");
	if ((uint64_t)st.st_size > SCAN_CAPE_REPORT_MAX)
		return failed("the report is over 64 MiB");
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		return failed("out of memory for the report");
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	report = got == (size_t)st.st_size ? json_loadb(buf, got, 0, &je) : NULL;
	free(buf);
	if (!json_is_object(report)) {
		json_decref(report);
		return failed("the report is not a JSON object");
	}
	ms = json_object_get(report, "malscore");
	sum = json_pack("{s:b, s:o, s:o}", "error", json_is_true(json_object_get(report, "error")), "malstatus",
			bounded(json_object_get(report, "malstatus"), 60), "signatures", signatures_of(report));
	if (sum != NULL && json_is_number(ms))
		json_object_set_new(sum, "malscore", json_real(json_number_value(ms)));
	if (sum != NULL && json_is_string(json_object_get(report, "error_value")))
		json_object_set_new(sum, "error_value", bounded(json_object_get(report, "error_value"), 300));
	json_decref(report);
	return sum != NULL ? json_pack("{s:o}", "report", sum) : failed("out of memory");
}
