/* The scanner supervisor and its workers. The supervisor (a fresh exec of
 * the fwgate binary, fw_scanner_exec_main) loads the ClamAV engine, the
 * YARA rules and libmagic once, pre-forks the workers that share them copy-on-write,
 * hands each job to an idle worker, and answers for a worker that crashes,
 * hangs past [scanner] timeout_seconds, answers for another job or answers
 * garbage: that job is unscannable and a new worker takes its place.
 * Workers hold only their fixed descriptors and enter Landlock and seccomp
 * before reading a hostile byte. Its figures (workers, queue, workers
 * replaced) go to the client when they change, for the gateway's metrics. The supervisor never holds the CA key and
 * never opens a network socket. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fwgate/fileio.h"
#include "scanner/analyze.h"
#include "scanner/seccomp.h"
#include "scanner/scan_int.h"
#include "fwgate_build.h"


#define MAX_WORKERS 256
#define QUEUE_MAX 4096
#define TICK_MS 200
#define IO_TIMEOUT_MS 10000
#define BOOT_TIMEOUT_MS 10000
/* A worker's descriptors, the same in every worker: its socket, the
 * scanner's temporary directory, the samples directory. Nothing else is
 * open in a worker (besides 0-2) when it takes its first job. */
#define WORKER_SOCK_FD 3
#define WORKER_TMP_FD 4
#define WORKER_SAMPLES_FD 5

struct job {
	char *payload;          /* the JOB payload as received */
	uint32_t len;
	int reply;              /* the client's socket for this job */
	int file;
	int progress;           /* SCAN_JOB_STREAM: the download's progress pipe; else -1 */
	char name[256];         /* for messages */
	struct job *next;
};

struct worker {
	pid_t pid;
	int sock;
	struct job *job;        /* NULL when idle */
	struct timespec started;
	struct timespec downloaded; /* a stream job: when its download ended (tv_sec 0: not yet) */
	bool retire;            /* replace after this job: the engine was reloaded */
};

struct sup {
	const struct fw_config *cfg;
	const char *tmp_dir;
	int ctl;
	int tmp_fd;
	int samples_fd;         /* -1: no samples are kept (fwgate scan) */
	struct scan_engine *eng;
	struct scan_typer *typer;
	struct worker w[MAX_WORKERS];
	unsigned n_workers;
	unsigned threads;       /* scan threads per worker */
	struct job *head, *tail;
	unsigned queued;
	uint64_t replaced;      /* workers replaced since start: crashed, timed out, retired */
	struct scan_status sent; /* the figures the client has */
};

/* ------------------------------------------------------------ worker */

static void worker_main(struct sup *s, int sock) __attribute__((noreturn));

static size_t worker_opened(void *arg, const uint8_t *p, size_t len, struct analyze_range *out, size_t max)
{
	return scan_opened_ranges(p, len, arg, out, max);
}

/* One sandbox sample through the static analyzer. A firmware image is
 * made of PE/TE modules (UEFI volumes): embedded PE headers are its
 * normal content there, not a finding; and the streams the walk opened
 * (its compressed volumes) were judged as the modules they hold, so their
 * entropy is not a finding either. */
static json_t *worker_analyze(struct sup *s, int fd, const char *file_type)
{
	struct analyze_limits lim;
	struct analyze_result res;
	struct scan_limits walk_lim;
	struct analyze_opened opened = { .arg = &walk_lim, .find = worker_opened };
	struct fw_err err;
	json_t *doc;

	fw_err_clear(&err);
	scan_limits_from_config(&walk_lim, s->cfg);
	analyze_limits_default(&lim);
	lim.embedded_pe_expected = strcmp(file_type, "firmware_image") == 0;
	lim.opened = &opened;
	/* YARA's bound inside the worker's: a timeout is an error the
	 * sandbox reports, never a sample judged by half its rules. */
	lim.yara_seconds = s->cfg->scanner.timeout_seconds > 1 ? s->cfg->scanner.timeout_seconds - 1 : 1;
	if (lim.yara_seconds > s->cfg->scanner.max_seconds)
		lim.yara_seconds = s->cfg->scanner.max_seconds;
	if (analyze_fd(fd, s->eng->yara, &lim, &res, &err) != 0)
		return json_pack("{s:s}", "error", fw_err_msg(&err));
	doc = analyze_result_json(&res);
	analyze_result_clear(&res);
	return doc != NULL ? json_pack("{s:o}", "analysis", doc) : NULL;
}

/* The job's answer: its id and nonce, then the document. */
static void worker_answer(int sock, const struct scan_job_hdr *h, json_t *doc)
{
	struct fw_err err;
	size_t len = 0;
	char *text = NULL;

	fw_err_clear(&err);
	if (doc == NULL || scan_answer_encode(h, doc, SCAN_WIRE_MAX, &text, &len, &err) != 0) {
		json_t *failed = json_pack("{s:s}", "error", doc == NULL ? "out of memory" : fw_err_msg(&err));

		free(text);
		text = NULL;
		if (failed == NULL || scan_answer_encode(h, failed, SCAN_WIRE_MAX, &text, &len, &err) != 0)
			_exit(4);
		json_decref(failed);
	}
	json_decref(doc);
	if (scan_wire_send(sock, SCAN_MSG_RESULT, text, (uint32_t)len, NULL, 0, -1, &err) != 0)
		_exit(4);
	free(text);
}

static void worker_main(struct sup *s, int sock)
{
	struct scan_walk_ctx ctx = { .eng = s->eng, .typer = s->typer, .tmp_dir_fd = s->tmp_fd, .samples_dir_fd = s->samples_fd };
	struct fw_err err;

	fw_err_clear(&err);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "fwgate-worker");
	signal(SIGPIPE, SIG_IGN);
	scan_limits_from_config(&ctx.limits, s->cfg);
	/* Confined before the first job's first byte: from here on, no
	 * network, no exec, no new process. */
	if (scan_landlock_enter(s->tmp_fd, s->samples_fd, &err) != 0 || scan_seccomp_enter(&err) != 0 ||
	    clamq_new(&ctx.queue, s->eng, s->threads, &err) != 0) {
		fprintf(stderr, "fwgate: scanner worker: %s\n", fw_err_msg(&err));
		_exit(1);
	}
	for (;;) {
		struct scan_job_hdr h;
		struct scan_msg m;
		char name[SCAN_NAME_MAX + 1], sha[FW_SHA256_HEX_LEN + 1];
		json_t *doc;

		fw_err_clear(&err);
		if (scan_wire_recv(sock, &m, SCAN_WIRE_MAX, -1, &err) != 0)
			_exit(0);
		if (m.type != SCAN_MSG_JOB || m.len < sizeof(h))
			_exit(3);
		memcpy(&h, m.payload, sizeof(h));
		if (m.n_fds != ((h.flags & SCAN_JOB_STREAM) ? 2u : 1u))
			_exit(3);
		if (h.name_len > SCAN_NAME_MAX || m.len != sizeof(h) + h.name_len)
			_exit(3);
		memcpy(name, m.payload + sizeof(h), h.name_len);
		name[h.name_len] = '\0';
		memcpy(sha, h.sha256, FW_SHA256_HEX_LEN);
		sha[FW_SHA256_HEX_LEN] = '\0';
		ctx.sandbox_types = h.sandbox_types;
		if (h.flags & SCAN_JOB_ANALYZE)
			doc = worker_analyze(s, m.fds[0], name);
		else if (h.flags & SCAN_JOB_CAPE_REPORT)
			doc = scan_cape_summary(m.fds[0]);
		else if (h.flags & SCAN_JOB_STREAM)
			doc = scan_walk(&ctx, m.fds[0], name, NULL,
					&(struct scan_stream_src){ .progress = m.fds[1], .length = h.stream_length,
								   .wait_seconds = s->cfg->proxy.exchange_timeout_seconds });
		else
			doc = scan_walk(&ctx, m.fds[0], name, (h.flags & SCAN_JOB_HAS_SHA256) ? sha : NULL, NULL);
		scan_msg_release(&m);
		worker_answer(sock, &h, doc);
	}
}

/* ------------------------------------------------------------ supervisor */

static int spawn(struct sup *s, struct worker *w)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* The worker's descriptors at fixed numbers, then every other
		 * one closed: the control socket, the other workers' sockets,
		 * and the reply sockets and files of jobs queued or in flight
		 * elsewhere. A worker can answer only for its own job. */
		int sock = fcntl(sv[1], F_DUPFD_CLOEXEC, 10), tmp = fcntl(s->tmp_fd, F_DUPFD_CLOEXEC, 10);
		int samples = s->samples_fd >= 0 ? fcntl(s->samples_fd, F_DUPFD_CLOEXEC, 10) : -1;

		if (sock < 0 || tmp < 0 || (s->samples_fd >= 0 && samples < 0) ||
		    dup3(sock, WORKER_SOCK_FD, O_CLOEXEC) < 0 || dup3(tmp, WORKER_TMP_FD, O_CLOEXEC) < 0 ||
		    (samples >= 0 && dup3(samples, WORKER_SAMPLES_FD, O_CLOEXEC) < 0))
			_exit(1);
		if (close_range(samples >= 0 ? WORKER_SAMPLES_FD + 1 : WORKER_TMP_FD + 1, ~0u, 0) != 0) {
			long max_fd = sysconf(_SC_OPEN_MAX);

			for (long fd = samples >= 0 ? WORKER_SAMPLES_FD + 1 : WORKER_TMP_FD + 1; fd < max_fd; fd++)
				close((int)fd); /* a kernel before close_range (5.9) */
		}
		s->tmp_fd = WORKER_TMP_FD;
		s->samples_fd = samples >= 0 ? WORKER_SAMPLES_FD : -1;
		s->ctl = -1;
		worker_main(s, WORKER_SOCK_FD);
	}
	close(sv[1]);
	*w = (struct worker){ .pid = pid, .sock = sv[0] };
	return 0;
}

static void answer(struct job *j, const char *text, size_t len)
{
	struct fw_err err;

	fw_err_clear(&err);
	/* The client may have given up; nothing to do about it here. */
	if (scan_wire_send(j->reply, SCAN_MSG_RESULT, text, (uint32_t)len, NULL, 0, IO_TIMEOUT_MS, &err) != 0)
		fprintf(stderr, "fwgate: scanner: cannot answer the job for %s: %s\n", j->name, fw_err_msg(&err));
}

static const struct scan_job_hdr *job_hdr(const struct job *j)
{
	return (const struct scan_job_hdr *)(const void *)j->payload;
}

/* Answers j with doc (adopted), bound to the job. */
static void answer_doc(struct job *j, json_t *doc)
{
	struct fw_err err;
	size_t len = 0;
	char *text = NULL;

	fw_err_clear(&err);
	if (doc != NULL && scan_answer_encode(job_hdr(j), doc, SCAN_RESULT_MAX, &text, &len, &err) == 0)
		answer(j, text, len);
	else
		fprintf(stderr, "fwgate: scanner: cannot encode the answer for %s: %s\n", j->name, fw_err_msg(&err));
	free(text);
	json_decref(doc);
}

/* A package's job gets a failed verdict document; a sample's or a
 * report's job an error. */
static void answer_failed(struct job *j, const char *reason)
{
	if (job_hdr(j)->flags & SCAN_JOB_KINDS)
		answer_doc(j, json_pack("{s:s}", "error", reason));
	else
		answer_doc(j, scan_doc_failed(j->name, reason));
}

static void job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->reply >= 0)
		close(j->reply);
	if (j->file >= 0)
		close(j->file);
	if (j->progress >= 0)
		close(j->progress);
	free(j->payload);
	free(j);
}

/* Ends a worker that failed: kill, reap, answer its job, replace it. */
static void worker_fail(struct sup *s, struct worker *w, const char *why)
{
	char reason[512];
	int st = 0;

	s->replaced++;
	kill(w->pid, SIGKILL);
	while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
		;
	close(w->sock);
	if (w->job != NULL) {
		if (why != NULL)
			snprintf(reason, sizeof(reason), "%s", why);
		else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
			snprintf(reason, sizeof(reason), "scanner worker killed by its sandbox: it attempted a "
				 "forbidden system call (a parser exploit?)");
		else if (WIFSIGNALED(st))
			snprintf(reason, sizeof(reason), "scanner worker crashed (killed by signal %d)", WTERMSIG(st));
		else
			snprintf(reason, sizeof(reason), "scanner worker crashed (exited with status %d)",
				 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		fprintf(stderr, "fwgate: scanner: %s while inspecting %s; starting a new worker\n", reason,
			w->job->name);
		answer_failed(w->job, reason);
		job_free(w->job);
	}
	if (spawn(s, w) != 0) {
		fprintf(stderr, "fwgate: scanner: cannot start a new worker: %s\n", strerror(errno));
		*w = (struct worker){ .pid = -1, .sock = -1 };
	}
}

static void worker_result(struct sup *s, struct worker *w)
{
	struct scan_msg m;
	struct fw_err err;
	json_t *doc;

	fw_err_clear(&err);
	if (scan_wire_recv(w->sock, &m, SCAN_WIRE_MAX, IO_TIMEOUT_MS, &err) != 0) {
		worker_fail(s, w, NULL);
		return;
	}
	if (w->job == NULL || m.type != SCAN_MSG_RESULT || m.n_fds != 0) {
		scan_msg_release(&m);
		worker_fail(s, w, "scanner worker answered garbage");
		return;
	}
	if (!scan_answer_matches(job_hdr(w->job), m.payload, m.len)) {
		scan_msg_release(&m);
		worker_fail(s, w, "scanner worker answered for another job than its own (wrong id or nonce)");
		return;
	}
	doc = scan_answer_check(job_hdr(w->job), m.payload + sizeof(struct scan_answer_hdr),
				m.len - sizeof(struct scan_answer_hdr), &err);
	scan_msg_release(&m);
	if (doc == NULL) {
		char why[FW_ERR_MSG_MAX + 64];

		snprintf(why, sizeof(why), "scanner worker answered garbage: %s", fw_err_msg(&err));
		worker_fail(s, w, why);
		return;
	}
	answer_doc(w->job, doc);
	job_free(w->job);
	w->job = NULL;
	if (w->retire) {
		s->replaced++;
		kill(w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
		close(w->sock);
		if (spawn(s, w) != 0)
			*w = (struct worker){ .pid = -1, .sock = -1 };
	}
}

/* A job a worker can judge without waiting: a whole file, or a download
 * whose last byte is in (the gateway closed its pipe). */
static bool job_ready(const struct job *j)
{
	struct pollfd p = { .fd = j->progress, .events = 0 };

	return j->progress < 0 || (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0);
}

/* Workers holding a download that is still arriving. */
static unsigned waiting_workers(const struct sup *s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->n_workers; i++)
		if (s->w[i].job != NULL && s->w[i].job->progress >= 0 && s->w[i].downloaded.tv_sec == 0)
			n++;
	return n;
}

/* Takes the next job for a free worker off the queue: the oldest that can
 * be judged at once; else the oldest download still arriving, as long as
 * a worker is left for the others (at most workers - 1 wait for
 * downloads, none with one worker), so that slow vendors never hold every
 * worker. NULL when none may go now. */
static struct job *take_next(struct sup *s)
{
	struct job *prev = NULL, *j;

	for (j = s->head; j != NULL && !job_ready(j); prev = j, j = j->next)
		;
	if (j == NULL) {
		if (s->head == NULL || waiting_workers(s) + 1 >= s->n_workers)
			return NULL;
		prev = NULL;
		j = s->head;
	}
	if (prev != NULL)
		prev->next = j->next;
	else
		s->head = j->next;
	if (s->tail == j)
		s->tail = prev;
	s->queued--;
	j->next = NULL;
	return j;
}

static void dispatch(struct sup *s)
{
	for (unsigned i = 0; i < s->n_workers && s->head != NULL; i++) {
		struct worker *w = &s->w[i];
		struct job *j;
		struct fw_err err;
		int fds[2];

		if (w->pid <= 0 && spawn(s, w) != 0)
			continue;
		if (w->job != NULL)
			continue;
		j = take_next(s);
		if (j == NULL)
			break;
		w->job = j;
		clock_gettime(CLOCK_MONOTONIC, &w->started);
		w->downloaded = (struct timespec){ 0 };
		fw_err_clear(&err);
		fds[0] = j->file;
		fds[1] = j->progress;
		if (scan_wire_send(w->sock, SCAN_MSG_JOB, j->payload, j->len, fds, j->progress >= 0 ? 2 : 1,
				   IO_TIMEOUT_MS, &err) != 0)
			worker_fail(s, w, NULL);
	}
}

static void check_timeouts(struct sup *s)
{
	struct timespec now;
	char why[128];

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (unsigned i = 0; i < s->n_workers; i++) {
		struct worker *w = &s->w[i];

		struct pollfd p;

		if (w->job == NULL)
			continue;
		if (w->job->progress < 0 || w->downloaded.tv_sec != 0) {
			/* [scanner] timeout_seconds from the dispatch, or, for a
			 * download judged as it arrived, from its last byte. */
			const struct timespec *from = w->job->progress < 0 ? &w->started : &w->downloaded;

			if (now.tv_sec - from->tv_sec < (time_t)s->cfg->scanner.timeout_seconds)
				continue;
			snprintf(why, sizeof(why), "scanner worker timed out after %u s", s->cfg->scanner.timeout_seconds);
		} else {
			/* The download still arriving: the gateway closes the
			 * pipe when it ends (POLLHUP, its bytes left to the
			 * worker), and bounds it by [proxy] exchange_timeout_seconds. */
			p = (struct pollfd){ .fd = w->job->progress, .events = 0 };
			if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR))) {
				w->downloaded = now;
				continue;
			}
			if (now.tv_sec - w->started.tv_sec <
			    (time_t)s->cfg->scanner.timeout_seconds + (time_t)s->cfg->proxy.exchange_timeout_seconds)
				continue;
			snprintf(why, sizeof(why), "scanner worker timed out after %u s while the download arrived",
				 s->cfg->scanner.timeout_seconds + s->cfg->proxy.exchange_timeout_seconds);
		}
		worker_fail(s, w, why);
	}
}

static int send_ready(struct sup *s)
{
	char warning[1024], *text;
	struct fw_err err;
	json_t *doc;
	int rc;

	if (scan_landlock_abi() < 1)
		snprintf(warning, sizeof(warning), "%s%sWARNING: %s: scanner workers are confined by seccomp only and "
			 "can still read the state directory's files", s->eng->warning,
			 s->eng->warning[0] != '\0' ? "; " : "", scan_landlock_why());
	else
		snprintf(warning, sizeof(warning), "%s", s->eng->warning);
	doc = json_pack("{s:s, s:s, s:I, s:I, s:o*, s:o*}", "summary", s->eng->summary, "warning", warning, "workers",
			(json_int_t)s->n_workers, "signatures", (json_int_t)s->eng->signatures, "databases",
			scan_engine_databases(s->eng), "signature_info", fw_signature_info_json(&s->eng->sig, 0));
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	fw_err_clear(&err);
	rc = text ? scan_wire_send(s->ctl, SCAN_MSG_READY, text, (uint32_t)strlen(text), NULL, 0, IO_TIMEOUT_MS,
				   &err)
		  : -1;
	free(text);
	json_decref(doc);
	return rc;
}

static void send_fail(int ctl, const char *msg)
{
	struct fw_err err;

	fw_err_clear(&err);
	if (scan_wire_send(ctl, SCAN_MSG_FAIL, msg, (uint32_t)strlen(msg), NULL, 0, IO_TIMEOUT_MS, &err) != 0)
		fprintf(stderr, "fwgate: scanner: %s\n", msg);
}

/* New engine and YARA rules (kept whole when either fails to load);
 * idle workers are replaced now, busy ones after their job. */
static void reload(struct sup *s)
{
	struct scan_engine *eng = NULL;
	struct fw_err err;

	fw_err_clear(&err);
	if (scan_engine_load(&eng, s->cfg, s->tmp_dir, &err) != 0) {
		send_fail(s->ctl, fw_err_msg(&err));
		return;
	}
	scan_engine_free(s->eng);
	s->eng = eng;
	for (unsigned i = 0; i < s->n_workers; i++) {
		struct worker *w = &s->w[i];

		if (w->job != NULL) {
			w->retire = true;
			continue;
		}
		if (w->pid > 0) {
			s->replaced++;
			kill(w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
			close(w->sock);
		}
		if (spawn(s, w) != 0)
			*w = (struct worker){ .pid = -1, .sock = -1 };
	}
	if (send_ready(s) != 0)
		fprintf(stderr, "fwgate: scanner: cannot report the reload\n");
}

static void take_job(struct sup *s, struct scan_msg *m)
{
	const struct scan_job_hdr *h = (const struct scan_job_hdr *)(const void *)m->payload;
	struct stat st;
	struct job *j;
	int fl;

	if (m->len < sizeof(*h) || h->name_len > SCAN_NAME_MAX || m->len != sizeof(*h) + h->name_len ||
	    (h->flags & SCAN_JOB_KINDS) == SCAN_JOB_KINDS ||
	    ((h->flags & SCAN_JOB_STREAM) && (h->flags & SCAN_JOB_KINDS)) ||
	    m->n_fds != ((h->flags & SCAN_JOB_STREAM) ? 3u : 2u))
		return; /* the client's own bug; its reply socket closes */
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return;
	j->reply = m->fds[0];
	j->file = m->fds[1];
	j->progress = (h->flags & SCAN_JOB_STREAM) ? m->fds[2] : -1;
	m->fds[0] = m->fds[1] = m->fds[2] = -1;
	j->payload = m->payload;
	j->len = m->len;
	m->payload = NULL;
	snprintf(j->name, sizeof(j->name), "%.*s", (int)(h->name_len < 200 ? h->name_len : 200),
		 j->payload + sizeof(*h));
	/* A worker reads the bytes it judges; it must not be able to change
	 * them after the client hashed them. */
	fl = fcntl(j->file, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY || fstat(j->file, &st) != 0 || !S_ISREG(st.st_mode)) {
		answer_failed(j, "the file to inspect was handed over writable or is not a regular file: refused");
		job_free(j);
		return;
	}
	/* The progress pipe is read, never written, by the worker. */
	if (j->progress >= 0 && ((fl = fcntl(j->progress, F_GETFL)) < 0 || (fl & O_ACCMODE) != O_RDONLY ||
				 fstat(j->progress, &st) != 0 || !S_ISFIFO(st.st_mode))) {
		answer_failed(j, "the download's progress was handed over as something else than a pipe's read end: refused");
		job_free(j);
		return;
	}
	if (s->queued >= QUEUE_MAX) {
		answer_failed(j, "the scanner's queue is full");
		job_free(j);
		return;
	}
	if (s->tail != NULL)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	s->queued++;
}

/* Returns -1 when the client is gone: the supervisor then ends. */
static int control(struct sup *s)
{
	struct scan_msg m;
	struct fw_err err;

	fw_err_clear(&err);
	if (scan_wire_recv(s->ctl, &m, SCAN_NAME_MAX + sizeof(struct scan_job_hdr), IO_TIMEOUT_MS, &err) != 0)
		return -1;
	if (m.type == SCAN_MSG_JOB)
		take_job(s, &m);
	else if (m.type == SCAN_MSG_RELOAD)
		reload(s);
	scan_msg_release(&m);
	return 0;
}

static void reap_idle(struct sup *s)
{
	for (unsigned i = 0; i < s->n_workers; i++) {
		struct worker *w = &s->w[i];
		int st;

		if (w->pid > 0 && w->job == NULL && waitpid(w->pid, &st, WNOHANG) == w->pid) {
			s->replaced++;
			close(w->sock);
			if (spawn(s, w) != 0)
				*w = (struct worker){ .pid = -1, .sock = -1 };
		}
	}
}

/* The figures, when they changed since the client last had them. A
 * failed send is left to the client: a cut message ends the stream. */
static void send_status(struct sup *s)
{
	struct scan_status st = { .queued = s->queued, .replaced = s->replaced };
	struct fw_err err;

	for (unsigned i = 0; i < s->n_workers; i++) {
		st.workers += s->w[i].pid > 0;
		st.busy += s->w[i].pid > 0 && s->w[i].job != NULL;
	}
	if (memcmp(&st, &s->sent, sizeof(st)) == 0)
		return;
	fw_err_clear(&err);
	if (scan_wire_send(s->ctl, SCAN_MSG_STATUS, &st, (uint32_t)sizeof(st), NULL, 0, IO_TIMEOUT_MS, &err) == 0)
		s->sent = st;
}

static void serve(struct sup *s) __attribute__((noreturn));

static void serve(struct sup *s)
{
	struct pollfd p[MAX_WORKERS + 1];

	for (;;) {
		int r;

		p[0] = (struct pollfd){ .fd = s->ctl, .events = POLLIN };
		for (unsigned i = 0; i < s->n_workers; i++)
			p[i + 1] = (struct pollfd){ .fd = s->w[i].pid > 0 ? s->w[i].sock : -1, .events = POLLIN };
		r = poll(p, s->n_workers + 1, TICK_MS);
		if (r < 0 && errno != EINTR)
			break;
		for (unsigned i = 0; r > 0 && i < s->n_workers; i++) {
			if (p[i + 1].fd < 0 || p[i + 1].revents == 0)
				continue;
			if (s->w[i].job != NULL && (p[i + 1].revents & POLLIN))
				worker_result(s, &s->w[i]);
			else
				worker_fail(s, &s->w[i], NULL); /* idle worker hung up or spoke out of turn */
		}
		if (r > 0 && p[0].revents != 0 && control(s) != 0)
			break;
		check_timeouts(s);
		reap_idle(s);
		dispatch(s);
		send_status(s);
	}
	for (unsigned i = 0; i < s->n_workers; i++)
		if (s->w[i].pid > 0)
			kill(s->w[i].pid, SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	_exit(0);
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

void scan_supervisor_main(int ctl, const struct fw_config *cfg, const char *tmp_dir, const char *samples_dir)
{
	static struct sup s;
	struct fw_err err;

	fw_err_clear(&err);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "fwgate-scan");
	signal(SIGPIPE, SIG_IGN);
	/* Nothing the caller had open (databases, logs, client sockets) is
	 * the scanner's business: only the control socket stays. */
	if (ctl > 3)
		close_range(3, (unsigned)ctl - 1, 0);
	close_range((unsigned)ctl + 1, ~0u, 0);
	s = (struct sup){ .cfg = cfg, .tmp_dir = tmp_dir, .ctl = ctl, .tmp_fd = -1, .samples_fd = -1 };
	s.n_workers = cfg->scanner.workers ? cfg->scanner.workers : online_cpus();
	if (s.n_workers > MAX_WORKERS)
		s.n_workers = MAX_WORKERS;
	s.threads = online_cpus();
	s.tmp_fd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.tmp_fd < 0) {
		fw_err_sys(&err, errno, "cannot open the scanner's temporary directory %s", tmp_dir);
		goto fail;
	}
	if (samples_dir != NULL) {
		s.samples_fd = open(samples_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s.samples_fd < 0) {
			fw_err_sys(&err, errno, "cannot open the sandbox samples directory %s", samples_dir);
			goto fail;
		}
	}
	if (scan_typer_new(&s.typer, &err) != 0 ||
	    scan_engine_load(&s.eng, cfg, tmp_dir, &err) != 0)
		goto fail;
	for (unsigned i = 0; i < s.n_workers; i++)
		s.w[i] = (struct worker){ .pid = -1, .sock = -1 };
	for (unsigned i = 0; i < s.n_workers; i++)
		if (spawn(&s, &s.w[i]) != 0) {
			fw_err_sys(&err, errno, "cannot start scanner worker %u", i + 1);
			goto fail;
		}
	if (send_ready(&s) != 0)
		_exit(1);
	serve(&s);
fail:
	send_fail(ctl, fw_err_msg(&err));
	for (unsigned i = 0; i < s.n_workers; i++)
		if (s.w[i].pid > 0)
			kill(s.w[i].pid, SIGKILL);
	_exit(1);
}

/* ------------------------------------------------------------ exec */

void scan_boot_build(char *out, size_t len)
{
	snprintf(out, len, "fwgate %s boot %zu config %zu", FWGATE_VERSION, sizeof(struct scan_boot),
		 sizeof(struct fw_config));
}

int fw_scanner_exec_main(void)
{
	static struct scan_boot boot;
	char build[sizeof(boot.build)];
	struct scan_msg m;
	struct fw_err err;

	fw_err_clear(&err);
	/* The gateway that started this process may already be gone. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	if (fcntl(SCAN_CTL_FD, F_GETFD) < 0) {
		fprintf(stderr, "fwgate: %s is for the gateway's own use: it starts the scanner supervisor\n",
			FW_SCANNER_EXEC_ARG);
		return 2;
	}
	if (scan_wire_recv(SCAN_CTL_FD, &m, sizeof(boot), BOOT_TIMEOUT_MS, &err) != 0 || m.type != SCAN_MSG_BOOT ||
	    m.len != sizeof(boot)) {
		send_fail(SCAN_CTL_FD, "the scanner supervisor got no valid start-up message");
		_exit(2);
	}
	memcpy(&boot, m.payload, sizeof(boot));
	scan_msg_release(&m);
	scan_boot_build(build, sizeof(build));
	boot.build[sizeof(boot.build) - 1] = '\0';
	boot.tmp_dir[sizeof(boot.tmp_dir) - 1] = '\0';
	boot.samples_dir[sizeof(boot.samples_dir) - 1] = '\0';
	if (strcmp(boot.build, build) != 0 || boot.cfg_size != sizeof(boot.cfg)) {
		send_fail(SCAN_CTL_FD, "the fwgate binary changed under the running gateway: restart the gateway");
		_exit(2);
	}
	if (getppid() != (pid_t)boot.parent_pid)
		_exit(2); /* the gateway ended before the death signal was armed */
	scan_supervisor_main(SCAN_CTL_FD, &boot.cfg, boot.tmp_dir, boot.samples_dir[0] ? boot.samples_dir : NULL);
}
