/* Unit tests for scanner/seccomp.c: what a confined scanner worker can
 * still do (files, O_TMPFILE, mmap, threads, SCM_RIGHTS on a socketpair)
 * and what it cannot (network, connect, exec, fork, ptrace, namespaces).
 * The filter is irreversible, so every case runs in a forked child that
 * enters the sandbox and reports through its exit status: 0 when the
 * worker behaved as expected, a case-specific code otherwise, or death by
 * SIGSYS for the calls the sandbox punishes by killing the process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fwgate/err.h"
#include "scanner/seccomp.h"
#include "scanner/yara_rules.h"
#include "testutil.h"

/* A child that could not even enter the sandbox. */
#define CHILD_NO_SANDBOX 100
/* Bound on one child's life: a hang becomes SIGALRM, not a stuck suite. */
#define CHILD_TIMEOUT_S 20

struct fixture {
	char dir[256];
	int dirfd;
};

/* Runs fn in a forked child after scan_seccomp_enter; returns the wait
 * status. The child leaves with _exit: no atexit handlers, no cmocka state
 * and no LeakSanitizer pass (which needs ptrace and is refused) run in it. */
static int run_sandboxed(int (*fn)(void *arg), void *arg)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct fw_err err;

		fw_err_clear(&err);
		alarm(CHILD_TIMEOUT_S);
		if (scan_seccomp_enter(&err) != 0) {
			fprintf(stderr, "sandbox: %s\n", fw_err_msg(&err));
			_exit(CHILD_NO_SANDBOX);
		}
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_child_ok(int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_error("child: exited %d, status %d, signal %d\n", WIFEXITED(status),
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			    WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void assert_child_killed(int status)
{
	if (!WIFSIGNALED(status))
		print_error("child exited %d instead of dying by SIGSYS\n",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* 0 when the call failed with want, 1 when it succeeded, 2 on another errno. */
static int failed_with(long rc, int want)
{
	if (rc >= 0)
		return 1;
	return errno == want ? 0 : 2;
}

/* ------------------------------------------------------------ the network */

static int child_socket_inet(void *arg)
{
	(void)arg;
	return failed_with(socket(AF_INET, SOCK_STREAM, 0), EPERM);
}

static int child_socket_inet6(void *arg)
{
	(void)arg;
	return failed_with(socket(AF_INET6, SOCK_DGRAM, 0), EPERM);
}

static int child_socket_other(void *arg)
{
	(void)arg;
	if (failed_with(socket(AF_NETLINK, SOCK_RAW, 0), EPERM) != 0)
		return 10;
	if (failed_with(socket(AF_PACKET, SOCK_RAW, 0), EPERM) != 0)
		return 11;
	/* The family with junk in the high half of the register is refused
	 * too, though the kernel would read it as AF_INET. */
	if (failed_with(syscall(SYS_socket, (1UL << 32) | AF_INET, SOCK_STREAM, 0), EPERM) != 0)
		return 12;
	return 0;
}

/* connect is refused even on AF_UNIX: a worker only ever uses the
 * socketpair it inherited, and a local daemon's socket is no safer a
 * destination than the Internet. A new AF_UNIX socket is allowed (glibc's
 * syslog and nscd client create one) but cannot be connected or bound. */
static int child_unix_connect(void *arg)
{
	const struct fixture *f = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 10;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", f->dir) >= (int)sizeof(sa.sun_path))
		return 11;
	if (failed_with(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), EPERM) != 0)
		return 12;
	if (failed_with(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), EPERM) != 0)
		return 13;
	if (failed_with(listen(fd, 1), EPERM) != 0)
		return 14;
	close(fd);
	return 0;
}

static void test_socket_inet_refused(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_socket_inet, NULL));
}

static void test_socket_inet6_refused(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_socket_inet6, NULL));
}

static void test_socket_other_families_refused(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_socket_other, NULL));
}

static void test_unix_connect_refused(void **state)
{
	assert_child_ok(run_sandboxed(child_unix_connect, *state));
}

/* ------------------------------------------------ the worker's own channel */

/* socketpair, then one descriptor passed with SCM_RIGHTS, as the worker
 * receives its jobs. */
static int child_socketpair_rights(void *arg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	char byte = 'j';
	int sv[2], fd, got;

	(void)arg;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return 10;
	fd = dup(sv[0]);
	if (fd < 0)
		return 11;
	memset(&ctl, 0, sizeof(ctl));
	iov = (struct iovec){ .iov_base = &byte, .iov_len = 1 };
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sv[0], &msg, 0) != 1)
		return 12;
	byte = 0;
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_controllen = sizeof(ctl.buf);
	if (recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC) != 1 || byte != 'j')
		return 13;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
		return 14;
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	if (got < 0 || fcntl(got, F_GETFD) < 0)
		return 15;
	if (failed_with(socketpair(AF_INET, SOCK_STREAM, 0, sv), EPERM) != 0)
		return 16;
	return 0;
}

static void test_socketpair_and_scm_rights_work(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_socketpair_rights, NULL));
}

/* ------------------------------------------------ files, memory, threads */

/* An unnamed temporary file in a directory the worker already has open,
 * written, read back and mapped. */
static int child_tmpfile(void *arg)
{
	const struct fixture *f = arg;
	static const char data[] = "MZ firmware bytes";
	char back[sizeof(data)];
	char *map;
	int fd;

	fd = openat(f->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return 10;
	if (write(fd, data, sizeof(data)) != (ssize_t)sizeof(data))
		return 11;
	if (pread(fd, back, sizeof(back), 0) != (ssize_t)sizeof(back) ||
	    memcmp(back, data, sizeof(data)) != 0)
		return 12;
	map = mmap(NULL, sizeof(data), PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return 13;
	if (memcmp(map, data, sizeof(data)) != 0)
		return 14;
	if (munmap(map, sizeof(data)) != 0 || close(fd) != 0)
		return 15;
	return 0;
}

static int child_mmap(void *arg)
{
	size_t len = 4u << 20;
	unsigned char *p;

	(void)arg;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 10;
	memset(p, 0xa5, len);
	if (mprotect(p, len, PROT_READ) != 0)
		return 11;
	if (madvise(p, len, MADV_DONTNEED) != 0)
		return 12;
	if (munmap(p, len) != 0)
		return 13;
	free(malloc(1u << 24));
	return 0;
}

static void *thread_add(void *arg)
{
	int *v = arg;

	*v += 1;
	return v;
}

static int child_thread(void *arg)
{
	pthread_t t;
	void *res = NULL;
	int v = 41;

	(void)arg;
	if (pthread_create(&t, NULL, thread_add, &v) != 0)
		return 10;
	if (pthread_join(t, &res) != 0)
		return 11;
	return res == &v && v == 42 ? 0 : 12;
}

static void test_tmpfile_works(void **state)
{
	assert_child_ok(run_sandboxed(child_tmpfile, *state));
}

static void test_mmap_works(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_mmap, NULL));
}

static void test_thread_works(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_thread, NULL));
}

/* libyara's matching in a worker: compiled before the filter (as the
 * supervisor does), matched after it on a scan thread, modules and the
 * timeout's clock included, over a descriptor (mapped) and a buffer. */
struct yara_case {
	const struct scan_yara *y;
	int fd;
	unsigned matches;
	int rc;
};

static void yara_count(void *arg, const struct scan_yara_match *m)
{
	struct yara_case *c = arg;

	c->matches += m->rule[0] != '\0';
}

static void *yara_thread(void *arg)
{
	static const uint8_t buf[] = "MZ FWGATE-YARA-MARKER";
	struct yara_case *c = arg;
	struct fw_err err;

	fw_err_clear(&err);
	c->rc = scan_yara_fd(c->y, c->fd, 5, yara_count, c, &err);
	if (c->rc == 0)
		c->rc = scan_yara_mem(c->y, buf, sizeof(buf) - 1, 5, yara_count, c, &err);
	return NULL;
}

static int child_yara(void *arg)
{
	struct yara_case *c = arg;
	pthread_t t;

	if (pthread_create(&t, NULL, yara_thread, c) != 0 || pthread_join(t, NULL) != 0)
		return 20;
	return c->rc != 0 ? 21 : c->matches != 2 * 4 ? 22 : 0;
}

static void test_yara_works(void **state)
{
	static const char rules[] = "import \"pe\"\nimport \"elf\"\nimport \"math\"\nimport \"hash\"\n"
		"rule m1 { strings: $a = \"FWGATE-YARA-MARKER\" condition: $a and not pe.is_pe }\n"
		"rule m2 { condition: elf.number_of_sections == 0 or not defined elf.type }\n"
		"rule m3 { condition: math.entropy(0, filesize) > 1.0 }\n"
		"rule m4 { condition: hash.sha256(0, filesize) != \"\" }\n";
	static char paths[1][FW_PATH_MAX];
	char name[] = "/tmp/fwgate-test-seccomp-yara-XXXXXX";
	struct yara_case c = { .y = NULL };
	struct scan_yara *y = NULL;
	struct fw_err err;
	int fd;

	(void)state;
	fd = mkstemp(name);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rules, strlen(rules)), (ssize_t)strlen(rules));
	close(fd);
	snprintf(paths[0], sizeof(paths[0]), "%s", name);
	fw_err_clear(&err);
	if (scan_yara_load(&y, (const char(*)[FW_PATH_MAX])paths, 1, &err) != 0)
		fail_msg("%s", fw_err_msg(&err));
	unlink(name);
	/* The node: the same bytes as a file the worker was handed. */
	memcpy(name + strlen(name) - 6, "XXXXXX", 6);
	fd = mkstemp(name);
	assert_true(fd >= 0);
	unlink(name);
	assert_int_equal(write(fd, "MZ FWGATE-YARA-MARKER", 21), 21);
	c.y = y;
	c.fd = fd;
	assert_child_ok(run_sandboxed(child_yara, &c));
	close(fd);
	scan_yara_free(y);
}

/* A thread that existed before the sandbox was entered is confined too. */
struct waiter {
	int pipe[2];
	int result;
};

static void *thread_wait_then_socket(void *arg)
{
	struct waiter *w = arg;
	char c;

	if (read(w->pipe[0], &c, 1) != 1) {
		w->result = 20;
		return NULL;
	}
	w->result = failed_with(socket(AF_INET, SOCK_STREAM, 0), EPERM);
	return NULL;
}

static void test_existing_thread_confined(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct waiter w = { .result = -1 };
		struct fw_err err;
		pthread_t t;

		fw_err_clear(&err);
		alarm(CHILD_TIMEOUT_S);
		if (pipe(w.pipe) != 0 || pthread_create(&t, NULL, thread_wait_then_socket, &w) != 0)
			_exit(10);
		if (scan_seccomp_enter(&err) != 0)
			_exit(CHILD_NO_SANDBOX);
		if (write(w.pipe[1], "g", 1) != 1 || pthread_join(t, NULL) != 0)
			_exit(11);
		_exit(w.result);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_child_ok(status);
}

/* ------------------------------------------------- processes and debugging */

static int child_execve(void *arg)
{
	char name[] = "true";
	char *const argv[] = { name, NULL };
	char *const envp[] = { NULL };

	(void)arg;
	execve("/bin/true", argv, envp);
	return 10;
}

/* fork fails with EPERM and no child process comes into being; clone3
 * says ENOSYS so that glibc falls back to the inspectable clone(2). */
static int child_fork(void *arg)
{
	pid_t pid;

	(void)arg;
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (failed_with(pid, EPERM) != 0)
		return 10;
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		return 11;
	if (failed_with(syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0), EPERM) != 0)
		return 12;
#ifdef SYS_clone3
	if (failed_with(syscall(SYS_clone3, NULL, 0), ENOSYS) != 0)
		return 13;
#endif
	if (failed_with(unshare(CLONE_NEWUSER), EPERM) != 0)
		return 14;
	if (failed_with(unshare(CLONE_NEWNET), EPERM) != 0)
		return 15;
	return 0;
}

static int child_ptrace(void *arg)
{
	(void)arg;
	ptrace(PTRACE_ATTACH, getpid(), NULL, NULL);
	return 10;
}

static int child_process_vm_readv(void *arg)
{
	char buf[8];
	struct iovec local = { buf, sizeof(buf) }, remote = { buf, sizeof(buf) };

	(void)arg;
	process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	return 10;
}

/* Non-dumpable, for good: other processes of the same user cannot attach. */
static int child_dumpable(void *arg)
{
	(void)arg;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 10;
	if (failed_with(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), EPERM) != 0)
		return 11;
	if (failed_with(syscall(SYS_prctl, (1UL << 32) | PR_SET_DUMPABLE, 1, 0, 0, 0), EPERM) != 0)
		return 12;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 13;
	return 0;
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* Signals to itself work (abort, raise); to others, not even a probe. */
static int child_signals(void *arg)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	(void)arg;
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		return 10;
	if (raise(SIGUSR1) != 0 || !got_usr1)
		return 11;
	if (failed_with(kill(getppid(), 0), EPERM) != 0)
		return 12;
	if (failed_with(kill(0, 0), EPERM) != 0)
		return 13;
	return 0;
}

/* io_uring would run connect and openat where seccomp cannot see them. */
static int child_io_uring(void *arg)
{
	char params[120] = { 0 };

	(void)arg;
#ifdef SYS_io_uring_setup
	return failed_with(syscall(SYS_io_uring_setup, 1, params), EPERM);
#else
	(void)params;
	return 0;
#endif
}

/* TIOCSTI with junk in the high half of the request is still refused
 * (EPERM, where an unfiltered call on a socket says ENOTTY). */
static int child_tiocsti(void *arg)
{
	char c = 'x';
	int sv[2];

	(void)arg;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 10;
	if (failed_with(syscall(SYS_ioctl, sv[0], (1UL << 32) | TIOCSTI, &c), EPERM) != 0)
		return 11;
	return failed_with(ioctl(sv[0], TIOCSTI, &c), EPERM);
}

static void test_execve_kills(void **state)
{
	(void)state;
	assert_child_killed(run_sandboxed(child_execve, NULL));
}

static void test_fork_refused(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_fork, NULL));
}

static void test_ptrace_kills(void **state)
{
	(void)state;
	assert_child_killed(run_sandboxed(child_ptrace, NULL));
}

static void test_process_vm_readv_kills(void **state)
{
	(void)state;
	assert_child_killed(run_sandboxed(child_process_vm_readv, NULL));
}

static void test_dumpable_stays_off(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_dumpable, NULL));
}

static void test_signals_only_to_self(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_signals, NULL));
}

static void test_io_uring_refused(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_io_uring, NULL));
}

static void test_tiocsti_refused(void **state)
{
	(void)state;
	assert_child_ok(run_sandboxed(child_tiocsti, NULL));
}

#if defined(__x86_64__)
/* The x32 ABI shares x86-64's audit architecture: socket() numbered with
 * __X32_SYSCALL_BIT must not walk past the rules keyed on x86-64 numbers. */
static int child_x32(void *arg)
{
	(void)arg;
	syscall(0x40000000L | 41 /* x32 socket */, AF_INET, SOCK_STREAM, 0);
	return 10;
}

static void test_x32_abi_kills(void **state)
{
	(void)state;
	assert_child_killed(run_sandboxed(child_x32, NULL));
}
#endif

/* ------------------------------------------------------------------ main */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dirfd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->dirfd);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yara_works),
		cmocka_unit_test(test_socket_inet_refused),
		cmocka_unit_test(test_socket_inet6_refused),
		cmocka_unit_test(test_socket_other_families_refused),
		cmocka_unit_test_setup_teardown(test_unix_connect_refused, setup, teardown),
		cmocka_unit_test(test_socketpair_and_scm_rights_work),
		cmocka_unit_test_setup_teardown(test_tmpfile_works, setup, teardown),
		cmocka_unit_test(test_mmap_works),
		cmocka_unit_test(test_thread_works),
		cmocka_unit_test(test_existing_thread_confined),
		cmocka_unit_test(test_execve_kills),
		cmocka_unit_test(test_fork_refused),
		cmocka_unit_test(test_ptrace_kills),
		cmocka_unit_test(test_process_vm_readv_kills),
		cmocka_unit_test(test_dumpable_stays_off),
		cmocka_unit_test(test_signals_only_to_self),
		cmocka_unit_test(test_io_uring_refused),
		cmocka_unit_test(test_tiocsti_refused),
#if defined(__x86_64__)
		cmocka_unit_test(test_x32_abi_kills),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
