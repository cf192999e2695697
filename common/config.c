/* fwgate.conf loading (libinih): one table of keys gives each option its
 * type, range, default and documentation line, so defaults, parsing, checks
 * and the effective-config dump cannot drift apart. Must not start anything. */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>

#include "common/config_value.h"
#include "fwgate/config.h"
#include "fwgate/fileio.h"
#include "fwgate/host.h"
#include "fwgate/syslog_fwd.h"

enum key_type {
	KT_ADDR,         /* one listen address, or "off" */
	KT_HOST,         /* a DNS name (fw_host_check), stored lower case */
	KT_SITE_ID,      /* "" or an id like a rule's app_id */
	KT_ADDR_LIST,    /* repeatable listen address */
	KT_UINT,
	KT_SIZE,         /* bytes, with an optional K/M/G/T suffix */
	KT_BOOL,
	KT_RULE_ID,
	KT_PATH,         /* a path that need not exist yet */
	KT_LOG_PATH,     /* a path, or "-" for standard output */
	KT_FILE,         /* an existing readable regular file */
	KT_DIR_LIST,     /* repeatable existing directory */
	KT_PATH_LIST,    /* repeatable existing regular file or directory */
	KT_DIR_OPT,      /* "" or an existing directory */
	KT_PATH_OPT,     /* "" or a path that need not exist yet (a file a command creates) */
	KT_RESOLVE_LIST, /* repeatable host:port:address */
	KT_CIDR_LIST,    /* repeatable; each value one or more networks, comma-separated */
	KT_URL,          /* http(s) URL */
	KT_BACKEND,
	KT_AUTH,
	KT_FACILITY,
	KT_SYSLOG_TARGET, /* "" or udp://, tcp://, tls://HOST:PORT */
	KT_USER,         /* "" or a system user name (checked to exist at run) */
};

struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;       /* offsetof the value in struct fw_config */
	size_t count_off; /* lists: offsetof the unsigned count */
	size_t size;      /* strings: buffer size; lists: element count limit */
	uint64_t min, max;
	const char *def;  /* default, in the same text form as the file */
};

#define CFG_OFF(field) offsetof(struct fw_config, field)
#define CFG_STR(field) CFG_OFF(field), 0, sizeof(((struct fw_config *)0)->field)
#define CFG_LIST(field, count) \
	CFG_OFF(field), CFG_OFF(count), FW_ARRAY_LEN(((struct fw_config *)0)->field)
#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)
#define TIB (1024ULL * GIB)

static const struct key_def keys[] = {
	{ "proxy", "listen", KT_ADDR_LIST, CFG_LIST(proxy.listen, proxy.n_listen), 0, 0, "127.0.0.1:3128" },
	{ "proxy", "clients", KT_CIDR_LIST, CFG_LIST(proxy.clients, proxy.n_clients), 0, 0, "127.0.0.0/8, ::1/128" },
	{ "proxy", "auth", KT_AUTH, CFG_OFF(proxy.auth), 0, 0, 0, 0, "none" },
	{ "proxy", "max_clients", KT_UINT, CFG_OFF(proxy.max_clients), 0, 0, 1, 100000, "256" },
	{ "proxy", "max_clients_per_source", KT_UINT, CFG_OFF(proxy.max_clients_per_source), 0, 0, 1, 100000, "32" },
	{ "proxy", "head_timeout_seconds", KT_UINT, CFG_OFF(proxy.head_timeout_seconds), 0, 0, 1, 3600, "10" },
	{ "proxy", "idle_timeout_seconds", KT_UINT, CFG_OFF(proxy.idle_timeout_seconds), 0, 0, 1, 86400, "60" },
	{ "proxy", "exchange_timeout_seconds", KT_UINT, CFG_OFF(proxy.exchange_timeout_seconds), 0, 0, 1, 604800, "3600" },
	{ "proxy", "max_head_bytes", KT_SIZE, CFG_OFF(proxy.max_head_bytes), 0, 0, 1 * KIB, 1 * MIB, "32K" },
	{ "proxy", "max_headers", KT_UINT, CFG_OFF(proxy.max_headers), 0, 0, 1, 1000, "100" },
	{ "proxy", "leaf_cache_entries", KT_UINT, CFG_OFF(proxy.leaf_cache_entries), 0, 0, 1, 1000000, "1024" },
	{ "proxy", "leaf_validity_days", KT_UINT, CFG_OFF(proxy.leaf_validity_days), 0, 0, 1, 90, "7" },
	{ "console", "listen", KT_ADDR, CFG_OFF(console.listen), 0, 0, 0, 0, "127.0.0.1:8443" },
	{ "console", "name", KT_HOST, CFG_STR(console.name), 0, 0, "localhost" },
	{ "console", "cert_file", KT_FILE, CFG_STR(console.cert_file), 0, 0, "" },
	{ "console", "key_file", KT_FILE, CFG_STR(console.key_file), 0, 0, "" },
	{ "console", "max_connections", KT_UINT, CFG_OFF(console.max_connections), 0, 0, 1, 10000, "64" },
	{ "console", "max_connections_per_source", KT_UINT, CFG_OFF(console.max_connections_per_source), 0, 0, 1, 10000, "16" },
	{ "console", "request_timeout_seconds", KT_UINT, CFG_OFF(console.request_timeout_seconds), 0, 0, 1, 3600, "30" },
	{ "console", "session_idle_seconds", KT_UINT, CFG_OFF(console.session_idle_seconds), 0, 0, 60, 86400, "900" },
	{ "console", "session_max_seconds", KT_UINT, CFG_OFF(console.session_max_seconds), 0, 0, 300, 604800, "28800" },
	{ "console", "four_eyes", KT_BOOL, CFG_OFF(console.four_eyes), 0, 0, 0, 0, "true" },
	{ "console", "lockout_failures", KT_UINT, CFG_OFF(console.lockout_failures), 0, 0, 1, 100, "5" },
	{ "console", "lockout_seconds", KT_UINT, CFG_OFF(console.lockout_seconds), 0, 0, 1, 86400, "30" },
	{ "console", "lockout_max_seconds", KT_UINT, CFG_OFF(console.lockout_max_seconds), 0, 0, 1, 604800, "3600" },
	{ "mirror", "listen", KT_ADDR, CFG_OFF(mirror.listen), 0, 0, 0, 0, "off" },
	{ "mirror", "http_listen", KT_ADDR, CFG_OFF(mirror.http_listen), 0, 0, 0, 0, "off" },
	{ "mirror", "allow", KT_CIDR_LIST, CFG_LIST(mirror.allow, mirror.n_allow), 0, 0, "127.0.0.0/8, ::1/128" },
	{ "mirror", "auth", KT_AUTH, CFG_OFF(mirror.auth), 0, 0, 0, 0, "none" },
	{ "mirror", "url", KT_URL, CFG_STR(mirror.url), 0, 0, "" },
	{ "mirror", "site_id", KT_SITE_ID, CFG_STR(mirror.site_id), 0, 0, "" },
	{ "mirror", "key_file", KT_PATH_OPT, CFG_STR(mirror.key_file), 0, 0, "" },
	{ "mirror", "trusted_keys", KT_DIR_OPT, CFG_STR(mirror.trusted_keys), 0, 0, "" },
	{ "mirror", "revoked_keys", KT_FILE, CFG_STR(mirror.revoked_keys), 0, 0, "" },
	{ "state", "dir", KT_PATH, CFG_STR(state.dir), 0, 0, "./fwgate-state" },
	{ "policy", "file", KT_FILE, CFG_STR(policy.file), 0, 0, "" },
	{ "policy", "rule", KT_RULE_ID, CFG_STR(policy.rule), 0, 0, "firmware_update" },
	{ "policy", "allowlist", KT_FILE, CFG_STR(policy.allowlist), 0, 0, "" },
	{ "upstream", "ca_file", KT_FILE, CFG_STR(upstream.ca_file), 0, 0, "" },
	{ "upstream", "resolve", KT_RESOLVE_LIST, CFG_LIST(upstream.resolve, upstream.n_resolve), 0, 0, "" },
	{ "upstream", "allow_private", KT_BOOL, CFG_OFF(upstream.allow_private), 0, 0, 0, 0, "false" },
	{ "upstream", "proxy", KT_URL, CFG_STR(upstream.proxy), 0, 0, "" },
	{ "upstream", "connect_timeout_seconds", KT_UINT, CFG_OFF(upstream.connect_timeout_seconds), 0, 0, 1, 300, "15" },
	{ "upstream", "low_speed_bytes", KT_SIZE, CFG_OFF(upstream.low_speed_bytes), 0, 0, 1, 1 * GIB, "1K" },
	{ "upstream", "low_speed_seconds", KT_UINT, CFG_OFF(upstream.low_speed_seconds), 0, 0, 1, 3600, "30" },
	{ "upstream", "max_body_bytes", KT_SIZE, CFG_OFF(upstream.max_body_bytes), 0, 0, 1, 1 * TIB, "16G" },
	{ "scanner", "signatures", KT_DIR_LIST, CFG_LIST(scanner.signatures, scanner.n_signatures), 0, 0, "" },
	{ "scanner", "yara_rules", KT_PATH_LIST, CFG_LIST(scanner.yara_rules, scanner.n_yara_rules), 0, 0, "" },
	{ "scanner", "workers", KT_UINT, CFG_OFF(scanner.workers), 0, 0, 0, 256, "0" },
	{ "scanner", "timeout_seconds", KT_UINT, CFG_OFF(scanner.timeout_seconds), 0, 0, 2, 86400, "3600" },
	{ "scanner", "max_depth", KT_UINT, CFG_OFF(scanner.max_depth), 0, 0, 1, 64, "16" },
	{ "scanner", "max_members", KT_SIZE, CFG_OFF(scanner.max_members), 0, 0, 1, 100000000, "100000" },
	{ "scanner", "max_member_bytes", KT_SIZE, CFG_OFF(scanner.max_member_bytes), 0, 0, 1, 1 * TIB, "16G" },
	{ "scanner", "max_total_bytes", KT_SIZE, CFG_OFF(scanner.max_total_bytes), 0, 0, 1, 16 * TIB, "64G" },
	{ "scanner", "max_ratio", KT_UINT, CFG_OFF(scanner.max_ratio), 0, 0, 1, 1000000, "1000" },
	{ "scanner", "max_seconds", KT_UINT, CFG_OFF(scanner.max_seconds), 0, 0, 1, 86400, "1800" },
	{ "scanner", "watch_signatures", KT_BOOL, CFG_OFF(scanner.watch_signatures), 0, 0, 0, 0, "true" },
	{ "scanner", "overlap_fetch", KT_BOOL, CFG_OFF(scanner.overlap_fetch), 0, 0, 0, 0, "true" },
	{ "scanner", "reload_debounce_seconds", KT_UINT, CFG_OFF(scanner.reload_debounce_seconds), 0, 0, 1, 3600, "5" },
	{ "scanner", "max_signature_age_hours", KT_UINT, CFG_OFF(scanner.max_signature_age_hours), 0, 0, 0, 87600, "168" },
	{ "sandbox", "backend", KT_BACKEND, CFG_OFF(sandbox.backend), 0, 0, 0, 0, "local" },
	{ "sandbox", "hold_seconds", KT_UINT, CFG_OFF(sandbox.hold_seconds), 0, 0, 0, 3600, "30" },
	{ "sandbox", "runners", KT_UINT, CFG_OFF(sandbox.runners), 0, 0, 1, 64, "1" },
	{ "sandbox", "url", KT_URL, CFG_STR(sandbox.url), 0, 0, "" },
	{ "sandbox", "token_file", KT_FILE, CFG_STR(sandbox.token_file), 0, 0, "" },
	{ "sandbox", "verdict_ttl_seconds", KT_UINT, CFG_OFF(sandbox.verdict_ttl_seconds), 0, 0, 0, 315360000, "2592000" },
	{ "sandbox", "suspicious_score", KT_UINT, CFG_OFF(sandbox.suspicious_score), 0, 0, 1, 100, "30" },
	{ "sandbox", "malicious_score", KT_UINT, CFG_OFF(sandbox.malicious_score), 0, 0, 1, 100, "70" },
	{ "sandbox", "timeout_seconds", KT_UINT, CFG_OFF(sandbox.timeout_seconds), 0, 0, 1, 86400, "600" },
	{ "sandbox", "retries", KT_UINT, CFG_OFF(sandbox.retries), 0, 0, 0, 10, "3" },
	{ "cache", "revalidate_after_seconds", KT_UINT, CFG_OFF(cache.revalidate_after_seconds), 0, 0, 0, 315360000, "86400" },
	{ "log", "file", KT_LOG_PATH, CFG_STR(log.file), 0, 0, "" },
	{ "log", "syslog", KT_BOOL, CFG_OFF(log.syslog), 0, 0, 0, 0, "false" },
	{ "log", "syslog_facility", KT_FACILITY, CFG_OFF(log.syslog_facility), 0, 0, 0, 0, "daemon" },
	{ "log", "syslog_target", KT_SYSLOG_TARGET, CFG_STR(log.syslog_target), 0, 0, "" },
	{ "log", "syslog_queue", KT_UINT, CFG_OFF(log.syslog_queue), 0, 0, FW_SYSLOG_QUEUE_MIN, FW_SYSLOG_QUEUE_MAX, "10000" },
	{ "log", "syslog_timeout_seconds", KT_UINT, CFG_OFF(log.syslog_timeout_seconds), 0, 0, 1, 60, "5" },
	{ "log", "syslog_ca_file", KT_FILE, CFG_STR(log.syslog_ca_file), 0, 0, "" },
	{ "log", "syslog_cert_file", KT_FILE, CFG_STR(log.syslog_cert_file), 0, 0, "" },
	{ "log", "syslog_key_file", KT_FILE, CFG_STR(log.syslog_key_file), 0, 0, "" },
	{ "run", "user", KT_USER, CFG_STR(run.user), 0, 0, "" },
};

#define N_KEYS FW_ARRAY_LEN(keys)

static const char *const sections[] = {
	"proxy", "console", "mirror", "state", "policy", "upstream", "scanner", "sandbox", "cache", "log", "run",
};

struct parse_ctx {
	struct fw_config *cfg;
	FILE *fp;
	const char *file;
	char base[FW_PATH_MAX];    /* directory relative paths are joined to */
	unsigned line;             /* line the reader handed to inih last */
	unsigned err_line;
	struct fw_err err;
	unsigned key_line[N_KEYS]; /* where each key was first set, 0 = default */
};

static void *cfg_at(struct fw_config *cfg, size_t off)
{
	return (char *)cfg + off;
}

static const void *cfg_at_const(const struct fw_config *cfg, size_t off)
{
	return (const char *)cfg + off;
}

static int ctx_fail(struct parse_ctx *ctx, unsigned line, const char *fmt, ...) FW_PRINTF(3, 4);

static int ctx_fail(struct parse_ctx *ctx, unsigned line, const char *fmt, ...)
{
	char what[FW_ERR_MSG_MAX];
	va_list ap;

	/* The first error in file order wins; later ones are consequences. */
	if (fw_err_isset(&ctx->err))
		return 0;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line > 0)
		fw_err_setc(&ctx->err, FW_E_CONFIG, "%s:%u: %s", ctx->file, line, what);
	else
		fw_err_setc(&ctx->err, FW_E_CONFIG, "%s: %s", ctx->file, what);
	ctx->err_line = line;
	return 0;
}

static bool section_known(const char *name, size_t len)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(sections); i++)
		if (strlen(sections[i]) == len && memcmp(sections[i], name, len) == 0)
			return true;
	return false;
}

/* Checks a "[section]" line before inih sees it: inih does not report
 * sections, so an unknown empty section would otherwise pass unnoticed. */
static void reader_check_section(struct parse_ctx *ctx, const char *line)
{
	const char *p = line, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '[')
		return;
	end = strchr(p, ']');
	if (end == NULL)
		return; /* inih reports the syntax error */
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (!section_known(p, (size_t)(end - p)))
		ctx_fail(ctx, ctx->line, "unknown section [%.*s]", (int)(end - p), p);
}

/* The ini_reader: one line at a time, counting lines so errors can name
 * them, refusing NUL bytes and lines longer than libinih's buffer (which
 * would otherwise be split silently into two lines). */
static char *config_reader(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	size_t n = 0, cap = (size_t)num - 2; /* room for '\n' and NUL */
	bool too_long = false, nul = false;
	int c = EOF;

	if (num < 3)
		return NULL;
	while ((c = getc(ctx->fp)) != EOF) {
		if (c == '\n')
			break;
		if (c == '\0')
			nul = true;
		if (n < cap)
			str[n++] = (char)c;
		else
			too_long = true;
	}
	if (c == EOF && n == 0 && !too_long)
		return NULL;
	ctx->line++;
	if (too_long || nul) {
		if (too_long)
			ctx_fail(ctx, ctx->line, "line is longer than %zu bytes", cap);
		else
			ctx_fail(ctx, ctx->line, "line contains a NUL byte");
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	str[n++] = '\n';
	str[n] = '\0';
	reader_check_section(ctx, str);
	return str;
}

static int key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool is_list(enum key_type t)
{
	return t == KT_ADDR_LIST || t == KT_DIR_LIST || t == KT_PATH_LIST || t == KT_RESOLVE_LIST || t == KT_CIDR_LIST;
}

/* Adds the networks of one value ("10.0.0.0/8, 192.0.2.7") to the list
 * of k ([proxy] clients, [mirror] allow). */
static int cidr_list_add(struct fw_config *cfg, const struct key_def *k, const char *value, struct fw_err *err)
{
	struct fw_cidr *list = cfg_at(cfg, k->off);
	unsigned *count = cfg_at(cfg, k->count_off);
	const char *p = value;

	while (*p != '\0') {
		char one[FW_CIDR_TEXT_MAX];
		size_t n;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (n >= sizeof(one))
			return fw_err_setc(err, FW_E_INVALID, "\"%.*s\" is not a network", (int)(n > 80 ? 80 : n), p);
		memcpy(one, p, n);
		one[n] = '\0';
		if (*count >= k->size)
			return fw_err_setc(err, FW_E_LIMIT, "more than %zu networks", k->size);
		if (fw_cidr_parse(one, &list[*count], err) != 0)
			return -1;
		(*count)++;
		p += n;
	}
	return 0;
}

/* Parses one value into the struct. base is "" for defaults (no file). */
static int key_set(struct fw_config *cfg, const struct key_def *k, const char *value,
		   const char *base, bool first_in_file, struct fw_err *err)
{
	void *dst = cfg_at(cfg, k->off);
	uint64_t u;

	switch (k->type) {
	case KT_ADDR:
		if (strcmp(value, "off") == 0) {
			memset(dst, 0, sizeof(struct fw_listen_addr));
			return 0;
		}
		return config_cv_listen_addr(value, dst, err);
	case KT_HOST: {
		const char *why;

		if (fw_host_check(value, strlen(value), dst, k->size, &why) != 0 || fw_host_is_ip(dst, strlen(dst)))
			return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a DNS name", value);
		return 0;
	}
	case KT_UINT:
		if (config_cv_uint(value, k->min, k->max, &u, err) != 0)
			return -1;
		*(unsigned *)dst = (unsigned)u;
		return 0;
	case KT_SIZE:
		return config_cv_size(value, k->min, k->max, dst, err);
	case KT_BOOL:
		return config_cv_bool(value, dst, err);
	case KT_RULE_ID:
		return config_cv_rule_id(value, dst, k->size, err);
	case KT_SITE_ID:
		return value[0] == '\0' ? config_cv_copy(dst, k->size, value, err)
					: config_cv_rule_id(value, dst, k->size, err);
	case KT_USER:
		return config_cv_user(value, dst, k->size, err);
	case KT_PATH:
		if (value[0] == '\0')
			return fw_err_setc(err, FW_E_INVALID, "a path is required");
		return fw_path_join(dst, k->size, base, value, err);
	case KT_LOG_PATH:
		if (strcmp(value, "-") == 0 || value[0] == '\0')
			return config_cv_copy(dst, k->size, value, err);
		return fw_path_join(dst, k->size, base, value, err);
	case KT_PATH_OPT:
		if (value[0] == '\0')
			return config_cv_copy(dst, k->size, value, err);
		return fw_path_join(dst, k->size, base, value, err);
	case KT_FILE:
	case KT_DIR_OPT:
		if (value[0] == '\0')
			return config_cv_copy(dst, k->size, value, err);
		if (fw_path_join(dst, k->size, base, value, err) != 0)
			return -1;
		return k->type == KT_FILE ? config_cv_check_file(dst, err) : config_cv_check_dir(dst, err);
	case KT_URL:
		return config_cv_url(value, dst, k->size, err);
	case KT_BACKEND:
		return config_cv_backend(value, dst, err);
	case KT_AUTH:
		return config_cv_proxy_auth(value, dst, err);
	case KT_FACILITY:
		return config_cv_facility(value, dst, err);
	case KT_SYSLOG_TARGET: {
		struct fw_syslog_target t;

		if (value[0] != '\0' && fw_syslog_target_parse(value, &t, err) != 0)
			return -1;
		return config_cv_copy(dst, k->size, value, err);
	}
	case KT_CIDR_LIST:
		if (first_in_file)
			*(unsigned *)cfg_at(cfg, k->count_off) = 0;
		else if (value[0] == '\0')
			return fw_err_set(err, "empty value");
		return cidr_list_add(cfg, k, value, err);
	case KT_ADDR_LIST:
	case KT_DIR_LIST:
	case KT_PATH_LIST:
	case KT_RESOLVE_LIST: {
		unsigned *count = cfg_at(cfg, k->count_off);

		/* The first occurrence in a file replaces the default list; later
		 * ones add to it. */
		if (first_in_file)
			*count = 0;
		if (value[0] == '\0')
			return first_in_file ? 0 : fw_err_set(err, "empty value");
		if (*count >= k->size)
			return fw_err_setc(err, FW_E_LIMIT, "more than %zu entries", k->size);
		if (k->type == KT_ADDR_LIST) {
			if (config_cv_listen_addr(value, &cfg->proxy.listen[*count], err) != 0)
				return -1;
		} else if (k->type == KT_RESOLVE_LIST) {
			if (config_cv_resolve(value, &cfg->upstream.resolve[*count], err) != 0)
				return -1;
		} else {
			char *path = (char *)cfg_at(cfg, k->off) + (size_t)*count * FW_PATH_MAX;

			if (fw_path_join(path, FW_PATH_MAX, base, value, err) != 0 ||
			    (k->type == KT_DIR_LIST ? config_cv_check_dir(path, err)
						    : config_cv_check_file_or_dir(path, err)) != 0)
				return -1;
		}
		(*count)++;
		return 0;
	}
	}
	return fw_err_set(err, "internal error: unknown key type");
}

void fw_config_default(struct fw_config *cfg)
{
	struct fw_err err;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_KEYS; i++) {
		fw_err_clear(&err);
		if (keys[i].def[0] == '\0' && is_list(keys[i].type))
			continue;
		if (key_set(cfg, &keys[i], keys[i].def, "", true, &err) != 0) {
			/* The table is compiled in: a bad default is a build defect. */
			fprintf(stderr, "fwgate: bad built-in default for [%s] %s: %s\n",
				keys[i].section, keys[i].name, fw_err_msg(&err));
			abort();
		}
	}
}

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	struct fw_err err;
	int i;

	if (section[0] == '\0')
		return ctx_fail(ctx, ctx->line, "key \"%s\" is outside any [section]", name);
	if (!section_known(section, strlen(section)))
		return ctx_fail(ctx, ctx->line, "unknown section [%s]", section);
	i = key_find(section, name);
	if (i < 0 && strcmp(section, "sandbox") == 0 && strcmp(name, "rules_file") == 0)
		return ctx_fail(ctx, ctx->line, "[sandbox] rules_file was removed with its rule format: the analyzer "
				"now uses the YARA rules of [scanner] yara_rules (rewrite the rules in YARA)");
	if (i < 0)
		return ctx_fail(ctx, ctx->line, "[%s] unknown key \"%s\"", section, name);
	if (ctx->key_line[i] != 0 && !is_list(keys[i].type))
		return ctx_fail(ctx, ctx->line, "[%s] %s: duplicate key (first set on line %u)",
				section, name, ctx->key_line[i]);
	fw_err_clear(&err);
	if (key_set(ctx->cfg, &keys[i], value, ctx->base, ctx->key_line[i] == 0, &err) != 0)
		return ctx_fail(ctx, ctx->line, "[%s] %s: %s", section, name, fw_err_msg(&err));
	if (ctx->key_line[i] == 0)
		ctx->key_line[i] = ctx->line;
	return 1;
}

static unsigned key_line_of(const struct parse_ctx *ctx, const char *section, const char *name)
{
	int i = key_find(section, name);

	return i < 0 ? 0 : ctx->key_line[i];
}

static bool listen_equal(const struct fw_listen_addr *a, const struct fw_listen_addr *b)
{
	return a->port == b->port && strcmp(a->ip, b->ip) == 0;
}

/* Checks that involve more than one key, reported at the later key's line. */
static void config_cross_check(struct parse_ctx *ctx)
{
	struct fw_config *cfg = ctx->cfg;

	if ((cfg->console.cert_file[0] == '\0') != (cfg->console.key_file[0] == '\0'))
		ctx_fail(ctx, key_line_of(ctx, "console", cfg->console.cert_file[0] ? "cert_file" : "key_file"),
			 "[console] cert_file and key_file go together (or neither: the gateway CA mints one)");
	if (cfg->console.session_max_seconds < cfg->console.session_idle_seconds)
		ctx_fail(ctx, key_line_of(ctx, "console", "session_max_seconds"),
			 "[console] session_max_seconds (%u) must not be below session_idle_seconds (%u)",
			 cfg->console.session_max_seconds, cfg->console.session_idle_seconds);
	if (cfg->console.lockout_max_seconds < cfg->console.lockout_seconds)
		ctx_fail(ctx, key_line_of(ctx, "console", "lockout_max_seconds"),
			 "[console] lockout_max_seconds (%u) must not be below lockout_seconds (%u)",
			 cfg->console.lockout_max_seconds, cfg->console.lockout_seconds);
	if (cfg->sandbox.malicious_score <= cfg->sandbox.suspicious_score)
		ctx_fail(ctx, key_line_of(ctx, "sandbox", "malicious_score"),
			 "[sandbox] malicious_score (%u) must be above suspicious_score (%u)",
			 cfg->sandbox.malicious_score, cfg->sandbox.suspicious_score);
	if (cfg->sandbox.backend == FW_SANDBOX_CAPE && cfg->sandbox.url[0] == '\0')
		ctx_fail(ctx, key_line_of(ctx, "sandbox", "backend"),
			 "[sandbox] backend: cape needs [sandbox] url");
	{
		const struct fw_listen_addr *own[] = { &cfg->console.listen, &cfg->mirror.listen, &cfg->mirror.http_listen };
		static const char *const names[][2] = { { "console", "listen" }, { "mirror", "listen" },
							 { "mirror", "http_listen" } };

		for (size_t a = 0; a < FW_ARRAY_LEN(own); a++)
			for (size_t b = 0; b < a; b++)
				if (own[a]->port != 0 && listen_equal(own[a], own[b]))
					ctx_fail(ctx, key_line_of(ctx, names[a][0], names[a][1]),
						 "[%s] %s: same address as [%s] %s", names[a][0], names[a][1],
						 names[b][0], names[b][1]);
		for (unsigned i = 0; i < cfg->proxy.n_listen; i++)
			for (size_t a = 1; a < FW_ARRAY_LEN(own); a++)
				if (listen_equal(&cfg->proxy.listen[i], own[a]))
					ctx_fail(ctx, key_line_of(ctx, names[a][0], names[a][1]),
						 "[%s] %s: same address as [proxy] listen", names[a][0], names[a][1]);
	}
	for (unsigned i = 0; i < cfg->proxy.n_listen; i++) {
		if (listen_equal(&cfg->proxy.listen[i], &cfg->console.listen))
			ctx_fail(ctx, key_line_of(ctx, "console", "listen"),
				 "[console] listen: same address as [proxy] listen");
		for (unsigned j = 0; j < i; j++)
			if (listen_equal(&cfg->proxy.listen[i], &cfg->proxy.listen[j]))
				ctx_fail(ctx, key_line_of(ctx, "proxy", "listen"),
					 "[proxy] listen: address given twice");
	}
	/* The walk's own budget must end before the supervisor's kill, so
	 * that a slow package is refused with the walk's precise reason. */
	if (cfg->scanner.max_seconds >= cfg->scanner.timeout_seconds)
		ctx_fail(ctx, key_line_of(ctx, "scanner", "max_seconds"),
			 "[scanner] max_seconds (%u) must be below timeout_seconds (%u)", cfg->scanner.max_seconds,
			 cfg->scanner.timeout_seconds);
	if ((cfg->log.syslog_cert_file[0] == '\0') != (cfg->log.syslog_key_file[0] == '\0'))
		ctx_fail(ctx, key_line_of(ctx, "log", cfg->log.syslog_cert_file[0] ? "syslog_cert_file" : "syslog_key_file"),
			 "[log] syslog_cert_file and syslog_key_file go together");
	{
		static const char *const tls_only[] = { "syslog_ca_file", "syslog_cert_file", "syslog_key_file" };
		const char *vals[] = { cfg->log.syslog_ca_file, cfg->log.syslog_cert_file, cfg->log.syslog_key_file };

		for (size_t i = 0; i < FW_ARRAY_LEN(tls_only); i++)
			if (vals[i][0] != '\0' && strncmp(cfg->log.syslog_target, "tls://", 6) != 0)
				ctx_fail(ctx, key_line_of(ctx, "log", tls_only[i]),
					 "[log] %s: only used with a tls:// syslog_target", tls_only[i]);
	}
	if (cfg->proxy.n_listen == 0)
		ctx_fail(ctx, key_line_of(ctx, "proxy", "listen"),
			 "[proxy] listen: at least one address is required");
	if (cfg->proxy.n_clients == 0)
		ctx_fail(ctx, key_line_of(ctx, "proxy", "clients"),
			 "[proxy] clients: at least one network is required (the appliance's address, e.g. "
			 "192.0.2.10/32; 127.0.0.0/8 for this host only)");
}

int fw_config_load(struct fw_config *cfg, const char *path, struct fw_err *err)
{
	struct parse_ctx *ctx;
	char *real = NULL, *slash;
	struct stat st;
	int rc = -1, ini_rc;

	fw_config_default(cfg);
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "%s: out of memory", path);
	ctx->cfg = cfg;
	ctx->file = path;
	ctx->fp = fopen(path, "re");
	if (ctx->fp == NULL) {
		fw_err_sys(err, errno, "%s: cannot open", path);
		goto out;
	}
	if (fstat(fileno(ctx->fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fw_err_setc(err, FW_E_CONFIG, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > FW_CONFIG_MAX_BYTES) {
		fw_err_setc(err, FW_E_LIMIT, "%s: %lld bytes, over the limit of %u bytes", path,
			   (long long)st.st_size, (unsigned)FW_CONFIG_MAX_BYTES);
		goto out;
	}
	real = realpath(path, NULL);
	if (real == NULL) {
		fw_err_sys(err, errno, "%s: cannot resolve path", path);
		goto out;
	}
	if (config_cv_copy(cfg->path, sizeof(cfg->path), real, err) != 0)
		goto out;
	slash = strrchr(real, '/');
	if (slash != NULL)
		*slash = '\0';
	if (config_cv_copy(ctx->base, sizeof(ctx->base), real[0] ? real : "/", err) != 0)
		goto out;

	ini_rc = ini_parse_stream(config_reader, ctx, config_handler, ctx);
	if (ini_rc < 0)
		ctx_fail(ctx, 0, "cannot read the file");
	else if (ini_rc > 0 && (!fw_err_isset(&ctx->err) || (unsigned)ini_rc < ctx->err_line)) {
		/* A line inih could not parse, before any error of ours. */
		fw_err_clear(&ctx->err);
		ctx_fail(ctx, (unsigned)ini_rc,
			 "syntax error: expected \"[section]\", \"key = value\" or a # comment");
	}
	if (ferror(ctx->fp))
		ctx_fail(ctx, 0, "read error");
	if (!fw_err_isset(&ctx->err))
		config_cross_check(ctx);
	if (fw_err_isset(&ctx->err)) {
		fw_err_copy(err, &ctx->err);
		goto out;
	}
	rc = 0;
out:
	if (ctx->fp != NULL)
		fclose(ctx->fp);
	free(ctx);
	free(real);
	return rc;
}

const char *fw_listen_addr_str(const struct fw_listen_addr *a, char *buf, size_t len)
{
	if (a->port == 0) {
		snprintf(buf, len, "off");
		return buf;
	}
	snprintf(buf, len, a->ipv6 ? "[%s]:%u" : "%s:%u", a->ip, (unsigned)a->port);
	return buf;
}

static void dump_value(const struct fw_config *cfg, const struct key_def *k, FILE *out)
{
	const void *v = cfg_at_const(cfg, k->off);
	char buf[FW_HOST_MAX + 128];

	switch (k->type) {
	case KT_ADDR:
		fprintf(out, "%s = %s\n", k->name, fw_listen_addr_str(v, buf, sizeof(buf)));
		break;
	case KT_UINT:
		fprintf(out, "%s = %u\n", k->name, *(const unsigned *)v);
		break;
	case KT_SIZE:
		fprintf(out, "%s = %s\n", k->name, config_cv_size_str(*(const uint64_t *)v, buf, sizeof(buf)));
		break;
	case KT_BOOL:
		fprintf(out, "%s = %s\n", k->name, *(const bool *)v ? "true" : "false");
		break;
	case KT_RULE_ID:
	case KT_SITE_ID:
	case KT_USER:
	case KT_HOST:
	case KT_PATH:
	case KT_PATH_OPT:
	case KT_LOG_PATH:
	case KT_FILE:
	case KT_DIR_OPT:
	case KT_URL:
	case KT_SYSLOG_TARGET:
		fprintf(out, "%s = %s\n", k->name, (const char *)v);
		break;
	case KT_BACKEND:
		fprintf(out, "%s = %s\n", k->name, fw_sandbox_backend_name(*(const enum fw_sandbox_backend *)v));
		break;
	case KT_AUTH:
		fprintf(out, "%s = %s\n", k->name, fw_proxy_auth_name(*(const enum fw_proxy_auth *)v));
		break;
	case KT_FACILITY:
		fprintf(out, "%s = %s\n", k->name, config_cv_facility_name(*(const int *)v));
		break;
	case KT_CIDR_LIST: {
		const struct fw_cidr *list = cfg_at_const(cfg, k->off);
		unsigned n = *(const unsigned *)cfg_at_const(cfg, k->count_off);

		if (n == 0)
			fprintf(out, "%s =\n", k->name);
		for (unsigned i = 0; i < n; i++)
			fprintf(out, "%s = %s\n", k->name, fw_cidr_str(&list[i], buf, sizeof(buf)));
		break;
	}
	case KT_ADDR_LIST:
	case KT_DIR_LIST:
	case KT_PATH_LIST:
	case KT_RESOLVE_LIST: {
		unsigned n = *(const unsigned *)cfg_at_const(cfg, k->count_off);

		if (n == 0)
			fprintf(out, "%s =\n", k->name);
		for (unsigned i = 0; i < n; i++) {
			if (k->type == KT_ADDR_LIST)
				fprintf(out, "%s = %s\n", k->name,
					fw_listen_addr_str(&cfg->proxy.listen[i], buf, sizeof(buf)));
			else if (k->type == KT_DIR_LIST || k->type == KT_PATH_LIST)
				fprintf(out, "%s = %s\n", k->name,
					(const char *)cfg_at_const(cfg, k->off) + (size_t)i * FW_PATH_MAX);
			else
				fprintf(out, "%s = %s\n", k->name,
					config_cv_resolve_str(&cfg->upstream.resolve[i], buf, sizeof(buf)));
		}
		break;
	}
	}
}

void fw_config_dump(const struct fw_config *cfg, FILE *out)
{
	const char *section = NULL;

	fprintf(out, "# effective configuration: %s\n",
		cfg->path[0] ? cfg->path : "embedded default");
	for (size_t i = 0; i < N_KEYS; i++) {
		if (section == NULL || strcmp(section, keys[i].section) != 0) {
			section = keys[i].section;
			fprintf(out, "%s[%s]\n", i ? "\n" : "", section);
		}
		dump_value(cfg, &keys[i], out);
	}
}
