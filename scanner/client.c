/* The scanner as the proxy and the CLI see it: starts the supervisor
 * process, submits jobs (the file's descriptor and a reply socket), waits
 * for the verdict document and validates it. Every way a job can fail
 * ends in `unscannable`, never in a clean verdict. Must not unpack or scan
 * in the calling process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scanner/scan_int.h"

/* Loading ClamAV's full databases takes tens of seconds on a slow disk. */
#define START_TIMEOUT_MS (600 * 1000)
#define SEND_TIMEOUT_MS 10000
/* On top of [scanner] timeout_seconds, which the supervisor enforces. */
#define RESULT_GRACE_MS 60000

struct fw_scanner {
	pid_t pid;
	int ctl;
	pthread_mutex_t lock;    /* guards sends on ctl */
	uint64_t next_id;
	unsigned timeout_seconds;
	char summary[1024];
};

/* Reads READY or FAIL from the supervisor after start or reload. */
static int await_ready(struct fw_scanner *s, FILE *info, struct fw_err *err)
{
	struct scan_msg m;
	json_t *doc;
	int rc = -1;

	if (scan_wire_recv(s->ctl, &m, START_TIMEOUT_MS, err) != 0) {
		if (!fw_err_isset(err))
			fw_err_set(err, "the scanner supervisor ended during start-up");
		return -1;
	}
	if (m.type == SCAN_MSG_FAIL) {
		fw_err_set(err, "%s", m.payload);
		goto out;
	}
	doc = m.type == SCAN_MSG_READY ? json_loadb(m.payload, m.len, 0, NULL) : NULL;
	if (!json_is_string(json_object_get(doc, "summary"))) {
		json_decref(doc);
		fw_err_set(err, "the scanner supervisor answered garbage during start-up");
		goto out;
	}
	snprintf(s->summary, sizeof(s->summary), "%s", json_string_value(json_object_get(doc, "summary")));
	if (info != NULL) {
		const char *warn = json_string_value(json_object_get(doc, "warning"));

		fprintf(info, "fwgate: scanner: %lld worker(s); signatures: %s\n",
			(long long)json_integer_value(json_object_get(doc, "workers")), s->summary);
		if (warn != NULL && warn[0] != '\0')
			fprintf(info, "fwgate: scanner: %s\n", warn);
	}
	json_decref(doc);
	rc = 0;
out:
	scan_msg_release(&m);
	return rc;
}

int fw_scanner_start(struct fw_scanner **out, const struct fw_config *cfg, const char *tmp_dir,
		     const char *samples_dir, FILE *info, struct fw_err *err)
{
	struct fw_scanner *s;
	int sv[2];

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return fw_err_set(err, "out of memory");
	s->ctl = -1;
	s->timeout_seconds = cfg->scanner.timeout_seconds;
	pthread_mutex_init(&s->lock, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fw_err_sys(err, errno, "cannot create the scanner's socket");
		goto fail;
	}
	if (info != NULL)
		fflush(info);
	s->pid = fork();
	if (s->pid < 0) {
		fw_err_sys(err, errno, "cannot start the scanner supervisor");
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (s->pid == 0) {
		close(sv[0]);
		scan_supervisor_main(sv[1], cfg, tmp_dir, samples_dir);
	}
	close(sv[1]);
	s->ctl = sv[0];
	if (await_ready(s, info, err) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	fw_scanner_stop(s);
	return -1;
}

const char *fw_scanner_summary(const struct fw_scanner *s)
{
	return s->summary;
}

/* Sends one job (h's flags and types set by the caller) and waits for
 * the worker's JSON answer. NULL with err when there is none. */
static json_t *job_run(struct fw_scanner *s, int fd, struct scan_job_hdr *h, const char *name, const char *sha256,
		       unsigned timeout_ms, struct fw_err *err)
{
	size_t name_len = strlen(name);
	struct scan_msg m;
	char *payload;
	int sv[2], fds[2], rc;
	json_t *doc;

	if (name_len > SCAN_NAME_MAX)
		name_len = SCAN_NAME_MAX;
	payload = malloc(sizeof(*h) + name_len);
	if (payload == NULL) {
		fw_err_set(err, "out of memory before the inspection");
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		free(payload);
		fw_err_sys(err, errno, "cannot reach the scanner");
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	h->job_id = ++s->next_id;
	h->name_len = (uint32_t)name_len;
	if (sha256 != NULL && strlen(sha256) == FW_SHA256_HEX_LEN) {
		memcpy(h->sha256, sha256, FW_SHA256_HEX_LEN);
		h->flags |= SCAN_JOB_HAS_SHA256;
	}
	memcpy(payload, h, sizeof(*h));
	memcpy(payload + sizeof(*h), name, name_len);
	fds[0] = sv[1];
	fds[1] = fd;
	rc = scan_wire_send(s->ctl, SCAN_MSG_JOB, payload, (uint32_t)(sizeof(*h) + name_len), fds, 2,
			    SEND_TIMEOUT_MS, err);
	pthread_mutex_unlock(&s->lock);
	close(sv[1]);
	free(payload);
	if (rc != 0) {
		close(sv[0]);
		fw_err_set(err, "cannot reach the scanner: %s", "the control socket failed");
		return NULL;
	}
	fw_err_clear(err);
	rc = scan_wire_recv(sv[0], &m, (int)timeout_ms, err);
	close(sv[0]);
	if (rc != 0) {
		char why[FW_ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", fw_err_isset(err) ? fw_err_msg(err) : "it closed the job");
		fw_err_set(err, "the scanner did not answer: %s", why);
		return NULL;
	}
	doc = m.type == SCAN_MSG_RESULT ? json_loadb(m.payload, m.len, 0, NULL) : NULL;
	scan_msg_release(&m);
	if (doc == NULL)
		fw_err_set(err, "the scanner answered garbage");
	return doc;
}

int fw_scanner_scan_fd(struct fw_scanner *s, int fd, const char *name, const char *sha256, unsigned sandbox_types,
		       struct fw_scan_result *res)
{
	struct scan_job_hdr h = { .sandbox_types = sandbox_types };
	struct fw_err err;
	json_t *doc;

	memset(res, 0, sizeof(*res));
	if (fd < 0)
		return -1;
	fw_err_clear(&err);
	doc = job_run(s, fd, &h, name, sha256, s->timeout_seconds * 1000u + RESULT_GRACE_MS, &err);
	if (doc == NULL) {
		fw_scan_result_fail(res, "%s", fw_err_msg(&err));
		return 0;
	}
	scan_result_from_doc(res, doc);
	return 0;
}

int fw_scanner_analyze_fd(struct fw_scanner *s, int fd, const char *file_type, unsigned timeout_seconds,
			  json_t **analysis, struct fw_err *err)
{
	struct scan_job_hdr h = { .flags = SCAN_JOB_ANALYZE };
	unsigned secs = timeout_seconds < s->timeout_seconds ? timeout_seconds : s->timeout_seconds;
	json_t *doc, *a;

	*analysis = NULL;
	doc = job_run(s, fd, &h, file_type, NULL, secs * 1000u + RESULT_GRACE_MS, err);
	if (doc == NULL)
		return -1;
	a = json_object_get(doc, "analysis");
	if (!json_is_object(a) || !json_is_integer(json_object_get(a, "score")) ||
	    !json_is_array(json_object_get(a, "findings"))) {
		const char *why = json_string_value(json_object_get(doc, "error"));

		/* A worker that crashed or timed out answers a failed verdict
		 * document: its first reason says why. */
		if (why == NULL)
			why = json_string_value(json_array_get(json_object_get(doc, "reasons"), 0));
		fw_err_set(err, "the analyzer failed: %s", why != NULL ? why : "its answer does not validate");
		json_decref(doc);
		return -1;
	}
	*analysis = json_incref(a);
	json_decref(doc);
	return 0;
}

int fw_scanner_reload(struct fw_scanner *s, struct fw_err *err)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = scan_wire_send(s->ctl, SCAN_MSG_RELOAD, NULL, 0, NULL, 0, SEND_TIMEOUT_MS, err);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		return -1;
	return await_ready(s, NULL, err);
}

void fw_scanner_cancel(struct fw_scanner *s)
{
	if (s == NULL || s->ctl < 0)
		return;
	/* The supervisor ends on the end of its control stream, and its
	 * workers with it; every job's reply socket then reads the end. */
	shutdown(s->ctl, SHUT_RDWR);
}

void fw_scanner_stop(struct fw_scanner *s)
{
	if (s == NULL)
		return;
	if (s->ctl >= 0)
		close(s->ctl);
	if (s->pid > 0) {
		/* The supervisor ends when its control socket closes; bounded
		 * anyway. */
		for (int i = 0; i < 50; i++) {
			if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
				s->pid = 0;
				break;
			}
			usleep(20000);
		}
		if (s->pid > 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
		}
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}
