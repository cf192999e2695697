/* Unit tests for common/syslog_fmt.c and common/syslog_fwd.c: the target
 * grammar, PARAM-NAME mapping, RFC 5424 formatting and escaping (parsed
 * back), truncation at the bound, severities, and the queue: drops are
 * counted when full, and after a reconnect the queued events and a report
 * of the drops arrive octet-counted on a real local TCP socket. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fwgate/event.h"
#include "fwgate/metrics.h"
#include "fwgate/syslog_fwd.h"
#include "testutil.h"

static void test_target_parse(void **state)
{
	static const struct {
		const char *text;
		enum fw_syslog_proto proto;
		const char *host;
		bool ip;
		unsigned port;
	} good[] = {
		{ "udp://127.0.0.1:514", FW_SYSLOG_UDP, "127.0.0.1", true, 514 },
		{ "tcp://SIEM.Example.org:6514", FW_SYSLOG_TCP, "siem.example.org", false, 6514 },
		{ "tls://[::1]:6514", FW_SYSLOG_TLS, "::1", true, 6514 },
		{ "tls://[2001:db8::7]:1", FW_SYSLOG_TLS, "2001:db8::7", true, 1 },
		{ "tcp://collector:65535", FW_SYSLOG_TCP, "collector", false, 65535 },
	};
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{ "", "does not start with udp://, tcp:// or tls://" },
		{ "syslog://h:514", "does not start with udp://, tcp:// or tls://" },
		{ "TCP://h:514", "does not start with" },
		{ "tcp://h", "has no :PORT" },
		{ "tcp://:514", "has no host" },
		{ "tcp://h:0", "the port must be a number from 1 to 65535" },
		{ "tcp://h:65536", "the port must be a number from 1 to 65535" },
		{ "tcp://h:0514", "the port must be a number" },
		{ "tcp://h:+514", "the port must be a number" },
		{ "tcp://h:514/path", "the port must be a number" },
		{ "tcp://h:514 ", "the port must be a number" },
		{ "tcp://::1:514", "an IPv6 address is written [ADDRESS]:PORT" },
		{ "tcp://[::1]514", "an IPv6 address is written [ADDRESS]:PORT" },
		{ "tcp://[fe80::1%eth0]:514", "is not an IPv6 address" },
		{ "tcp://[]:514", "not an IPv6 address in brackets" },
		{ "tcp://127.1:514", "is not an IPv4 address" },
		{ "tcp://256.0.0.1:514", "is not an IPv4 address" },
		{ "tcp://user@h:514", "is not a host name or IP address" },
		{ "tcp://bad_host:514", "is not a host name or IP address" },
		{ "tcp://0x7f000001:514", "is not a host name or IP address" },
	};
	char longer[400];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct fw_syslog_target t;
		struct fw_err err;

		fw_err_clear(&err);
		assert_int_equal(fw_syslog_target_parse(good[i].text, &t, &err), 0);
		assert_int_equal(t.proto, good[i].proto);
		assert_string_equal(t.host, good[i].host);
		assert_int_equal(t.host_is_ip, good[i].ip);
		assert_int_equal(t.port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fw_syslog_target t;
		struct fw_err err;

		fw_err_clear(&err);
		assert_int_equal(fw_syslog_target_parse(bad[i].text, &t, &err), -1);
		if (strstr(fw_err_msg(&err), bad[i].why) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].text, fw_err_msg(&err), bad[i].why);
		assert_int_equal(t.port, 0); /* cleared on entry */
	}
	memset(longer, 'a', sizeof(longer) - 1);
	memcpy(longer, "tcp://", 6);
	longer[sizeof(longer) - 1] = '\0';
	{
		struct fw_syslog_target t;
		struct fw_err err;

		fw_err_clear(&err);
		assert_int_equal(fw_syslog_target_parse(longer, &t, &err), -1);
		assert_int_equal(fw_err_code(&err), FW_E_LIMIT);
	}
}

static void test_param_name(void **state)
{
	char out[FW_SYSLOG_NAME_MAX + 1], a[FW_SYSLOG_NAME_MAX + 1], b[FW_SYSLOG_NAME_MAX + 1];
	const char *l1 = "fwgate.a.very.long.field.name.number.one";
	const char *l2 = "fwgate.a.very.long.field.name.number.two";

	(void)state;
	assert_int_equal(fw_syslog_param_name("event.action", out), 12);
	assert_string_equal(out, "event.action");
	fw_syslog_param_name("@timestamp", out);
	assert_string_equal(out, "@timestamp");
	fw_syslog_param_name("a b=c]d\"e\x01\xc3\xa9", out);
	assert_string_equal(out, "a_b_c_d_e___");
	assert_int_equal(fw_syslog_param_name("", out), 1);
	assert_string_equal(out, "_");
	/* Exactly 32 stays as it is; 33 is hashed. */
	fw_syslog_param_name("abcdefghijklmnopqrstuvwxyz012345", out);
	assert_string_equal(out, "abcdefghijklmnopqrstuvwxyz012345");
	assert_int_equal(fw_syslog_param_name(l1, a), 32);
	assert_int_equal(fw_syslog_param_name(l2, b), 32);
	assert_memory_equal(a, l1, 23);
	assert_int_equal(a[23], '~');
	assert_string_not_equal(a, b);
	/* Deterministic: the same name maps the same way every time. */
	fw_syslog_param_name(l1, out);
	assert_string_equal(out, a);
	/* FNV-1a 32 of "abcdefghijklmnopqrstuvwxyz0123456" */
	fw_syslog_param_name("abcdefghijklmnopqrstuvwxyz0123456", out);
	assert_memory_equal(out, "abcdefghijklmnopqrstuvw~", 24);
	for (size_t i = 24; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", out[i]));
}

static void test_severity(void **state)
{
	(void)state;
	assert_int_equal(fw_syslog_severity(FW_OUTCOME_FAILURE, false), LOG_WARNING);
	assert_int_equal(fw_syslog_severity(FW_OUTCOME_SUCCESS, false), LOG_INFO);
	assert_int_equal(fw_syslog_severity(FW_OUTCOME_UNKNOWN, false), LOG_INFO);
	assert_int_equal(fw_syslog_severity(FW_OUTCOME_FAILURE, true), LOG_ERR);
	assert_int_equal(fw_syslog_severity(FW_OUTCOME_SUCCESS, true), LOG_NOTICE);
}

/* Reads one SD-PARAM value starting after '"', undoing the RFC 5424
 * escapes; returns the position after the closing '"'. */
static const char *sd_value(const char *p, const char *end, char *out, size_t out_len)
{
	size_t n = 0;

	while (p < end && *p != '"') {
		if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\' || p[1] == ']'))
			p++;
		assert_true(n + 1 < out_len);
		out[n++] = *p++;
	}
	assert_true(p < end);
	out[n] = '\0';
	return p + 1;
}

/* Parses "[SDID name="v" ...]" at p into obj (names as written). */
static const char *sd_parse(const char *p, const char *end, json_t *obj)
{
	assert_true(strncmp(p, "[" FW_SYSLOG_SD_ID, strlen(FW_SYSLOG_SD_ID) + 1) == 0);
	p += strlen(FW_SYSLOG_SD_ID) + 1;
	while (p < end && *p == ' ') {
		char name[64], *value = malloc(65536);
		const char *eq = memchr(p, '=', (size_t)(end - p));

		TU_NONNULL(value);
		assert_non_null(eq);
		assert_true((size_t)(eq - p - 1) < sizeof(name));
		memcpy(name, p + 1, (size_t)(eq - p - 1));
		name[eq - p - 1] = '\0';
		assert_int_equal(eq[1], '"');
		p = sd_value(eq + 2, end, value, 65536);
		json_object_set_new(obj, name, json_string(value));
		free(value);
	}
	assert_int_equal(*p, ']');
	return p + 1;
}

/* The message as a C string: fw_syslog_format's output has no NUL, and
 * strndup may look one byte past it. */
static char *dup_bytes(const char *p, size_t len)
{
	char *s = malloc(len + 1);

	if (s != NULL) {
		memcpy(s, p, len);
		s[len] = '\0';
	}
	return s;
}

static void test_format(void **state)
{
	const char *line = "{\"@timestamp\":\"2025-12-05T00:00:00.123Z\",\"event.action\":\"download-blocked\","
			   "\"event.outcome\":\"failure\",\"url.full\":\"https://v.example/a]b\\\"c\\\\d\","
			   "\"fwgate.reason\":\"line\\none \\u00e9\",\"http.response.status_code\":403}\n";
	const struct fw_syslog_header h = {
		.facility = LOG_LOCAL3, .severity = LOG_WARNING, .time_us = 1764892800123456LL,
		.hostname = "gw 1", .pid = 42, .profile = "siem_high_priority",
	};
	const char *want_head = "<156>1 2025-12-05T00:00:00.123456Z gw_1 fwgate 42 download-blocked [";
	json_t *sd = json_object(), *ev;
	struct fw_err err;
	char *msg = NULL, *copy;
	size_t len;
	const char *p, *end;

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(fw_syslog_format(&h, line, strlen(line), FW_SYSLOG_UDP_MAX, &msg, &len, &err), 0);
	TU_NONNULL(msg);
	end = msg + len;
	assert_memory_equal(msg, want_head, strlen(want_head));
	/* The escapes as RFC 5424 6.3.3 writes them, and no raw newline. */
	copy = dup_bytes(msg, len);
	TU_NONNULL(copy);
	assert_non_null(strstr(copy, "url.full=\"https://v.example/a\\]b\\\"c\\\\d\""));
	assert_non_null(strstr(copy, "fwgate.reason=\"line\xef\xbf\xbdone \xc3\xa9\""));
	assert_non_null(strstr(copy, "http.response.status_code=\"403\""));
	assert_non_null(strstr(copy, "profile=\"siem_high_priority\""));
	assert_null(strstr(copy, "truncated="));
	assert_null(memchr(msg, '\n', len));
	free(copy);
	/* Parsed back, every field of the event is in the SD with its value. */
	p = sd_parse(msg + strlen(want_head) - 1, end, sd);
	assert_memory_equal(p, " \xef\xbb\xbf{", 5);
	ev = json_loadb(p + 4, (size_t)(end - p - 4), 0, NULL);
	assert_non_null(ev);
	assert_int_equal((size_t)(end - p - 4), strlen(line) - 1); /* MSG is the line without '\n' */
	assert_string_equal(json_string_value(json_object_get(sd, "event.action")), "download-blocked");
	assert_string_equal(json_string_value(json_object_get(sd, "url.full")),
			    json_string_value(json_object_get(ev, "url.full")));
	assert_string_equal(json_string_value(json_object_get(sd, "@timestamp")), "2025-12-05T00:00:00.123Z");
	assert_int_equal(json_object_size(sd), json_object_size(ev) + 1); /* + profile */
	json_decref(sd);
	json_decref(ev);
	free(msg);

	/* Not JSON, or no room: refused. */
	assert_int_equal(fw_syslog_format(&h, "nope", 4, 2048, &msg, &len, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	assert_null(msg);
	fw_err_clear(&err);
	assert_int_equal(fw_syslog_format(&h, line, strlen(line), 512, &msg, &len, &err), -1);
}

/* A line with n fields of field_len bytes each. */
static char *big_line(unsigned n, size_t field_len)
{
	json_t *o = json_object();
	char *v = malloc(field_len + 1), *out;

	TU_NONNULL(v);
	memset(v, 'x', field_len);
	v[field_len] = '\0';
	json_object_set_new(o, "event.action", json_string("download-allowed"));
	json_object_set_new(o, "event.outcome", json_string("success"));
	for (unsigned i = 0; i < n; i++) {
		char k[32];

		snprintf(k, sizeof(k), "fwgate.f%u", i);
		json_object_set_new(o, k, json_string(v));
	}
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	free(v);
	return out;
}

static void test_truncation(void **state)
{
	const struct fw_syslog_header h = { .facility = LOG_DAEMON, .severity = LOG_INFO, .time_us = 0, .pid = 1 };
	struct fw_err err;
	char *line, *msg = NULL, *copy;
	size_t len;

	(void)state;
	fw_err_clear(&err);
	/* One long field: the SD is whole, MSG cut and marked. */
	line = big_line(1, 1500);
	TU_NONNULL(line);
	assert_int_equal(fw_syslog_format(&h, line, strlen(line), 2048, &msg, &len, &err), 0);
	assert_true(len <= 2048);
	copy = dup_bytes(msg, len);
	TU_NONNULL(copy);
	assert_non_null(strstr(copy, "truncated=\"true\""));
	assert_non_null(strstr(copy, "fwgate.f0=\"xxx"));
	assert_memory_equal(msg + len - 8, "...[cut]", 8);
	assert_memory_equal(copy, "<30>1 1970-01-01T00:00:00.000000Z - fwgate 1 download-allowed [", 63);
	free(copy);
	free(msg);
	free(line);
	/* Fields that alone overflow the bound: only the core is kept. */
	line = big_line(4, 1500);
	TU_NONNULL(line);
	assert_int_equal(fw_syslog_format(&h, line, strlen(line), 2048, &msg, &len, &err), 0);
	assert_true(len <= 2048);
	copy = dup_bytes(msg, len);
	TU_NONNULL(copy);
	assert_non_null(strstr(copy, "[" FW_SYSLOG_SD_ID " event.action=\"download-allowed\" event.outcome=\"success\" "
				     "truncated=\"true\"] \xef\xbb\xbf{"));
	assert_null(strstr(copy, "fwgate.f0=\""));
	free(copy);
	free(msg);
	/* The stream bound keeps it whole. */
	assert_int_equal(fw_syslog_format(&h, line, strlen(line), FW_SYSLOG_STREAM_MAX, &msg, &len, &err), 0);
	copy = dup_bytes(msg, len);
	TU_NONNULL(copy);
	assert_null(strstr(copy, "truncated="));
	assert_memory_equal(msg + len - 2, "\"}", 2);
	free(copy);
	free(msg);
	free(line);
}

/* A TCP port on 127.0.0.1 that is bound but not listening: connects are
 * refused until listen(). */
static int bound_socket(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* What the forwarder reported: errors are counted, a drop report is
 * queued like the event log would. */
struct reports {
	struct fw_syslog_fwd **f;
	int errors, dropped;
};

static void on_report(void *arg, const struct fw_event *ev)
{
	struct reports *r = arg;
	size_t len;
	char *line;

	if (strcmp(ev->action, "fwgate-syslog-error") == 0) {
		__atomic_add_fetch(&r->errors, 1, __ATOMIC_SEQ_CST);
		return;
	}
	__atomic_add_fetch(&r->dropped, 1, __ATOMIC_SEQ_CST);
	line = fw_event_format(ev, &len);
	if (line != NULL)
		(void)fw_syslog_fwd_push(*r->f, ev->outcome, line, len);
	free(line);
}

static struct fw_syslog_opts tcp_opts(uint16_t port, unsigned queue_max, struct reports *r)
{
	struct fw_syslog_opts o = { 0 };
	struct fw_err err;
	char t[64];

	snprintf(t, sizeof(t), "tcp://127.0.0.1:%u", (unsigned)port);
	fw_err_clear(&err);
	assert_int_equal(fw_syslog_target_parse(t, &o.target, &err), 0);
	o.queue_max = queue_max;
	o.timeout_seconds = 5;
	o.facility = LOG_DAEMON;
	o.profile = "default";
	o.report = on_report;
	o.report_arg = r;
	return o;
}

static void push_event(struct fw_syslog_fwd *f, const char *action)
{
	const struct fw_event ev = { .action = action, .outcome = FW_OUTCOME_SUCCESS, .reason = "unit" };
	size_t len;
	char *line = fw_event_format(&ev, &len);

	TU_NONNULL(line);
	(void)fw_syslog_fwd_push(f, ev.outcome, line, len);
	free(line);
}

static void test_queue_drops(void **state)
{
	uint16_t port;
	int fd = bound_socket(&port);
	struct fw_syslog_fwd *f = NULL;
	struct reports r = { .f = &f };
	struct fw_syslog_opts o = tcp_opts(port, 3, &r);
	struct fw_syslog_stats st;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(fw_syslog_fwd_new(&f, &o, &err), 0);
	TU_NONNULL(f);
	for (int i = 0; i < 5; i++)
		push_event(f, "download-allowed");
	fw_syslog_fwd_stats(f, &st);
	/* Nothing is sent to a refused port; the queue holds three; the
	 * rest are dropped and counted, whatever the sender does meanwhile. */
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.sent, 0);
	fw_syslog_fwd_free(f);
	close(fd);
	/* A queue out of bounds is refused. */
	o.queue_max = FW_SYSLOG_QUEUE_MAX + 1;
	assert_int_equal(fw_syslog_fwd_new(&f, &o, &err), -1);
	assert_null(f);
}

/* Reads one octet-counted frame (RFC 6587 3.4.1) within 15 s. */
static char *read_frame(int fd, size_t *len)
{
	char num[16];
	size_t n = 0, want, got = 0;
	char *msg;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		assert_int_equal(poll(&p, 1, 15000), 1);
		assert_true(n < sizeof(num) - 1);
		assert_int_equal(read(fd, num + n, 1), 1);
		if (num[n] == ' ')
			break;
		assert_true(num[n] >= '0' && num[n] <= '9');
		n++;
	}
	num[n] = '\0';
	want = strtoul(num, NULL, 10);
	assert_true(want > 0 && want <= FW_SYSLOG_STREAM_MAX);
	msg = malloc(want + 1);
	TU_NONNULL(msg);
	while (got < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&p, 1, 15000), 1);
		r = read(fd, msg + got, want - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	msg[want] = '\0';
	*len = want;
	return msg;
}

static void test_reconnect_reports_drops(void **state)
{
	uint16_t port;
	int lfd = bound_socket(&port), cfd;
	struct fw_syslog_fwd *f = NULL;
	struct reports r = { .f = &f };
	struct fw_syslog_opts o = tcp_opts(port, 2, &r);
	struct fw_syslog_stats st;
	struct fw_err err;
	const char *want[] = { "event.action=\"first\"", "event.action=\"second\"",
			       "event.action=\"fwgate-syslog-dropped\"" };
	char *metrics = NULL;
	size_t mlen;

	(void)state;
	fw_metrics_reset();
	fw_err_clear(&err);
	assert_int_equal(fw_syslog_fwd_new(&f, &o, &err), 0);
	TU_NONNULL(f);
	push_event(f, "first");
	push_event(f, "second");
	push_event(f, "third");
	push_event(f, "fourth");
	/* The refused connect is told (polled, at most 10 s) ... */
	for (int i = 0; i < 1000 && __atomic_load_n(&r.errors, __ATOMIC_SEQ_CST) == 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	assert_int_equal(__atomic_load_n(&r.errors, __ATOMIC_SEQ_CST), 1);
	/* ... then the collector comes up: the back-off's next attempt connects. */
	assert_int_equal(listen(lfd, 4), 0);
	{
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		assert_int_equal(poll(&p, 1, 15000), 1);
	}
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		char *msg = read_frame(cfd, &len);

		if (strstr(msg, want[i]) == NULL)
			fail_msg("frame %zu: %s has no %s", i, msg, want[i]);
		if (i < 2)
			assert_memory_equal(msg, "<30>1 ", 6); /* daemon.info */
		else {
			assert_non_null(strstr(msg, "fwgate.syslog.dropped=\"2\""));
			assert_memory_equal(msg, "<28>1 ", 6); /* a failure: warning */
		}
		free(msg);
	}
	fw_syslog_fwd_stats(f, &st);
	assert_int_equal(st.dropped, 2);
	assert_true(st.connects >= 1);
	assert_int_equal(__atomic_load_n(&r.dropped, __ATOMIC_SEQ_CST), 1); /* one report */
	assert_int_equal(fw_metrics_text(NULL, &metrics, &mlen, &err), 0);
	assert_non_null(strstr(metrics, "fwgate_syslog_messages_total{result=\"dropped\"} 2\n"));
	free(metrics);
	fw_syslog_fwd_free(f);
	close(cfd);
	close(lfd);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A collector that accepts but never reads: the sender stalls in a send
 * with a 60 s timeout; pushes still return at once, and close gives up
 * after its flush time (well under the send timeout), counting what is
 * left as dropped. */
static void test_close_is_bounded(void **state)
{
	uint16_t port;
	int lfd = bound_socket(&port), small = 4096;
	struct fw_syslog_fwd *f = NULL;
	struct reports r = { .f = &f };
	struct fw_syslog_opts o = tcp_opts(port, 4000, &r);
	struct fw_syslog_stats st;
	struct fw_err err;
	char *info_text = NULL, *reason = malloc(3001);
	size_t info_len = 0;
	FILE *info = open_memstream(&info_text, &info_len);
	int64_t t0;

	(void)state;
	TU_NONNULL(reason);
	TU_NONNULL(info);
	memset(reason, 'r', 3000);
	reason[3000] = '\0';
	assert_int_equal(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	o.timeout_seconds = 60;
	o.info = info;
	fw_err_clear(&err);
	assert_int_equal(fw_syslog_fwd_new(&f, &o, &err), 0);
	TU_NONNULL(f);
	for (int i = 0; i < 4000; i++) {
		const struct fw_event ev = { .action = "download-allowed", .outcome = FW_OUTCOME_SUCCESS, .reason = reason };
		size_t len;
		char *line = fw_event_format(&ev, &len);

		TU_NONNULL(line);
		(void)fw_syslog_fwd_push(f, ev.outcome, line, len);
		free(line);
	}
	/* The sender has filled the socket and waits on it (polled, 20 s). */
	for (int i = 0; i < 2000; i++) {
		fw_syslog_fwd_stats(f, &st);
		if (st.connected && st.sent > 0 && st.queued > 0)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	assert_true(st.connected);
	assert_true(st.queued > 0);
	t0 = now_ms();
	fw_syslog_fwd_free(f);
	/* 2 s of flush; 15 s is generous on a loaded machine and far below
	 * the 60 s a send may take. */
	assert_true(now_ms() - t0 < 15000);
	fclose(info);
	TU_NONNULL(info_text);
	assert_non_null(strstr(info_text, "still queued at close were dropped"));
	free(info_text);
	free(reason);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_parse),
		cmocka_unit_test(test_param_name),
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_queue_drops),
		cmocka_unit_test(test_reconnect_reports_drops),
		cmocka_unit_test(test_close_is_bounded),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
