/* The JSON event log. Lines are formatted by common/event_format.c, then
 * written with one locked write loop so concurrent emitters never
 * interleave. Remote syslog is the forwarder's (common/syslog_fwd.c): emit
 * only hands it the line. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

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
