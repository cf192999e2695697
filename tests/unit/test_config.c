/* Unit tests for common/config.c: defaults, the documented example, and
 * refusals of bad files with their exact file:line and message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "fwgate/cidr.h"
#include "fwgate/config.h"
#include "testutil.h"

static char dir[1024];

static int setup(void **state)
{
	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	return 0;
}

/* Loads text as a config file; returns the rc, message in err. */
static int load_text(const char *text, struct fw_config *cfg, struct fw_err *err, char *path, size_t len)
{
	tu_write(dir, "t.conf", text, strlen(text), path, len);
	fw_err_clear(err);
	return fw_config_load(cfg, path, err);
}

static char *dump(const struct fw_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fw_config_dump(cfg, f);
	assert_int_equal(fclose(f), 0);
	/* Callers skip the first line, which names the source. */
	assert_non_null(buf);
	assert_non_null(strchr(buf, '\n'));
	return buf;
}

static void test_defaults(void **state)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	char a[64];

	(void)state;
	assert_non_null(cfg);
	fw_config_default(cfg);
	assert_int_equal(cfg->proxy.n_listen, 1);
	assert_string_equal(fw_listen_addr_str(&cfg->proxy.listen[0], a, sizeof(a)), "127.0.0.1:3128");
	assert_string_equal(fw_listen_addr_str(&cfg->console.listen, a, sizeof(a)), "127.0.0.1:8443");
	assert_string_equal(cfg->state.dir, "./fwgate-state");
	assert_string_equal(cfg->policy.rule, "firmware_update");
	assert_string_equal(cfg->policy.file, "");
	assert_false(cfg->upstream.allow_private);
	assert_int_equal(cfg->upstream.max_body_bytes, 16ULL << 30);
	assert_int_equal(cfg->sandbox.backend, FW_SANDBOX_LOCAL);
	assert_int_equal(cfg->sandbox.hold_seconds, 30);
	assert_int_equal(cfg->scanner.n_signatures, 0);
	assert_true(cfg->scanner.watch_signatures);
	assert_int_equal(cfg->scanner.reload_debounce_seconds, 5);
	assert_int_equal(cfg->scanner.max_signature_age_hours, 168);
	assert_int_equal(cfg->log.syslog_facility, LOG_DAEMON);
	free(cfg);
}

/* etc/fwgate.conf.example documents every key with its default: loading
 * it must give exactly the embedded default. */
static void test_example_is_default(void **state)
{
	struct fw_config *def = calloc(1, sizeof(*def)), *ex = calloc(1, sizeof(*ex));
	struct fw_err err;
	char *a, *b;

	(void)state;
	assert_non_null(def);
	assert_non_null(ex);
	fw_err_clear(&err);
	fw_config_default(def);
	if (fw_config_load(ex, FW_SOURCE_ROOT "/etc/fwgate.conf.example", &err) != 0)
		fail_msg("%s", fw_err_msg(&err));
	/* The example's state dir is relative to etc/; compare the rest. */
	memcpy(ex->state.dir, def->state.dir, sizeof(def->state.dir));
	a = dump(def);
	b = dump(ex);
	assert_string_equal(strchr(a, '\n'), strchr(b, '\n'));
	free(a);
	free(b);
	free(def);
	free(ex);
}

static void test_full_config(void **state)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	char path[2048], pol[2048], sig[2048], expect[2048], a[64];
	struct fw_err err;
	char *text;

	(void)state;
	assert_non_null(cfg);
	tu_write(dir, "p.json", "{}", 2, pol, sizeof(pol));
	snprintf(sig, sizeof(sig), "%s", dir);
	assert_true(asprintf(&text,
		"# comment\n"
		"[proxy]\n"
		"listen = 0.0.0.0:3128\n"
		"listen = [::1]:3129\n"
		"max_head_bytes = 64KiB ; inline comment\n"
		"[policy]\n"
		"file = p.json\n"
		"rule = my_rule\n"
		"[upstream]\n"
		"resolve = vendor.example:443:127.0.0.1\n"
		"resolve = v6.example:8443:[::1]\n"
		"allow_private = yes\n"
		"proxy = http://egress.example:3128\n"
		"max_body_bytes = 2G\n"
		"[scanner]\n"
		"signatures = %s\n"
		"workers = 4\n"
		"[sandbox]\n"
		"backend = cape\n"
		"url = https://cape.example/apiv2/\n"
		"[log]\n"
		"file = -\n"
		"syslog = on\n"
		"syslog_facility = local3\n"
		"syslog_target = tls://[::1]:6514\n"
		"syslog_queue = 50\n", sig) > 0);
	if (load_text(text, cfg, &err, path, sizeof(path)) != 0)
		fail_msg("%s", fw_err_msg(&err));
	assert_int_equal(cfg->proxy.n_listen, 2);
	assert_string_equal(fw_listen_addr_str(&cfg->proxy.listen[1], a, sizeof(a)), "[::1]:3129");
	assert_true(cfg->proxy.listen[1].ipv6);
	assert_int_equal(cfg->proxy.max_head_bytes, 64 * 1024);
	/* Relative paths are taken from the config file's directory. */
	snprintf(expect, sizeof(expect), "%s/p.json", dir);
	assert_string_equal(cfg->policy.file, expect);
	assert_string_equal(cfg->policy.rule, "my_rule");
	assert_int_equal(cfg->upstream.n_resolve, 2);
	assert_string_equal(cfg->upstream.resolve[1].host, "v6.example");
	assert_int_equal(cfg->upstream.resolve[1].port, 8443);
	assert_string_equal(cfg->upstream.resolve[1].ip, "::1");
	assert_true(cfg->upstream.allow_private);
	assert_int_equal(cfg->upstream.max_body_bytes, 2ULL << 30);
	assert_int_equal(cfg->scanner.n_signatures, 1);
	assert_int_equal(cfg->scanner.workers, 4);
	assert_int_equal(cfg->sandbox.backend, FW_SANDBOX_CAPE);
	assert_string_equal(cfg->log.file, "-");
	assert_true(cfg->log.syslog);
	assert_int_equal(cfg->log.syslog_facility, LOG_LOCAL3);
	assert_string_equal(cfg->log.syslog_target, "tls://[::1]:6514");
	assert_int_equal(cfg->log.syslog_queue, 50);
	free(text);
	free(cfg);
}

/* The dump is a config fwgate reads back to the same values. */
static void test_dump_round_trip(void **state)
{
	struct fw_config *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char path[2048];
	struct fw_err err;
	char *da, *db;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	fw_config_default(a);
	a->upstream.n_resolve = 1;
	snprintf(a->upstream.resolve[0].host, sizeof(a->upstream.resolve[0].host), "h.example");
	a->upstream.resolve[0].port = 443;
	snprintf(a->upstream.resolve[0].ip, sizeof(a->upstream.resolve[0].ip), "127.0.0.2");
	snprintf(a->state.dir, sizeof(a->state.dir), "/var/lib/fwgate");
	snprintf(a->log.syslog_target, sizeof(a->log.syslog_target), "udp://siem.example:514");
	da = dump(a);
	if (load_text(strchr(da, '\n') + 1, b, &err, path, sizeof(path)) != 0)
		fail_msg("%s", fw_err_msg(&err));
	db = dump(b);
	assert_string_equal(strchr(da, '\n'), strchr(db, '\n'));
	free(da);
	free(db);
	free(a);
	free(b);
}

struct bad_case {
	const char *text;
	unsigned line; /* 0: the message has no line */
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "[run]\nuser = Root\n", 2, "[run] user: \"Root\" is not a user name ([a-z_][a-z0-9_-]*)" },
	{ "[run]\nuser = 1000\n", 2, "[run] user: \"1000\" is not a user name ([a-z_][a-z0-9_-]*)" },
	{ "[run]\nuser = -o\n", 2, "[run] user: \"-o\" is not a user name ([a-z_][a-z0-9_-]*)" },
	{ "[run]\nuser = ../x\n", 2, "[run] user: \"../x\" is not a user name ([a-z_][a-z0-9_-]*)" },
	{ "[run]\nuser = a$b\n", 2, "[run] user: \"a$b\" is not a user name ([a-z_][a-z0-9_-]*)" },
	{ "[run]\nuser = abcdefghijabcdefghijabcdefghijabc\n", 2, "[run] user: a user name has at most 32 characters" },
	{ "[run]\nuser = fwgate\nuser = nobody\n", 3, "[run] user: duplicate key (first set on line 2)" },
	{ "[proxyy]\nlisten = 127.0.0.1:1\n", 1, "unknown section [proxyy]" },
	{ "[proxy]\n[nope]\n", 2, "unknown section [nope]" },
	{ "[proxy]\nlisten_port = 1\n", 2, "[proxy] unknown key \"listen_port\"" },
	{ "[sandbox]\nrules_file = r.txt\n", 2, "[sandbox] rules_file was removed with its rule format: the analyzer now uses the YARA rules of [scanner] yara_rules (rewrite the rules in YARA)" },
	{ "listen = 127.0.0.1:1\n", 1, "key \"listen\" is outside any [section]" },
	{ "[proxy]\nmax_clients = abc\n", 2, "[proxy] max_clients: \"abc\" is not a whole number" },
	{ "[proxy]\nmax_clients = -5\n", 2, "[proxy] max_clients: \"-5\" is not a whole number" },
	{ "[proxy]\n\nmax_clients = 0\n", 3, "[proxy] max_clients: 0 is out of range (1 to 100000)" },
	{ "[proxy]\nmax_clients = 99999999999999999999999\n", 2,
	  "[proxy] max_clients: 99999999999999999999999 is out of range (1 to 100000)" },
	{ "[proxy]\nlisten = 127.0.0.1\n", 2,
	  "[proxy] listen: \"127.0.0.1\" is not an address (expected IPv4:port or [IPv6]:port)" },
	{ "[proxy]\nlisten = localhost:3128\n", 2,
	  "[proxy] listen: \"localhost:3128\" is not an address (expected IPv4:port or [IPv6]:port)" },
	{ "[console]\nlisten = 127.0.0.1:70000\n", 2,
	  "[console] listen: \"127.0.0.1:70000\": port \"70000\" is not a number from 1 to 65535" },
	{ "[console]\nlisten = 127.0.0.1:3128\n", 2, "[console] listen: same address as [proxy] listen" },
	{ "[proxy]\nmax_clients = 5\nmax_clients = 6\n", 3,
	  "[proxy] max_clients: duplicate key (first set on line 2)" },
	{ "[upstream]\nallow_private = maybe\n", 2,
	  "[upstream] allow_private: \"maybe\" is not a boolean (true or false)" },
	{ "[upstream]\nmax_body_bytes = 10X\n", 2,
	  "[upstream] max_body_bytes: \"10X\" is not a size (a number with an optional K, M, G or T suffix)" },
	{ "[upstream]\nmax_body_bytes = 2T\n", 2, "[upstream] max_body_bytes: 2T is out of range (1 to 1T)" },
	{ "[upstream]\nresolve = vendor.example:443\n", 2,
	  "[upstream] resolve: \"vendor.example:443\" is not host:port:address" },
	{ "[upstream]\nresolve = vendor.example:443:not-an-ip\n", 2,
	  "[upstream] resolve: \"vendor.example:443:not-an-ip\": \"not-an-ip\" is not an IP address" },
	{ "[upstream]\nresolve = -bad-.example:443:127.0.0.1\n", 2,
	  "[upstream] resolve: \"-bad-.example:443:127.0.0.1\": \"-bad-.example\" is not a host name" },
	{ "[upstream]\nproxy = ftp://egress.example/\n", 2,
	  "[upstream] proxy: \"ftp://egress.example/\": only http:// and https:// URLs are supported" },
	{ "[policy]\nfile = /nonexistent/fwgate/policy.json\n", 2,
	  "[policy] file: \"/nonexistent/fwgate/policy.json\": No such file or directory" },
	{ "[policy]\nrule = bad rule\n", 2,
	  "[policy] rule: \"bad rule\" is not an app_id (letters, digits, _ - .)" },
	{ "[scanner]\nsignatures = /nonexistent/sigs\n", 2,
	  "[scanner] signatures: \"/nonexistent/sigs\": No such file or directory" },
	{ "[sandbox]\nbackend = docker\n", 2,
	  "[sandbox] backend: \"docker\" is not a sandbox backend (local, cape or none)" },
	{ "[sandbox]\nsuspicious_score = 50\nmalicious_score = 40\n", 3,
	  "[sandbox] malicious_score (40) must be above suspicious_score (50)" },
	{ "[sandbox]\nbackend = cape\n", 2, "[sandbox] backend: cape needs [sandbox] url" },
	{ "[scanner]\nreload_debounce_seconds = 0\n", 2,
	  "[scanner] reload_debounce_seconds: 0 is out of range (1 to 3600)" },
	{ "[scanner]\nreload_debounce_seconds = 3601\n", 2,
	  "[scanner] reload_debounce_seconds: 3601 is out of range (1 to 3600)" },
	{ "[scanner]\nmax_signature_age_hours = 87601\n", 2,
	  "[scanner] max_signature_age_hours: 87601 is out of range (0 to 87600)" },
	{ "[scanner]\nwatch_signatures = sometimes\n", 2,
	  "[scanner] watch_signatures: \"sometimes\" is not a boolean (true or false)" },
	{ "[scanner]\ntimeout_seconds = 60\nmax_seconds = 60\n", 3,
	  "[scanner] max_seconds (60) must be below timeout_seconds (60)" },
	{ "[log]\nsyslog_facility = kern\n", 2,
	  "[log] syslog_facility: \"kern\" is not a syslog facility (daemon, user, auth, local0..local7)" },
	{ "[log]\nsyslog_target = syslog.example:514\n", 2,
	  "[log] syslog_target: \"syslog.example:514\" does not start with udp://, tcp:// or tls://" },
	{ "[log]\nsyslog_target = tcp://[::1]:99999\n", 2,
	  "[log] syslog_target: \"tcp://[::1]:99999\": the port must be a number from 1 to 65535" },
	{ "[log]\nsyslog_target = tls://siem_1:6514\n", 2,
	  "[log] syslog_target: \"siem_1\" is not a host name or IP address" },
	{ "[log]\nsyslog_queue = 0\n", 2, "[log] syslog_queue: 0 is out of range (1 to 1000000)" },
	{ "[log]\nsyslog_timeout_seconds = 61\n", 2, "[log] syslog_timeout_seconds: 61 is out of range (1 to 60)" },
	{ "[log]\nsyslog_target = tcp://127.0.0.1:514\nsyslog_ca_file = " FW_SOURCE_ROOT "/etc/fwgate.conf.example\n", 3,
	  "[log] syslog_ca_file: only used with a tls:// syslog_target" },
	{ "[log]\nsyslog_target = tls://127.0.0.1:514\nsyslog_key_file = " FW_SOURCE_ROOT "/etc/fwgate.conf.example\n", 3,
	  "[log] syslog_cert_file and syslog_key_file go together" },
	{ "[proxy]\nclients = 10.1.2.3/8\n", 2, "[proxy] clients: \"10.1.2.3/8\" has host bits set: write 10.0.0.0/8" },
	{ "[proxy]\nclients = 10.0.0.0/33\n", 2, "[proxy] clients: \"10.0.0.0/33\": the prefix length must be 0 to 32" },
	{ "[proxy]\nclients = appliance.example\n", 2,
	  "[proxy] clients: \"appliance.example\" is not a numeric IPv4 or IPv6 address" },
	{ "[proxy]\nclients = 192.0.2.0/24, fd00::/7x\n", 2,
	  "[proxy] clients: \"fd00::/7x\": the prefix length must be 0 to 128" },
	{ "[proxy]\nclients =\n", 2,
	  "[proxy] clients: at least one network is required (the appliance's address, e.g. 192.0.2.10/32; "
	  "127.0.0.0/8 for this host only)" },
	{ "[proxy]\nthis line has no equals sign\n", 2,
	  "syntax error: expected \"[section]\", \"key = value\" or a # comment" },
	{ "[proxy]\nmax_clients = 1\nmax_clients = x\nbogus\n", 3,
	  "[proxy] max_clients: duplicate key (first set on line 2)" },
};

/* [run] user: empty by default (keep the user), a name as useradd takes it. */
static void test_run_user(void **state)
{
	static const char *const good[] = { "fwgate", "_fwgate", "svc-fw_2", "machine$", "abcdefghijabcdefghijabcdefghijab" };
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	char path[2048], text[128];
	struct fw_err err;

	(void)state;
	TU_NONNULL(cfg);
	fw_config_default(cfg);
	assert_string_equal(cfg->run.user, "");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[run]\nuser = %s\n", good[i]);
		if (load_text(text, cfg, &err, path, sizeof(path)) != 0)
			fail_msg("%s refused: %s", good[i], fw_err_msg(&err));
		assert_string_equal(cfg->run.user, good[i]);
	}
	assert_int_equal(load_text("[run]\nuser =\n", cfg, &err, path, sizeof(path)), 0);
	assert_string_equal(cfg->run.user, "");
	free(cfg);
}

static void test_bad_inputs(void **state)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	char path[2048], expect[4096];
	struct fw_err err;

	(void)state;
	assert_non_null(cfg);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		if (load_text(c->text, cfg, &err, path, sizeof(path)) == 0)
			fail_msg("case %zu was accepted:\n%s", i, c->text);
		if (c->line)
			snprintf(expect, sizeof(expect), "%s:%u: %s", path, c->line, c->msg);
		else
			snprintf(expect, sizeof(expect), "%s: %s", path, c->msg);
		if (strcmp(fw_err_msg(&err), expect) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, fw_err_msg(&err), expect);
		/* Every mistake in the file's text is a configuration error. */
		if (fw_err_code(&err) != FW_E_CONFIG)
			fail_msg("case %zu: code %s, want config", i, fw_errcode_name(fw_err_code(&err)));
	}
	free(cfg);
}

static bool contains(const struct fw_cidr *list, unsigned n, const char *ip)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, ip, &s4.sin_addr) == 1)
		return fw_cidr_list_contains(list, n, (struct sockaddr *)&s4);
	assert_int_equal(inet_pton(AF_INET6, ip, &s6.sin6_addr), 1);
	return fw_cidr_list_contains(list, n, (struct sockaddr *)&s6);
}

/* [proxy] clients: lists of networks, and who is in them. */
static void test_clients_networks(void **state)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	struct fw_cidr c;
	char path[2048], text[FW_CIDR_TEXT_MAX];
	struct fw_err err;

	(void)state;
	assert_non_null(cfg);
	fw_config_default(cfg);
	/* The default: this host only. */
	assert_true(contains(cfg->proxy.clients, cfg->proxy.n_clients, "127.0.0.1"));
	assert_true(contains(cfg->proxy.clients, cfg->proxy.n_clients, "127.0.0.2"));
	assert_true(contains(cfg->proxy.clients, cfg->proxy.n_clients, "::1"));
	assert_true(contains(cfg->proxy.clients, cfg->proxy.n_clients, "::ffff:127.0.0.9"));
	assert_false(contains(cfg->proxy.clients, cfg->proxy.n_clients, "192.0.2.1"));
	assert_false(contains(cfg->proxy.clients, cfg->proxy.n_clients, "::2"));
	/* A file replaces the default; repeated keys add. */
	if (load_text("[proxy]\nclients = 192.0.2.10/32, 198.51.100.0/25\nclients = 2001:db8::/48\n", cfg, &err,
		      path, sizeof(path)) != 0)
		fail_msg("%s", fw_err_msg(&err));
	assert_int_equal(cfg->proxy.n_clients, 3);
	assert_true(contains(cfg->proxy.clients, 3, "192.0.2.10"));
	assert_false(contains(cfg->proxy.clients, 3, "192.0.2.11"));
	assert_true(contains(cfg->proxy.clients, 3, "198.51.100.127"));
	assert_false(contains(cfg->proxy.clients, 3, "198.51.100.128"));
	assert_true(contains(cfg->proxy.clients, 3, "2001:db8:0:ffff::1"));
	assert_false(contains(cfg->proxy.clients, 3, "2001:db8:1::1"));
	assert_false(contains(cfg->proxy.clients, 3, "127.0.0.1"));
	/* Edges of the notation. */
	fw_err_clear(&err);
	assert_int_equal(fw_cidr_parse("0.0.0.0/0", &c, &err), 0);
	assert_true(contains(&c, 1, "203.0.113.9"));
	assert_false(contains(&c, 1, "::1"));
	assert_int_equal(fw_cidr_parse("10.20.30.40", &c, &err), 0);
	assert_string_equal(fw_cidr_str(&c, text, sizeof(text)), "10.20.30.40/32");
	assert_int_equal(fw_cidr_parse("fe80::/10", &c, &err), 0);
	assert_true(contains(&c, 1, "febf::1"));
	assert_false(contains(&c, 1, "fec0::1"));
	assert_int_equal(fw_cidr_parse("10.0.0.0/", &c, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_cidr_parse("", &c, &err), -1);
	free(cfg);
}

static void test_long_line_and_nul(void **state)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	char path[2048], expect[4096], text[600];
	struct fw_err err;

	(void)state;
	assert_non_null(cfg);
	/* libinih's line buffer is 200 bytes; a longer line must be refused,
	 * not split into two lines. */
	memset(text, 0, sizeof(text));
	memcpy(text, "[policy]\nfile = /", 17);
	memset(text + 17, 'a', 400);
	memcpy(text + 417, "\n", 1);
	assert_int_not_equal(load_text(text, cfg, &err, path, sizeof(path)), 0);
	snprintf(expect, sizeof(expect), "%s:2: line is longer than 198 bytes", path);
	assert_string_equal(fw_err_msg(&err), expect);

	tu_write(dir, "nul.conf", "[proxy]\nmax_clients = 1\0 0\n", 27, path, sizeof(path));
	fw_err_clear(&err);
	assert_int_not_equal(fw_config_load(cfg, path, &err), 0);
	snprintf(expect, sizeof(expect), "%s:2: line contains a NUL byte", path);
	assert_string_equal(fw_err_msg(&err), expect);
	free(cfg);
}

static void test_missing_and_oversized_file(void **state)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	char path[2048], expect[4096];
	struct fw_err err;
	char *big;

	(void)state;
	assert_non_null(cfg);
	fw_err_clear(&err);
	assert_int_not_equal(fw_config_load(cfg, "/nonexistent/fwgate.conf", &err), 0);
	assert_string_equal(fw_err_msg(&err), "/nonexistent/fwgate.conf: cannot open: No such file or directory");

	big = malloc(FW_CONFIG_MAX_BYTES + 2);
	assert_non_null(big);
	memset(big, '#', FW_CONFIG_MAX_BYTES + 1);
	big[FW_CONFIG_MAX_BYTES + 1] = '\0';
	assert_int_not_equal(load_text(big, cfg, &err, path, sizeof(path)), 0);
	snprintf(expect, sizeof(expect), "%s: %u bytes, over the limit of %u bytes", path,
		 FW_CONFIG_MAX_BYTES + 1, FW_CONFIG_MAX_BYTES);
	assert_string_equal(fw_err_msg(&err), expect);
	free(big);

	fw_err_clear(&err);
	assert_int_not_equal(fw_config_load(cfg, dir, &err), 0);
	snprintf(expect, sizeof(expect), "%s: not a regular file", dir);
	assert_string_equal(fw_err_msg(&err), expect);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example_is_default),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_run_user),
		cmocka_unit_test(test_clients_networks),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test(test_missing_and_oversized_file),
	};

	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
