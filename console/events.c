/* The event log as the console reads it: the last EVENTS_TAIL_MAX bytes
 * of the file, mapped read-only, searched line by line (a substring, an
 * action, a day), the newest matches kept; and today's proxy requests by
 * outcome and verdict for the dashboard. A line is the gateway's own
 * JSON, but its fields carry what clients and vendors sent: each match is
 * parsed with bounds and shown escaped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "console/console_int.h"

#define EVENTS_TAIL_MAX (16 * 1024 * 1024)
#define EVENTS_LINE_MAX (64 * 1024)

struct ev_map {
	int fd;
	void *base;
	size_t map_len;
	const char *p, *end;       /* the whole lines in the tail */
};

static void map_close(struct ev_map *m)
{
	if (m->base != NULL && m->base != MAP_FAILED)
		munmap(m->base, m->map_len);
	if (m->fd >= 0)
		close(m->fd);
}

/* Maps the tail of path; an absent log is an empty one. */
static int map_tail(const char *path, struct ev_map *m, bool *truncated, struct fw_err *err)
{
	struct stat st;
	off_t start, page = (off_t)sysconf(_SC_PAGESIZE);

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	*truncated = false;
	if (path == NULL || path[0] == '\0' || strcmp(path, "-") == 0)
		return 0;
	m->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (m->fd < 0)
		return errno == ENOENT ? 0 : fw_err_sys(err, errno, "cannot open the event log %s", path);
	if (fstat(m->fd, &st) != 0 || !S_ISREG(st.st_mode))
		return fw_err_setc(err, FW_E_IO, "the event log %s is not a regular file", path);
	if (st.st_size == 0)
		return 0;
	start = st.st_size > EVENTS_TAIL_MAX ? st.st_size - EVENTS_TAIL_MAX : 0;
	start -= start % page;
	m->map_len = (size_t)(st.st_size - start);
	m->base = mmap(NULL, m->map_len, PROT_READ, MAP_PRIVATE, m->fd, start);
	if (m->base == MAP_FAILED)
		return fw_err_sys(err, errno, "cannot map the event log %s", path);
	m->p = m->base;
	m->end = m->p + m->map_len;
	if (start > 0) {
		const char *nl = memchr(m->p, '\n', m->map_len);

		*truncated = true;
		m->p = nl != NULL ? nl + 1 : m->end;
	}
	/* A line still being written (no newline yet) is left out. */
	while (m->end > m->p && m->end[-1] != '\n')
		m->end--;
	return 0;
}

static bool line_matches(const char *line, size_t n, const struct ev_query *q, char *scratch)
{
	memcpy(scratch, line, n);
	scratch[n] = '\0';
	if (q->text != NULL && q->text[0] != '\0' && strcasestr(scratch, q->text) == NULL)
		return false;
	if (q->day != NULL && q->day[0] != '\0') {
		const char *ts = strstr(scratch, "\"@timestamp\":\"");

		if (ts == NULL || strncmp(ts + 14, q->day, strlen(q->day)) != 0)
			return false;
	}
	return true;
}

int events_search(const char *path, const struct ev_query *q, json_t **out, bool *truncated, struct fw_err *err)
{
	struct ev_map m;
	json_t *rows = json_array();
	char *scratch = malloc(EVENTS_LINE_MAX + 1);
	const char *line, *nl;
	int rc = -1;

	*out = NULL;
	if (rows == NULL || scratch == NULL) {
		json_decref(rows);
		free(scratch);
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	}
	if (map_tail(path, &m, truncated, err) != 0)
		goto out;
	/* Newest first: walk the lines from the end. */
	for (const char *e = m.end; e > m.p && json_array_size(rows) < q->limit; e = line) {
		size_t n;
		json_t *ev;

		nl = e - 1;  /* the '\n' ending this line */
		line = nl;
		while (line > m.p && line[-1] != '\n')
			line--;
		n = (size_t)(nl - line);
		if (n == 0 || n > EVENTS_LINE_MAX || !line_matches(line, n, q, scratch))
			continue;
		ev = json_loadb(line, n, 0, NULL);
		if (ev == NULL || !json_is_object(ev) ||
		    (q->action != NULL && q->action[0] != '\0' && strcmp(jstr(ev, "event.action"), q->action) != 0)) {
			json_decref(ev);
			continue;
		}
		if (json_array_append_new(rows, ev) != 0) {
			fw_err_setc(err, FW_E_NOMEM, "out of memory");
			goto out;
		}
	}
	*out = rows;
	rows = NULL;
	rc = 0;
out:
	map_close(&m);
	json_decref(rows);
	free(scratch);
	return rc;
}

int events_today(const char *path, json_t **out, bool *truncated, struct fw_err *err)
{
	char day[16];
	time_t now = time(NULL);
	struct tm tm;
	struct ev_query q = { .action = "proxy-request", .day = day, .limit = 100000 };
	json_t *rows = NULL, *v, *res, *verdicts;
	size_t i;

	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if (events_search(path, &q, &rows, truncated, err) != 0)
		return -1;
	res = json_pack("{s:i, s:i, s:{}}", "success", 0, "failure", 0, "verdicts");
	if (res == NULL) {
		json_decref(rows);
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	}
	verdicts = json_object_get(res, "verdicts");
	json_array_foreach(rows, i, v) {
		const char *oc = jstr(v, "event.outcome"), *vd = jstr(v, "fwgate.verdict");

		if (strcmp(oc, "success") == 0 || strcmp(oc, "failure") == 0)
			json_object_set_new(res, oc, json_integer(json_integer_value(json_object_get(res, oc)) + 1));
		if (vd[0] != '\0' && strlen(vd) < 32)
			json_object_set_new(verdicts, vd,
					    json_integer(json_integer_value(json_object_get(verdicts, vd)) + 1));
	}
	json_decref(rows);
	*out = res;
	return 0;
}
