/* The scanner as the proxy and the CLI see it: starts the supervisor (a
 * fresh exec of the fwgate binary, never a copy of the caller's memory),
 * watches it and starts it again with back-off when it dies, submits jobs
 * (a read-only descriptor of the file, a reply socket, a random nonce),
 * and accepts only the answer bound to the job it sent. Every way a job
 * can fail ends in `unscannable`, never in a clean verdict. Hands what the
 * supervisor reports of itself to gauges.c (metrics). Must not unpack,
 * scan or parse a report in the calling process. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "scanner/scan_int.h"
#include "scanner/sigdb.h"

/* Loading ClamAV's full databases takes tens of seconds on a slow disk. */
#define START_TIMEOUT_MS (600 * 1000)
#define SEND_TIMEOUT_MS 10000
/* Restart back-off: at once, then 1 s, 2 s, ... at most 60 s; a
 * supervisor that served this long before it died restarts at once. */
#define BACKOFF_MAX_S 60
#define STABLE_S 60
#define WATCH_TICK_MS 250

struct fw_scanner {
	struct scan_boot boot;   /* what every supervisor starts from */
	int exe_fd;              /* the binary, opened once: a restart runs the same inode */
	bool watch;
	fw_scanner_notify_fn notify;
	void *notify_arg;
	unsigned timeout_seconds;

	pthread_mutex_t lock;    /* guards everything below, and sends on ctl */
	pthread_cond_t cond;     /* a reload answer arrived, or the state changed */
	pid_t pid;               /* the supervisor, 0 when none */
	int ctl;                 /* its control socket; -1 while it is down */
	bool stopping;
	uint64_t next_id;
	char summary[FW_SCANNER_SUMMARY_MAX];
	unsigned restarts;
	time_t up_since;         /* monotonic seconds */
	time_t next_attempt;     /* monotonic seconds; while down */
	unsigned backoff_s;
	/* A reload in flight: the watcher hands the supervisor's answer over. */
	bool reload_waiting;
	int reload_result;       /* 0 waiting, 1 ready, -1 failed */
	struct fw_err reload_err;
	pthread_t watcher;
	bool watcher_started;
	struct scan_gauges gauges;  /* for a metrics scrape; lock-free */
	struct fw_signature_info sig; /* the serving engine's databases (its READY); under lock */
};

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ------------------------------------------------------------ read-only */

int scan_fd_readonly(int fd, struct fw_err *err)
{
	struct stat a, b;
	char path[64];
	int fl = fcntl(fd, F_GETFL), ro;

	if (fl < 0)
		return fw_err_sys(err, errno, "the file to inspect is not open");
	if ((fl & O_ACCMODE) == O_RDONLY) {
		ro = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		return ro >= 0 ? ro : fw_err_sys(err, errno, "cannot duplicate the file's descriptor");
	}
	/* The same inode, opened anew read-only: even an unnamed or renamed
	 * file is reachable through its descriptor's /proc link. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (ro < 0)
		return fw_err_sys(err, errno, "cannot open the file to inspect read-only");
	if (fstat(fd, &a) != 0 || fstat(ro, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(ro);
		return fw_err_set(err, "the file to inspect changed while it was opened read-only");
	}
	return ro;
}

/* ------------------------------------------------------------ starting */

static void say(struct fw_scanner *s, enum fw_scanner_event ev, const char *reason)
{
	static const char *const what[] = { "the scanner supervisor ended", "the scanner supervisor was restarted",
					     "the scanner supervisor could not be restarted" };

	if (s->notify != NULL)
		s->notify(s->notify_arg, ev, reason, s->restarts);
	else
		fprintf(stderr, "fwgate: scanner: %s: %s\n", what[ev], reason);
}

/* Keeps the databases a READY lists (signature_info), for
 * fw_scanner_signature_info and the age metric. Called with s->lock held.
 * A list that does not validate empties the info and says so: a reload
 * event must not repeat stale versions. */
static void sig_info_ready_locked(struct fw_scanner *s, const json_t *ready)
{
	struct fw_err err;

	fw_err_clear(&err);
	if (sigdb_info_from_json(json_object_get(ready, "signature_info"), &s->sig, &err) != 0)
		fprintf(stderr, "fwgate: scanner: %s\n", fw_err_msg(&err));
	atomic_store(&s->gauges.sig_time, fw_signature_info_stalest(&s->sig, NULL));
}

/* Reads READY or FAIL from a supervisor being started, bounded in time
 * and cut short by a stop. */
static int await_ready(struct fw_scanner *s, int ctl, char *summary, size_t len, FILE *info, struct fw_err *err)
{
	struct scan_msg m;
	json_t *doc;
	int rc = -1, waited = 0;

	for (;;) {
		struct pollfd p = { .fd = ctl, .events = POLLIN };
		bool stop;

		pthread_mutex_lock(&s->lock);
		stop = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			return fw_err_set(err, "the gateway is stopping");
		if (poll(&p, 1, WATCH_TICK_MS) > 0)
			break;
		waited += WATCH_TICK_MS;
		if (waited >= START_TIMEOUT_MS)
			return fw_err_set(err, "the scanner supervisor did not load its engine within %d s",
					  START_TIMEOUT_MS / 1000);
	}
	if (scan_wire_recv(ctl, &m, SCAN_SMALL_ANSWER_MAX, SEND_TIMEOUT_MS, err) != 0) {
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
	snprintf(summary, len, "%s", json_string_value(json_object_get(doc, "summary")));
	scan_gauges_ready(&s->gauges, doc);
	pthread_mutex_lock(&s->lock);
	sig_info_ready_locked(s, doc);
	pthread_mutex_unlock(&s->lock);
	if (info != NULL) {
		const char *warn = json_string_value(json_object_get(doc, "warning"));

		fprintf(info, "fwgate: scanner: %lld worker(s); signatures: %s\n",
			(long long)json_integer_value(json_object_get(doc, "workers")), summary);
		if (warn != NULL && warn[0] != '\0')
			fprintf(info, "fwgate: scanner: %s\n", warn);
	}
	json_decref(doc);
	rc = 0;
out:
	scan_msg_release(&m);
	return rc;
}

/* Forks and execs a new supervisor with its control socket on
 * SCAN_CTL_FD, sends it the start-up message and waits until it serves. */
static int supervisor_spawn(struct fw_scanner *s, FILE *info, pid_t *pid_out, int *ctl_out, char *summary,
			    size_t len, struct fw_err *err)
{
	static char arg0[] = "fwgate-scanner", arg1[] = FW_SCANNER_EXEC_ARG;
	char *const argv[] = { arg0, arg1, NULL };
	extern char **environ;
	struct scan_boot *boot = &s->boot;
	long max_fd = sysconf(_SC_OPEN_MAX);
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return fw_err_sys(err, errno, "cannot create the scanner's socket");
	if (info != NULL)
		fflush(info);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return fw_err_sys(err, errno, "cannot start the scanner supervisor");
	}
	if (pid == 0) {
		/* Between fork and exec only async-signal-safe calls: the
		 * parent has threads. The control socket goes to
		 * SCAN_CTL_FD, the binary to the next one (close-on-exec),
		 * everything else is closed. */
		int c = fcntl(sv[1], F_DUPFD, 10), e = fcntl(s->exe_fd, F_DUPFD_CLOEXEC, 10);

		if (c < 0 || e < 0 || dup2(c, SCAN_CTL_FD) != SCAN_CTL_FD || dup2(e, SCAN_CTL_FD + 1) != SCAN_CTL_FD + 1 ||
		    fcntl(SCAN_CTL_FD + 1, F_SETFD, FD_CLOEXEC) != 0)
			_exit(127);
		if (syscall(SYS_close_range, SCAN_CTL_FD + 2, ~0u, 0) != 0)
			for (long fd = SCAN_CTL_FD + 2; fd < max_fd; fd++)
				close((int)fd); /* a kernel before close_range (5.9) */
		syscall(SYS_execveat, SCAN_CTL_FD + 1, "", argv, environ, AT_EMPTY_PATH);
		_exit(127);
	}
	close(sv[1]);
	boot->parent_pid = (int32_t)getpid();
	if (scan_wire_send(sv[0], SCAN_MSG_BOOT, boot, (uint32_t)sizeof(*boot), NULL, 0, SEND_TIMEOUT_MS, err) != 0 ||
	    await_ready(s, sv[0], summary, len, info, err) != 0) {
		int st = 0;

		close(sv[0]);
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
			/* The root cause is the child's, not the socket's end. */
			fw_err_clear(err);
			fw_err_set(err, "cannot execute the fwgate binary for the scanner supervisor");
		}
		return -1;
	}
	*pid_out = pid;
	*ctl_out = sv[0];
	return 0;
}

/* Why a supervisor ended, from its wait status. */
static void reap(pid_t pid, char *why, size_t len)
{
	int st = 0, i;
	pid_t r = 0;

	/* It closed its socket, so it is ending; bounded anyway. */
	for (i = 0; i < 100; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			break;
		usleep(20000);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
			;
		snprintf(why, len, "it stopped answering and was killed");
	} else if (r != pid) {
		snprintf(why, len, "its exit status is unknown");
	} else if (WIFSIGNALED(st)) {
		snprintf(why, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	} else {
		snprintf(why, len, "exited with status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
}

/* ------------------------------------------------------------ watching */

/* The supervisor's control socket closed: down until the next attempt. */
static void went_down(struct fw_scanner *s)
{
	char why[128], reason[256];
	time_t now = mono_s();
	bool stopping;
	pid_t pid;

	pthread_mutex_lock(&s->lock);
	stopping = s->stopping;
	pid = s->pid;
	close(s->ctl);
	s->ctl = -1;
	s->pid = 0;
	if (now - s->up_since >= STABLE_S)
		s->backoff_s = 0;
	s->next_attempt = now + s->backoff_s;
	s->backoff_s = s->backoff_s == 0 ? 1 : s->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : s->backoff_s * 2;
	if (s->reload_waiting && s->reload_result == 0) {
		s->reload_result = -1;
		fw_err_set(&s->reload_err, "the scanner supervisor ended during the reload");
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	scan_gauges_down(&s->gauges);
	reap(pid, why, sizeof(why));
	if (stopping)
		return;
	if (s->watch)
		snprintf(reason, sizeof(reason), "the scanner supervisor (pid %ld) %s; downloads are refused with 503 "
			 "until it is restarted (in %ld s)", (long)pid, why, (long)(s->next_attempt - now));
	else
		snprintf(reason, sizeof(reason), "the scanner supervisor (pid %ld) %s", (long)pid, why);
	say(s, FW_SCANNER_DOWN, reason);
}

/* One message the supervisor sent on its own: its figures, or the answer
 * to a reload. */
static void control_message(struct fw_scanner *s, int ctl)
{
	struct scan_msg m;
	struct fw_err err;
	json_t *doc;

	fw_err_clear(&err);
	if (scan_wire_recv(ctl, &m, SCAN_SMALL_ANSWER_MAX, SEND_TIMEOUT_MS, &err) != 0) {
		went_down(s);
		return;
	}
	if (m.type == SCAN_MSG_STATUS) {
		(void)scan_gauges_status(&s->gauges, &m); /* one of a wrong size is dropped */
		scan_msg_release(&m);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (m.type == SCAN_MSG_READY && (doc = json_loadb(m.payload, m.len, 0, NULL)) != NULL) {
		scan_gauges_ready(&s->gauges, doc);
		sig_info_ready_locked(s, doc);
		if (json_is_string(json_object_get(doc, "summary")))
			snprintf(s->summary, sizeof(s->summary), "%s",
				 json_string_value(json_object_get(doc, "summary")));
		json_decref(doc);
		s->reload_result = 1;
	} else {
		fw_err_set(&s->reload_err, "%s", m.type == SCAN_MSG_FAIL ? m.payload : "the scanner answered garbage");
		s->reload_result = -1;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	scan_msg_release(&m);
}

static void try_restart(struct fw_scanner *s)
{
	char summary[FW_SCANNER_SUMMARY_MAX], reason[FW_ERR_MSG_MAX + 64];
	struct fw_err err;
	pid_t pid = 0;
	bool stopping;
	int ctl = -1;

	fw_err_clear(&err);
	if (supervisor_spawn(s, NULL, &pid, &ctl, summary, sizeof(summary), &err) != 0) {
		time_t now = mono_s();

		pthread_mutex_lock(&s->lock);
		s->next_attempt = now + s->backoff_s;
		snprintf(reason, sizeof(reason), "%s; next attempt in %u s", fw_err_msg(&err), s->backoff_s);
		s->backoff_s = s->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : s->backoff_s * 2;
		stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (!stopping)
			say(s, FW_SCANNER_RESTART_FAILED, reason);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (s->stopping) {
		/* Stopped while it started: it ends on its socket's close. */
		pthread_mutex_unlock(&s->lock);
		close(ctl);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return;
	}
	s->pid = pid;
	s->ctl = ctl;
	s->restarts++;
	s->up_since = mono_s();
	snprintf(s->summary, sizeof(s->summary), "%s", summary);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	fw_metrics_worker_restart();
	say(s, FW_SCANNER_RESTARTED, summary);
}

/* Watches the supervisor's control socket: reload answers are handed
 * over, an end of stream is a dead supervisor, restarted with back-off. */
static void *watch_main(void *arg)
{
	struct fw_scanner *s = arg;

	for (;;) {
		bool stop;
		int ctl;
		time_t wait_until;

		pthread_mutex_lock(&s->lock);
		stop = s->stopping;
		ctl = s->ctl;
		wait_until = s->next_attempt;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		if (ctl >= 0) {
			struct pollfd p = { .fd = ctl, .events = POLLIN };

			if (poll(&p, 1, WATCH_TICK_MS) > 0)
				control_message(s, ctl);
		} else if (!s->watch) {
			usleep(WATCH_TICK_MS * 1000);
		} else if (mono_s() >= wait_until) {
			try_restart(s);
		} else {
			usleep(WATCH_TICK_MS * 1000);
		}
	}
	return NULL;
}

int fw_scanner_start(struct fw_scanner **out, const struct fw_config *cfg, const struct fw_scanner_opts *opts,
		     struct fw_err *err)
{
	struct fw_scanner *s;
	int n1, n2;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return fw_err_set(err, "out of memory");
	s->ctl = -1;
	s->exe_fd = -1;
	scan_gauges_init(&s->gauges);
	s->timeout_seconds = cfg->scanner.timeout_seconds;
	s->watch = opts->watch;
	s->notify = opts->notify;
	s->notify_arg = opts->notify_arg;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	scan_boot_build(s->boot.build, sizeof(s->boot.build));
	s->boot.cfg_size = (uint32_t)sizeof(s->boot.cfg);
	s->boot.cfg = *cfg;
	n1 = snprintf(s->boot.tmp_dir, sizeof(s->boot.tmp_dir), "%s", opts->tmp_dir);
	n2 = snprintf(s->boot.samples_dir, sizeof(s->boot.samples_dir), "%s",
		      opts->samples_dir != NULL ? opts->samples_dir : "");
	if (n1 < 0 || (size_t)n1 >= sizeof(s->boot.tmp_dir) || n2 < 0 || (size_t)n2 >= sizeof(s->boot.samples_dir)) {
		fw_err_set(err, "the scanner's directory paths are too long");
		goto fail;
	}
	s->exe_fd = open(opts->exe != NULL ? opts->exe : "/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (s->exe_fd < 0) {
		fw_err_sys(err, errno, "cannot open the fwgate binary to start the scanner");
		goto fail;
	}
	if (supervisor_spawn(s, opts->info, &s->pid, &s->ctl, s->summary, sizeof(s->summary), err) != 0)
		goto fail;
	s->up_since = mono_s();
	if (pthread_create(&s->watcher, NULL, watch_main, s) != 0) {
		fw_err_set(err, "cannot start the scanner's watcher thread");
		goto fail;
	}
	s->watcher_started = true;
	*out = s;
	return 0;
fail:
	fw_scanner_stop(s);
	return -1;
}

const char *fw_scanner_summary(struct fw_scanner *s, char *out, size_t len)
{
	pthread_mutex_lock(&s->lock);
	snprintf(out, len, "%s", s->summary);
	pthread_mutex_unlock(&s->lock);
	return out;
}

bool fw_scanner_up(struct fw_scanner *s)
{
	bool up;

	pthread_mutex_lock(&s->lock);
	up = s->ctl >= 0;
	pthread_mutex_unlock(&s->lock);
	return up;
}

unsigned fw_scanner_restarts(struct fw_scanner *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->restarts;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void fw_scanner_metrics(const struct fw_scanner *s, struct fw_metrics_gauges *g)
{
	scan_gauges_fill(&s->gauges, g);
	g->scanner_signatures_max_age = (uint64_t)s->boot.cfg.scanner.max_signature_age_hours * 3600u;
}

void fw_scanner_signature_info(struct fw_scanner *s, struct fw_signature_info *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->sig;
	pthread_mutex_unlock(&s->lock);
}

unsigned fw_scanner_retry_after(struct fw_scanner *s)
{
	time_t now = mono_s(), left = 0;

	pthread_mutex_lock(&s->lock);
	if (s->ctl < 0 && s->next_attempt > now)
		left = s->next_attempt - now;
	pthread_mutex_unlock(&s->lock);
	left += 5;
	return left > 60 ? 60 : (unsigned)left;
}

/* ------------------------------------------------------------ jobs */

/* Sends one job (h's flags and types set by the caller) with a read-only
 * descriptor of fd, and waits for the answer bound to it. NULL with err
 * when there is none. */
json_t *scan_client_job(struct fw_scanner *s, int ro, int progress, struct scan_job_hdr *h, const char *name,
			const char *sha256, unsigned timeout_ms, uint32_t max_answer, struct fw_err *err)
{
	size_t name_len = strlen(name);
	struct scan_msg m;
	char *payload = NULL;
	int sv[2] = { -1, -1 }, fds[3], rc;
	json_t *doc = NULL;
	const struct scan_answer_hdr *a;

	if (name_len > SCAN_NAME_MAX)
		name_len = SCAN_NAME_MAX;
	if (RAND_bytes(h->nonce, sizeof(h->nonce)) != 1) {
		fw_err_set(err, "cannot draw a nonce for the scanner job");
		goto out;
	}
	if (progress >= 0)
		h->flags |= SCAN_JOB_STREAM;
	payload = malloc(sizeof(*h) + name_len);
	if (payload == NULL) {
		fw_err_set(err, "out of memory before the inspection");
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fw_err_sys(err, errno, "cannot reach the scanner");
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	if (s->ctl < 0) {
		pthread_mutex_unlock(&s->lock);
		fw_err_set(err, s->stopping ? "the scanner is stopping" : s->watch ?
			   "the scanner is restarting after its supervisor ended" : "the scanner supervisor ended");
		goto out;
	}
	h->job_id = ++s->next_id;
	h->name_len = (uint32_t)name_len;
	if (sha256 != NULL && strlen(sha256) == FW_SHA256_HEX_LEN) {
		memcpy(h->sha256, sha256, FW_SHA256_HEX_LEN);
		h->flags |= SCAN_JOB_HAS_SHA256;
	}
	memcpy(payload, h, sizeof(*h));
	memcpy(payload + sizeof(*h), name, name_len);
	fds[0] = sv[1];
	fds[1] = ro;
	fds[2] = progress;
	rc = scan_wire_send(s->ctl, SCAN_MSG_JOB, payload, (uint32_t)(sizeof(*h) + name_len), fds,
			    progress >= 0 ? 3 : 2, SEND_TIMEOUT_MS, err);
	/* A message cut short leaves the stream out of step: the supervisor
	 * is given up (and restarted) rather than fed garbage. */
	if (rc != 0)
		shutdown(s->ctl, SHUT_RDWR);
	pthread_mutex_unlock(&s->lock);
	close(sv[1]);
	sv[1] = -1;
	close(ro);
	ro = -1;
	if (rc != 0) {
		fw_err_clear(err);
		fw_err_set(err, "cannot reach the scanner: the control socket failed");
		goto out;
	}
	fw_err_clear(err);
	atomic_fetch_add(&s->gauges.in_flight, 1);
	rc = scan_wire_recv(sv[0], &m, max_answer + (uint32_t)sizeof(*a), (int)timeout_ms, err);
	atomic_fetch_sub(&s->gauges.in_flight, 1);
	if (rc != 0) {
		char why[FW_ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", fw_err_isset(err) ? fw_err_msg(err) : "it closed the job");
		fw_err_clear(err);
		fw_err_set(err, "the scanner did not answer: %s", why);
		goto out;
	}
	if (m.type != SCAN_MSG_RESULT || m.n_fds != 0 || !scan_answer_matches(h, m.payload, m.len)) {
		fw_err_set(err, "the scanner's answer is not bound to this job (wrong id or nonce): refused");
	} else {
		doc = json_loadb(m.payload + sizeof(*a), m.len - sizeof(*a), 0, NULL);
		if (doc == NULL)
			fw_err_set(err, "the scanner answered garbage");
	}
	scan_msg_release(&m);
out:
	if (ro >= 0)
		close(ro);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	free(payload);
	return doc;
}

unsigned scan_client_timeout_seconds(const struct fw_scanner *s)
{
	return s->timeout_seconds;
}

const struct fw_config *scan_client_config(const struct fw_scanner *s)
{
	return &s->boot.cfg;
}

int fw_scanner_reload(struct fw_scanner *s, struct fw_err *err)
{
	struct timespec until;
	int rc;

	pthread_mutex_lock(&s->lock);
	if (s->ctl < 0 || s->reload_waiting) {
		pthread_mutex_unlock(&s->lock);
		return fw_err_set(err, s->ctl < 0 ? "the scanner supervisor is down; its restart loads the signatures "
						     "anew" : "a reload is already under way");
	}
	s->reload_waiting = true;
	s->reload_result = 0;
	fw_err_clear(&s->reload_err);
	rc = scan_wire_send(s->ctl, SCAN_MSG_RELOAD, NULL, 0, NULL, 0, SEND_TIMEOUT_MS, err);
	if (rc != 0)
		shutdown(s->ctl, SHUT_RDWR);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += START_TIMEOUT_MS / 1000;
	while (rc == 0 && s->reload_result == 0 && !s->stopping)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0)
			break;
	if (rc == 0 && s->reload_result != 1) {
		rc = -1;
		if (s->reload_result == -1)
			fw_err_copy(err, &s->reload_err);
		else
			fw_err_set(err, s->stopping ? "the gateway is stopping" : "the reload did not finish in time");
	}
	s->reload_waiting = false;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void fw_scanner_cancel(struct fw_scanner *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	/* The supervisor ends on the end of its control stream, and its
	 * workers with it; killed as well, so that one busy (or wedged by a
	 * worker) cannot keep a job waiting: every job's reply socket then
	 * reads the end at once. */
	if (s->ctl >= 0)
		shutdown(s->ctl, SHUT_RDWR);
	if (s->pid > 0)
		kill(s->pid, SIGKILL);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void fw_scanner_stop(struct fw_scanner *s)
{
	if (s == NULL)
		return;
	fw_scanner_cancel(s);
	if (s->watcher_started)
		pthread_join(s->watcher, NULL);
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
	if (s->exe_fd >= 0)
		close(s->exe_fd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
