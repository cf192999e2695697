/* Unit tests for cli/run_notify.c, with this test as systemd: a UNIX
 * datagram socket in NOTIFY_SOCKET. The words of READY, RELOADING,
 * STOPPING; the watchdog pings without condition before READY, then only
 * while the probe says healthy, and says once why it withholds them;
 * nothing at all without NOTIFY_SOCKET. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/run_notify.h"
#include "testutil.h"

static char dir[1024], sock_path[1100];
static int sock = -1;
static atomic_bool healthy;

static bool probe(void *arg, char *why, size_t len)
{
	(void)arg;
	snprintf(why, len, "%s", "the test says so");
	return atomic_load(&healthy);
}

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/notify", dir);
	assert_true(strlen(sock_path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(sock >= 0);
	assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(sock);
	unlink(sock_path);
	tu_rmtree(dir);
	return 0;
}

/* The next datagram within ms into buf; false when none came. */
static bool next_msg(char *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return false;
	n = recv(sock, buf, len - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	return true;
}

/* Reads datagrams for ms; counts WATCHDOG=1 and those starting with head. */
static unsigned count_for(int ms, const char *head, unsigned *heads)
{
	char buf[1024];
	unsigned pings = 0;

	*heads = 0;
	for (int waited = 0; waited < ms; waited += 50) {
		while (next_msg(buf, sizeof(buf), 0)) {
			pings += strcmp(buf, "WATCHDOG=1") == 0;
			*heads += head != NULL && strncmp(buf, head, strlen(head)) == 0;
		}
		usleep(50 * 1000);
	}
	return pings;
}

static void drain(void)
{
	char buf[1024];

	while (next_msg(buf, sizeof(buf), 0))
		;
}

static void test_messages(void **state)
{
	struct run_notify *n = NULL;
	struct fw_err err;
	char buf[1024];

	(void)state;
	setenv("NOTIFY_SOCKET", sock_path, 1);
	unsetenv("WATCHDOG_USEC");
	fw_err_clear(&err);
	assert_int_equal(run_notify_start(&n, probe, NULL, &err), 0);
	TU_NONNULL(n);
	run_notify_ready(n, "serving on 127.0.0.1:3128\nforged=1");
	assert_true(next_msg(buf, sizeof(buf), 1000));
	/* A newline in the status cannot start another assignment. */
	assert_string_equal(buf, "READY=1\nSTATUS=serving on 127.0.0.1:3128 forged=1");
	run_notify_reloading(n, "reloading");
	assert_true(next_msg(buf, sizeof(buf), 1000));
	assert_true(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	assert_non_null(strstr(buf, "\nSTATUS=reloading"));
	assert_true(strtoull(buf + 27, NULL, 10) > 0);
	run_notify_stopping(n, "stopping (SIGTERM)");
	assert_true(next_msg(buf, sizeof(buf), 1000));
	assert_string_equal(buf, "STOPPING=1\nSTATUS=stopping (SIGTERM)");
	run_notify_status(n, "plain");
	assert_true(next_msg(buf, sizeof(buf), 1000));
	assert_string_equal(buf, "STATUS=plain");
	/* No watchdog asked for: no ping. */
	assert_false(next_msg(buf, sizeof(buf), 300));
	run_notify_stop(n);
}

static void test_watchdog(void **state)
{
	struct run_notify *n = NULL;
	struct fw_err err;
	char pid[32];
	unsigned pings, heads, before;

	(void)state;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("NOTIFY_SOCKET", sock_path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	atomic_store(&healthy, false);
	fw_err_clear(&err);
	assert_int_equal(run_notify_start(&n, probe, NULL, &err), 0);
	TU_NONNULL(n);
	/* Before READY: pings every 100 ms whatever the probe says. */
	pings = count_for(600, NULL, &heads);
	assert_true(pings >= 3);
	run_notify_ready(n, "ready");
	/* A ping decided just before READY may still arrive: one interval
	 * and a half is let pass first. Unhealthy after READY: no ping, one
	 * STATUS saying why. */
	count_for(150, "STATUS=unhealthy, watchdog pings withheld: the test says so", &before);
	pings = count_for(600, "STATUS=unhealthy, watchdog pings withheld: the test says so", &heads);
	assert_int_equal(pings, 0);
	assert_int_equal(before + heads, 1);
	atomic_store(&healthy, true);
	pings = count_for(600, "STATUS=healthy again", &heads);
	assert_true(pings >= 3);
	assert_int_equal(heads, 1);
	run_notify_stop(n);
	/* WATCHDOG_PID of another process: not our watchdog. */
	setenv("WATCHDOG_PID", "1", 1);
	assert_int_equal(run_notify_start(&n, probe, NULL, &err), 0);
	drain();
	assert_int_equal(count_for(400, NULL, &heads), 0);
	run_notify_stop(n);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* Outside systemd: nothing is sent, even with WATCHDOG_USEC set. */
static void test_outside_systemd(void **state)
{
	struct run_notify *n = NULL;
	struct fw_err err;
	char pid[32], buf[256];

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_USEC", "200000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	fw_err_clear(&err);
	assert_int_equal(run_notify_start(&n, probe, NULL, &err), 0);
	run_notify_ready(n, "ready");
	run_notify_stopping(n, "stopping");
	assert_false(next_msg(buf, sizeof(buf), 300));
	run_notify_stop(n);
	run_notify_stop(NULL);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_outside_systemd),
	};

	return cmocka_run_group_tests_name("run_notify", tests, setup, teardown);
}
