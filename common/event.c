/* The JSON event log. Lines are built whole in memory with jansson, then
 * written with one locked write loop so concurrent emitters never
 * interleave. Strings from the network are made valid UTF-8 and bounded
 * before jansson sees them; JSON_ENSURE_ASCII keeps bidi and other
 * look-alike characters out of the file as raw bytes. Remote syslog is the
 * forwarder's (common/syslog_fwd.c): emit only hands it the line. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fwgate/config.h"
#include "fwgate/event.h"
#include "fwgate/event_ring.h"
#include "fwgate/syslog_fwd.h"

struct fw_evlog {
	pthread_mutex_t lock; /* guards fd and the write of each line */
	int fd;               /* -1: no file */
	char *path;           /* NULL: none or stdout */
	bool syslog;
	struct fw_syslog_fwd *fwd; /* NULL: no remote collector */
};

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

static int open_file(const char *path, struct fw_err *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	if (fd < 0)
		fw_err_sys(err, errno, "cannot open the event log \"%s\"", path);
	return fd;
}

int fw_evlog_open(struct fw_evlog **out, const char *file, bool use_syslog, int facility,
		  struct fw_err *err)
{
	struct fw_evlog *log;

	*out = NULL;
	log = calloc(1, sizeof(*log));
	if (log == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	log->fd = -1;
	if (pthread_mutex_init(&log->lock, NULL) != 0) {
		free(log);
		return fw_err_set(err, "cannot create the event log lock");
	}
	if (file != NULL && strcmp(file, "-") == 0) {
		log->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (log->fd < 0) {
			fw_err_sys(err, errno, "cannot use standard output for the event log");
			fw_evlog_close(log);
			return -1;
		}
	} else if (file != NULL && file[0] != '\0') {
		log->path = strdup(file);
		if (log->path == NULL || (log->fd = open_file(file, err)) < 0) {
			fw_err_setc(err, FW_E_NOMEM, "out of memory");
			fw_evlog_close(log);
			return -1;
		}
	}
	if (use_syslog) {
		openlog("fwgate", LOG_PID | LOG_NDELAY, facility);
		log->syslog = true;
	}
	*out = log;
	return 0;
}

int fw_evlog_reopen(struct fw_evlog *log, struct fw_err *err)
{
	int fd, old;

	if (log->path == NULL)
		return 0;
	fd = open_file(log->path, err);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&log->lock);
	old = log->fd;
	log->fd = fd;
	pthread_mutex_unlock(&log->lock);
	if (old >= 0)
		close(old);
	return 0;
}

void fw_evlog_close(struct fw_evlog *log)
{
	if (log == NULL)
		return;
	/* First: its last reports are emitted into this log. */
	fw_syslog_fwd_free(log->fwd);
	log->fwd = NULL;
	if (log->fd >= 0)
		close(log->fd);
	if (log->syslog)
		closelog();
	pthread_mutex_destroy(&log->lock);
	free(log->path);
	free(log);
}

int fw_evlog_emit(struct fw_evlog *log, const struct fw_event *ev)
{
	size_t len, done = 0;
	char *line = fw_event_format(ev, &len);
	int rc = 0;

	fw_event_ring_note(ev);
	if (line == NULL)
		return -1;
	if (log->syslog)
		syslog(ev->outcome == FW_OUTCOME_FAILURE ? LOG_WARNING : LOG_INFO, "%.*s",
		       (int)(len - 1), line);
	if (log->fwd != NULL)
		(void)fw_syslog_fwd_push(log->fwd, ev->outcome, line, len);
	pthread_mutex_lock(&log->lock);
	while (log->fd >= 0 && done < len) {
		ssize_t n = write(log->fd, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		done += (size_t)n;
	}
	pthread_mutex_unlock(&log->lock);
	free(line);
	return rc;
}

/* The forwarder's own events go through emit: into the file, to local
 * syslog, and queued for the collector like the rest. */
static void evlog_report(void *arg, const struct fw_event *ev)
{
	(void)fw_evlog_emit(arg, ev);
}

int fw_evlog_forward(struct fw_evlog *log, const struct fw_config *cfg, bool log_forwarding, const char *profile,
		     FILE *info, struct fw_err *err)
{
	struct fw_syslog_opts o;
	int rc;

	if (log->fwd != NULL)
		return fw_err_set(err, "the event log forwards already");
	if (cfg->log.syslog_target[0] != '\0' && !log_forwarding) {
		if (info != NULL)
			fprintf(info, "fwgate: warning: [log] syslog_target is set but the policy's "
				"logging.log_forwarding is false: no event is forwarded\n");
		return 0;
	}
	rc = fw_syslog_opts_from_config(&o, cfg, err);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	o.profile = profile;
	o.info = info;
	o.report = evlog_report;
	o.report_arg = log;
	return fw_syslog_fwd_new(&log->fwd, &o, err);
}
