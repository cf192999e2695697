/* Unit tests of the scanner's processes, with real ones: the supervisor
 * is this test binary executed anew (its main dispatches
 * FW_SCANNER_EXEC_ARG as fwgate's does). A new worker holds only its
 * fixed descriptors (never a queued job's reply socket or file, never
 * what the client had open); workers get read-only descriptors; an answer
 * not bound to its job (wrong id or nonce) is refused by the client; a
 * killed supervisor is restarted by itself; answers are bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fwgate/config.h"
#include "fwgate/metrics.h"
#include "fwgate/scanner.h"
#include "scanner/scan_int.h"
#include "testutil.h"

/* Set in the environment of the re-executed test binary: it plays a
 * supervisor that answers every job with the wrong nonce. */
#define LIAR_ENV "FWGATE_TEST_LYING_SUPERVISOR"

struct fixture {
	char dir[1024], tmp[1100], samples[1100], sigs[1100];
	struct fw_config cfg;
	struct fw_scanner *s;
	unsigned events[3];
	pthread_mutex_t lock;
};

static void notify(void *arg, enum fw_scanner_event ev, const char *reason, unsigned restarts)
{
	struct fixture *f = arg;

	(void)reason;
	(void)restarts;
	pthread_mutex_lock(&f->lock);
	f->events[ev]++;
	pthread_mutex_unlock(&f->lock);
}

static unsigned events_of(struct fixture *f, enum fw_scanner_event ev)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->events[ev];
	pthread_mutex_unlock(&f->lock);
	return n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	pthread_mutex_init(&f->lock, NULL);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	snprintf(f->tmp, sizeof(f->tmp), "%s/tmp", f->dir);
	snprintf(f->samples, sizeof(f->samples), "%s/samples", f->dir);
	assert_int_equal(mkdir(f->tmp, 0700), 0);
	assert_int_equal(mkdir(f->samples, 0700), 0);
	fw_config_default(&f->cfg);
	f->cfg.scanner.workers = 1;
	f->cfg.scanner.timeout_seconds = 20;
	f->cfg.scanner.n_signatures = 1;
	snprintf(f->cfg.scanner.signatures[0], sizeof(f->cfg.scanner.signatures[0]), "%s/tests/data/signatures",
		 FW_SOURCE_ROOT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fw_scanner_stop(f->s);
	unsetenv(LIAR_ENV);
	tu_rmtree(f->dir);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

static void start(struct fixture *f)
{
	const struct fw_scanner_opts o = {
		.exe = "/proc/self/exe", .tmp_dir = f->tmp, .samples_dir = f->samples, .watch = true,
		.notify = notify, .notify_arg = f,
	};
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_scanner_start(&f->s, &f->cfg, &o, &err) != 0)
		fail_msg("%s", fw_err_msg(&err));
}

/* ------------------------------------------------------------ /proc */

/* The children of pid (at most max), from /proc/PID/stat. */
static size_t children_of(pid_t pid, pid_t *out, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL && n < max) {
		char path[300], buf[512], *rp;
		long ppid = 0;
		FILE *fp;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		fp = fopen(path, "r");
		if (fp == NULL)
			continue;
		if (fgets(buf, sizeof(buf), fp) != NULL && (rp = strrchr(buf, ')')) != NULL &&
		    sscanf(rp + 2, "%*c %ld", &ppid) == 1 && ppid == pid)
			out[n++] = (pid_t)strtol(e->d_name, NULL, 10);
		fclose(fp);
	}
	closedir(d);
	return n;
}

/* The supervisor: the one child of this process. */
static pid_t supervisor_pid(void)
{
	pid_t kids[8];
	size_t n = children_of(getpid(), kids, 8);

	assert_int_equal(n, 1);
	return kids[0];
}

/* The one worker of the supervisor, polled for (bounded) after a respawn. */
/* Whether the process has named itself fwgate-worker: it does so in
 * worker_main, after its descriptors are down to its fixed ones (a child
 * just forked still holds the supervisor's). */
static bool is_worker(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return false;
	if (fgets(comm, sizeof(comm), fp) == NULL)
		comm[0] = '\0';
	fclose(fp);
	return strcmp(comm, "fwgate-worker\n") == 0;
}

/* The supervisor's one worker, once it is one (not not). */
static pid_t worker_pid(pid_t sup, pid_t not)
{
	for (int i = 0; i < 400; i++) {
		pid_t kids[8];
		size_t n = children_of(sup, kids, 8);

		if (n == 1 && kids[0] != not && is_worker(kids[0]))
			return kids[0];
		usleep(10000);
	}
	fail_msg("no new worker under supervisor %ld", (long)sup);
	return -1;
}

static void fd_target(pid_t pid, int fd, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/fd/%d", (long)pid, fd);
	n = readlink(path, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
}

/* The access mode a process holds fd with (from fdinfo's octal flags). */
static int fd_accmode(pid_t pid, int fd)
{
	char path[64], line[128];
	unsigned long flags = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%d", (long)pid, fd);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "flags: %lo", &flags) == 1)
			break;
	fclose(fp);
	return (int)(flags & O_ACCMODE);
}

/* Every descriptor a worker holds must be one of its fixed ones (its
 * socket, the temporary and samples directories) or, while it works, the
 * read-only file of its own job. Returns how many descriptors of the
 * job's file it held. */
static unsigned check_worker_fds(struct fixture *f, pid_t w, const char *job_file)
{
	char path[64], target[1200];
	unsigned files = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)w);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		int fd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		fd = (int)strtol(e->d_name, NULL, 10);
		fd_target(w, fd, target, sizeof(target));
		if (fd <= 2)
			continue;
		if (fd == 3) {
			assert_memory_equal(target, "socket:", 7);
		} else if (fd == 4) {
			assert_string_equal(target, f->tmp);
		} else if (fd == 5) {
			assert_string_equal(target, f->samples);
		} else {
			/* Nothing else: no other socket (a reply socket of
			 * another job), no file but its own job's, read-only. */
			if (job_file == NULL || strcmp(target, job_file) != 0)
				fail_msg("worker %ld holds fd %d -> %s", (long)w, fd, target);
			assert_int_equal(fd_accmode(w, fd), O_RDONLY);
			files++;
		}
	}
	closedir(d);
	/* The walk holds its job's file on at most three descriptors at
	 * once: the node's, the one its ClamAV scan reads, and the one the
	 * payload search reads beside it. */
	assert_true(files <= 3);
	return files;
}

/* ------------------------------------------------------------ tests */

struct job_thread {
	struct fw_scanner *s;
	int fd;
	char name[64];
	struct fw_scan_result res;
	pthread_t th;
};

static void *job_main(void *arg)
{
	struct job_thread *j = arg;

	assert_int_equal(fw_scanner_scan_fd(j->s, j->fd, j->name, NULL, 0, &j->res), 0);
	return NULL;
}

static void write_file(const char *path, size_t size, char fill)
{
	char buf[65536];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	memset(buf, fill, sizeof(buf));
	for (size_t done = 0; done < size;) {
		size_t n = size - done > sizeof(buf) ? sizeof(buf) : size - done;

		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
}

/* The supervisor holds path open (the job is queued there). */
static bool holds(pid_t pid, const char *path)
{
	char dir[64], target[1200];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	d = opendir(dir);
	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL)
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
			fd_target(pid, (int)strtol(e->d_name, NULL, 10), target, sizeof(target));
			found = strcmp(target, path) == 0;
		}
	closedir(d);
	return found;
}

static void test_worker_descriptors(void **state)
{
	struct fixture *f = *state;
	struct job_thread a = { .fd = -1 }, b = { .fd = -1 };
	char secret[1100], fa[1100], fb[1100], target[1200];
	int secret_fd, sock[2];
	pid_t sup, w1, w2;

	/* What the client holds (not close-on-exec, on purpose) must reach
	 * neither the supervisor nor a worker. */
	snprintf(secret, sizeof(secret), "%s/ca.key", f->dir);
	write_file(secret, 10, 'k');
	secret_fd = open(secret, O_RDONLY);
	assert_true(secret_fd >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sock), 0);
	start(f);
	sup = supervisor_pid();
	for (int fd = 0; fd < 64; fd++) {
		fd_target(sup, fd, target, sizeof(target));
		assert_string_not_equal(target, secret);
	}
	w1 = worker_pid(sup, 0);
	assert_int_equal(check_worker_fds(f, w1, NULL), 0);

	/* Job A in flight on a stopped worker, job B queued in the
	 * supervisor (its reply socket and file open there). */
	snprintf(fa, sizeof(fa), "%s/a.bin", f->dir);
	snprintf(fb, sizeof(fb), "%s/b.bin", f->dir);
	write_file(fa, 4096, 'a');
	write_file(fb, 4096, 'b');
	a.s = b.s = f->s;
	/* Opened read-write: the client hands a read-only one on. */
	a.fd = open(fa, O_RDWR | O_CLOEXEC);
	b.fd = open(fb, O_RDWR | O_CLOEXEC);
	snprintf(a.name, sizeof(a.name), "a.bin");
	snprintf(b.name, sizeof(b.name), "b.bin");
	assert_int_equal(kill(w1, SIGSTOP), 0);
	assert_int_equal(pthread_create(&a.th, NULL, job_main, &a), 0);
	for (int i = 0; i < 500 && !holds(sup, fa); i++)
		usleep(10000);
	assert_true(holds(sup, fa));
	assert_int_equal(pthread_create(&b.th, NULL, job_main, &b), 0);
	for (int i = 0; i < 500 && !holds(sup, fb); i++)
		usleep(10000);
	assert_true(holds(sup, fb));
	/* The worker dies; its replacement takes job B. */
	assert_int_equal(kill(w1, SIGKILL), 0);
	w2 = worker_pid(sup, w1);
	check_worker_fds(f, w2, fb);
	pthread_join(a.th, NULL);
	pthread_join(b.th, NULL);
	assert_int_equal(a.res.verdict, FW_VERDICT_UNSCANNABLE);
	assert_non_null(strstr(a.res.reason, "killed by signal 9"));
	assert_int_equal(b.res.verdict, FW_VERDICT_CLEAN);
	fw_scan_result_clear(&a.res);
	fw_scan_result_clear(&b.res);
	assert_int_equal(check_worker_fds(f, w2, NULL), 0);
	close(a.fd);
	close(b.fd);
	close(secret_fd);
	close(sock[0]);
	close(sock[1]);
}

/* A supervisor killed is started again by the scanner itself; jobs fail
 * only while it is down. */
static void test_supervisor_restart(void **state)
{
	struct fixture *f = *state;
	struct fw_scan_result res;
	char path[1100];
	pid_t sup, sup2 = 0;
	int fd;

	start(f);
	snprintf(path, sizeof(path), "%s/c.bin", f->dir);
	write_file(path, 100, 'c');
	fd = open(path, O_RDONLY | O_CLOEXEC);
	sup = supervisor_pid();
	assert_int_equal(kill(sup, SIGKILL), 0);
	for (int i = 0; i < 500 && events_of(f, FW_SCANNER_RESTARTED) == 0; i++)
		usleep(10000);
	assert_int_equal(events_of(f, FW_SCANNER_DOWN), 1);
	assert_int_equal(events_of(f, FW_SCANNER_RESTARTED), 1);
	assert_int_equal(fw_scanner_restarts(f->s), 1);
	assert_true(fw_scanner_up(f->s));
	sup2 = supervisor_pid();
	assert_int_not_equal(sup, sup2);
	assert_int_equal(fw_scanner_scan_fd(f->s, fd, "c.bin", NULL, 0, &res), 0);
	assert_int_equal(res.verdict, FW_VERDICT_CLEAN);
	fw_scan_result_clear(&res);
	close(fd);
}

/* The gateway's view for a scrape: what the supervisor loaded and the
 * figures it sends when they change; a replaced worker is counted once,
 * and the count never goes down when the supervisor itself is restarted. */
static void test_scanner_gauges(void **state)
{
	struct fixture *f = *state;
	struct fw_metrics_gauges g;
	pid_t sup, w;

	start(f);
	fw_metrics_gauges_init(&g);
	fw_scanner_metrics(f->s, &g);
	assert_true(g.scanner_set);
	assert_true(g.scanner_up);
	assert_true(g.scanner_signatures > 0);
	assert_int_equal(g.scanner_jobs_in_flight, 0);
	sup = supervisor_pid();
	w = worker_pid(sup, 0);
	assert_int_equal(kill(w, SIGKILL), 0);
	(void)worker_pid(sup, w);
	for (int i = 0; i < 500; i++) {
		fw_scanner_metrics(f->s, &g);
		if (g.scanner_worker_replacements == 1 && g.scanner_workers == 1)
			break;
		usleep(10000);
	}
	assert_int_equal(g.scanner_worker_replacements, 1);
	assert_int_equal(g.scanner_workers, 1);
	assert_int_equal(g.scanner_workers_busy, 0);
	assert_int_equal(g.scanner_jobs_queued, 0);
	assert_int_equal(kill(sup, SIGKILL), 0);
	for (int i = 0; i < 500 && events_of(f, FW_SCANNER_RESTARTED) == 0; i++)
		usleep(10000);
	assert_int_equal(events_of(f, FW_SCANNER_RESTARTED), 1);
	fw_scanner_metrics(f->s, &g);
	assert_true(g.scanner_up);
	assert_int_equal(g.scanner_worker_replacements, 1);
}

/* An answer that does not carry the job's nonce is refused by the
 * client: the job is unscannable, never what the answer said. */
static void test_answer_wrong_nonce(void **state)
{
	struct fixture *f = *state;
	struct fw_scan_result res;
	char path[1100];
	int fd;

	setenv(LIAR_ENV, "1", 1);
	start(f);
	snprintf(path, sizeof(path), "%s/d.bin", f->dir);
	write_file(path, 100, 'd');
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(fw_scanner_scan_fd(f->s, fd, "d.bin", NULL, 0, &res), 0);
	assert_int_equal(res.verdict, FW_VERDICT_UNSCANNABLE);
	assert_non_null(strstr(res.reason, "not bound to this job"));
	fw_scan_result_clear(&res);
	close(fd);
}

static json_t *check_text(const struct scan_job_hdr *job, const char *text, struct fw_err *err)
{
	return scan_answer_check(job, text, strlen(text), err);
}

/* The pure checks: binding, validation per kind, bounds. */
static void test_answer_checks(void **state)
{
	struct scan_job_hdr job = { .job_id = 7 }, other;
	struct scan_answer_hdr a;
	struct fw_err err;
	char buf[sizeof(a) + 8], *text = NULL;
	size_t len = 0;
	json_t *doc, *members;

	(void)state;
	memset(job.nonce, 0x5a, sizeof(job.nonce));
	a.job_id = 7;
	memcpy(a.nonce, job.nonce, sizeof(a.nonce));
	memcpy(buf, &a, sizeof(a));
	assert_true(scan_answer_matches(&job, buf, sizeof(a)));
	assert_false(scan_answer_matches(&job, buf, sizeof(a) - 1));
	other = job;
	other.job_id = 8;
	assert_false(scan_answer_matches(&other, buf, sizeof(a)));
	other = job;
	other.nonce[15] ^= 1;
	assert_false(scan_answer_matches(&other, buf, sizeof(a)));

	fw_err_clear(&err);
	assert_null(check_text(&job, "{\"verdict\":", &err));
	assert_non_null(strstr(fw_err_msg(&err), "not JSON"));
	fw_err_clear(&err);
	assert_null(check_text(&job, "{\"verdict\":\"great\",\"reasons\":[],\"signatures\":[],\"members\":[]}", &err));
	fw_err_clear(&err);
	/* The kinds: an analysis is no verdict document and the reverse. */
	job.flags = SCAN_JOB_ANALYZE;
	assert_null(check_text(&job, "{\"verdict\":\"clean\",\"reasons\":[],\"signatures\":[],\"members\":[]}", &err));
	doc = check_text(&job, "{\"analysis\":{\"score\":3,\"findings\":[]}}", &err);
	assert_non_null(doc);
	json_decref(doc);
	job.flags = SCAN_JOB_CAPE_REPORT;
	doc = check_text(&job, "{\"report\":{\"error\":false,\"malstatus\":\"\",\"signatures\":[],\"malscore\":1}}",
			 &err);
	assert_non_null(doc);
	json_decref(doc);
	fw_err_clear(&err);
	assert_null(check_text(&job, "{\"report\":{\"error\":false,\"malstatus\":5,\"signatures\":[]}}", &err));

	/* A verdict document over the bound: its member listing is cut, and
	 * says so; the verdict and the sandbox list are kept. */
	job.flags = 0;
	members = json_array();
	for (int i = 0; i < 30000; i++) {
		char name[300];

		snprintf(name, sizeof(name), "pkg.zip!%0200d.bin", i);
		json_array_append_new(members, json_pack("{s:s, s:i, s:i, s:s}", "path", name, "depth", 1, "size", 1,
							 "verdict", "clean"));
	}
	doc = json_pack("{s:s, s:s, s:[], s:[], s:o, s:[{s:s}]}", "path", "pkg.zip", "verdict", "clean", "reasons",
			"signatures", "members", members, "sandbox", "path", "pkg.zip!x");
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_true(strlen(text) > SCAN_RESULT_MAX);
	doc = scan_answer_check(&job, text, strlen(text), &err);
	free(text);
	assert_non_null(doc);
	assert_true(json_is_true(json_object_get(doc, "members_cut")));
	assert_true(json_array_size(json_object_get(doc, "members")) < 30000);
	assert_int_equal(json_integer_value(json_object_get(doc, "members_listed")),
			 json_array_size(json_object_get(doc, "members")));
	assert_string_equal(json_string_value(json_object_get(doc, "verdict")), "clean");
	assert_int_equal(json_array_size(json_object_get(doc, "sandbox")), 1);
	assert_int_equal(scan_answer_encode(&job, doc, SCAN_RESULT_MAX, &text, &len, &err), 0);
	assert_true(len <= SCAN_RESULT_MAX);
	assert_true(scan_answer_matches(&job, text, len));
	free(text);
	/* Encoding refuses what does not fit. */
	assert_int_equal(scan_answer_encode(&job, doc, 100, &text, &len, &err), -1);
	assert_null(text);
	json_decref(doc);
}

/* A writable descriptor is reopened read-only, to the same inode. */
static void test_fd_readonly(void **state)
{
	char dir[1024], path[1100];
	struct stat a, b;
	struct fw_err err;
	int rw, ro;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	rw = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(rw >= 0);
	assert_int_equal(unlink(path), 0); /* even an unnamed file */
	fw_err_clear(&err);
	ro = scan_fd_readonly(rw, &err);
	assert_true(ro >= 0);
	assert_int_equal(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(write(ro, "x", 1), -1);
	assert_int_equal(fstat(rw, &a), 0);
	assert_int_equal(fstat(ro, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(ro);
	close(rw);
	tu_rmtree(dir);
}

/* ------------------------------------------------------------ the liar */

/* A supervisor that answers every job for another nonce. */
static int lying_supervisor(void)
{
	struct scan_msg m;
	struct fw_err err;
	static const char ready[] = "{\"summary\":\"liar\",\"workers\":1}";

	fw_err_clear(&err);
	if (scan_wire_recv(SCAN_CTL_FD, &m, sizeof(struct scan_boot), 10000, &err) != 0)
		return 2;
	scan_msg_release(&m);
	if (scan_wire_send(SCAN_CTL_FD, SCAN_MSG_READY, ready, sizeof(ready) - 1, NULL, 0, 10000, &err) != 0)
		return 2;
	while (scan_wire_recv(SCAN_CTL_FD, &m, 1 << 20, -1, &err) == 0) {
		struct scan_job_hdr h;
		json_t *doc = json_pack("{s:s, s:s, s:[], s:[], s:[]}", "path", "x", "verdict", "clean", "reasons",
					"signatures", "members");
		char *text = NULL;
		size_t len = 0;

		if (m.type == SCAN_MSG_JOB && m.len >= sizeof(h) && m.n_fds == 2) {
			memcpy(&h, m.payload, sizeof(h));
			h.nonce[0] ^= 0xff;
			if (scan_answer_encode(&h, doc, SCAN_RESULT_MAX, &text, &len, &err) == 0 &&
			    scan_wire_send(m.fds[0], SCAN_MSG_RESULT, text, (uint32_t)len, NULL, 0, 10000, &err) != 0)
				fprintf(stderr, "lying supervisor: %s\n", fw_err_msg(&err));
		}
		free(text);
		json_decref(doc);
		scan_msg_release(&m);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_checks),
		cmocka_unit_test(test_fd_readonly),
		cmocka_unit_test_setup_teardown(test_worker_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_supervisor_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scanner_gauges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_wrong_nonce, setup, teardown),
	};

	if (argc == 2 && strcmp(argv[1], FW_SCANNER_EXEC_ARG) == 0)
		return getenv(LIAR_ENV) != NULL ? lying_supervisor() : fw_scanner_exec_main();
	return cmocka_run_group_tests_name("scanner processes", tests, NULL, NULL);
}
