/* Typed value parsers for fwgate.conf: strict (no sign, no trailing junk,
 * no silent truncation) so that a typo is refused rather than guessed, and
 * the words of the enumerated values. A leaf: calls nothing in config.c
 * (config.c's key table calls these). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/config_value.h"
#include "fwgate/host.h"

int config_cv_copy(char *dst, size_t dst_len, const char *value, struct fw_err *err)
{
	size_t n = strlen(value);

	if (n >= dst_len)
		return fw_err_setc(err, FW_E_LIMIT, "value is %zu bytes, over the limit of %zu", n, dst_len - 1);
	memcpy(dst, value, n + 1);
	return 0;
}

/* Digits only, with overflow detection; returns a pointer past them. */
static const char *parse_digits(const char *p, uint64_t *out, bool *overflow)
{
	uint64_t v = 0;

	*overflow = false;
	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			*overflow = true;
		else
			v = v * 10 + d;
		p++;
	}
	*out = v;
	return p;
}

int config_cv_uint(const char *value, uint64_t min, uint64_t max, uint64_t *out, struct fw_err *err)
{
	const char *end;
	bool overflow;
	uint64_t v;

	if (value[0] == '\0')
		return fw_err_setc(err, FW_E_INVALID, "empty value, expected a number from %llu to %llu",
				  (unsigned long long)min, (unsigned long long)max);
	end = parse_digits(value, &v, &overflow);
	if (end == value || *end != '\0')
		return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a whole number", value);
	if (overflow || v < min || v > max)
		return fw_err_setc(err, FW_E_INVALID, "%s is out of range (%llu to %llu)", value,
				  (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

static const struct {
	const char *suffix;
	unsigned shift;
} size_suffixes[] = {
	{ "", 0 },   { "K", 10 },  { "KiB", 10 }, { "M", 20 },  { "MiB", 20 },
	{ "G", 30 }, { "GiB", 30 }, { "T", 40 },  { "TiB", 40 },
};

int config_cv_size(const char *value, uint64_t min, uint64_t max, uint64_t *out, struct fw_err *err)
{
	char lo[32], hi[32];
	const char *end;
	bool overflow;
	uint64_t v;

	config_cv_size_str(min, lo, sizeof(lo));
	config_cv_size_str(max, hi, sizeof(hi));
	if (value[0] == '\0')
		return fw_err_setc(err, FW_E_INVALID, "empty value, expected a size from %s to %s", lo, hi);
	end = parse_digits(value, &v, &overflow);
	if (end == value)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a size (a number with an optional K, M, G or T suffix)", value);
	for (size_t i = 0; i < FW_ARRAY_LEN(size_suffixes); i++) {
		if (strcmp(end, size_suffixes[i].suffix) != 0)
			continue;
		if (overflow || v > (UINT64_MAX >> size_suffixes[i].shift))
			return fw_err_setc(err, FW_E_INVALID, "%s is out of range (%s to %s)", value, lo, hi);
		v <<= size_suffixes[i].shift;
		if (v < min || v > max)
			return fw_err_setc(err, FW_E_INVALID, "%s is out of range (%s to %s)", value, lo, hi);
		*out = v;
		return 0;
	}
	return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a size (a number with an optional K, M, G or T suffix)", value);
}

const char *config_cv_size_str(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	unsigned u = 0;

	while (u < 4 && bytes != 0 && (bytes & 1023) == 0) {
		bytes >>= 10;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[u - 1]);
	return buf;
}

int config_cv_bool(const char *value, bool *out, struct fw_err *err)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < FW_ARRAY_LEN(yes); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a boolean (true or false)", value);
}

int config_cv_rule_id(const char *value, char *dst, size_t dst_len, struct fw_err *err)
{
	if (value[0] == '\0')
		return fw_err_setc(err, FW_E_INVALID, "empty value, expected a rule app_id");
	for (const char *p = value; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not an app_id (letters, digits, _ - .)", value);
	return config_cv_copy(dst, dst_len, value, err);
}

int config_cv_user(const char *value, char *dst, size_t dst_len, struct fw_err *err)
{
	size_t len = strlen(value);

	/* The name goes to getpwnam and into messages: the portable subset
	 * (shadow's NAME_REGEX) keeps a path, an option or a uid out of it. */
	if (len > 32)
		return fw_err_setc(err, FW_E_INVALID, "a user name has at most 32 characters");
	for (size_t i = 0; i < len; i++) {
		char c = value[i];
		bool ok = (c >= 'a' && c <= 'z') || c == '_' ||
			  (i > 0 && ((c >= '0' && c <= '9') || c == '-' || (c == '$' && i == len - 1)));

		if (!ok)
			return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a user name ([a-z_][a-z0-9_-]*)", value);
	}
	return config_cv_copy(dst, dst_len, value, err);
}

int config_cv_check_file(const char *path, struct fw_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return fw_err_sys(err, errno, "\"%s\"", path);
	if (!S_ISREG(st.st_mode))
		return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a regular file", path);
	if (access(path, R_OK) != 0)
		return fw_err_sys(err, errno, "\"%s\"", path);
	return 0;
}

int config_cv_check_dir(const char *path, struct fw_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return fw_err_sys(err, errno, "\"%s\"", path);
	if (!S_ISDIR(st.st_mode))
		return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a directory", path);
	return 0;
}

int config_cv_check_file_or_dir(const char *path, struct fw_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return fw_err_sys(err, errno, "\"%s\"", path);
	if (S_ISDIR(st.st_mode))
		return 0;
	return config_cv_check_file(path, err);
}

/* libcurl's own URL parser decides what libcurl will later accept. */
int config_cv_url(const char *value, char *dst, size_t dst_len, struct fw_err *err)
{
	CURLU *u;
	CURLUcode uc;
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	if (value[0] == '\0') {
		dst[0] = '\0';
		return 0;
	}
	u = curl_url();
	if (u == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	uc = curl_url_set(u, CURLUPART_URL, value, 0);
	if (uc != CURLUE_OK) {
		fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a URL: %s", value, curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		fw_err_setc(err, FW_E_INVALID, "\"%s\": only http:// and https:// URLs are supported", value);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		fw_err_setc(err, FW_E_INVALID, "\"%s\" has no host", value);
		goto out;
	}
	rc = config_cv_copy(dst, dst_len, value, err);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* The words of the enumerated options, read by the parsers below and
 * printed by the effective-config dump (fw_config_dump); the sandbox
 * backends' are the verdict vocabulary's (fwgate/verdict.h). */
const char *fw_proxy_auth_name(enum fw_proxy_auth a)
{
	return a == FW_PROXY_AUTH_BASIC ? "basic" : "none";
}

int config_cv_backend(const char *value, enum fw_sandbox_backend *out, struct fw_err *err)
{
	if (fw_sandbox_backend_parse(value, out) == 0)
		return 0;
	return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a sandbox backend (local, cape or none)", value);
}

int config_cv_proxy_auth(const char *value, enum fw_proxy_auth *out, struct fw_err *err)
{
	static const enum fw_proxy_auth all[] = { FW_PROXY_AUTH_NONE, FW_PROXY_AUTH_BASIC };

	for (size_t i = 0; i < FW_ARRAY_LEN(all); i++) {
		if (strcmp(value, fw_proxy_auth_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a proxy authentication (none or basic)", value);
}

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },	    { "auth", LOG_AUTH },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

int config_cv_facility(const char *value, int *out, struct fw_err *err)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(facilities); i++) {
		if (strcmp(value, facilities[i].name) == 0) {
			*out = facilities[i].facility;
			return 0;
		}
	}
	return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a syslog facility (daemon, user, auth, local0..local7)", value);
}

const char *config_cv_facility_name(int facility)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(facilities); i++)
		if (facilities[i].facility == facility)
			return facilities[i].name;
	return "?";
}

static int parse_port(const char *p, uint16_t *port, const char *value, struct fw_err *err)
{
	uint64_t v = 0;
	struct fw_err inner;

	fw_err_clear(&inner);
	if (config_cv_uint(p, 1, 65535, &v, &inner) != 0)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\": port \"%s\" is not a number from 1 to 65535", value, p);
	*port = (uint16_t)v;
	return 0;
}

/* An IP literal (v6 without brackets) into ip/ipv6. */
static int parse_ip(const char *text, size_t len, char *ip, size_t ip_len, bool *ipv6)
{
	unsigned char bin[16];

	if (len == 0 || len >= ip_len)
		return -1;
	memcpy(ip, text, len);
	ip[len] = '\0';
	if (inet_pton(AF_INET, ip, bin) == 1) {
		*ipv6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, bin) == 1) {
		*ipv6 = true;
		return 0;
	}
	return -1;
}

/* "IPv4:port" or "[IPv6]:port" -> ip text, version and the port text. */
static int split_ip_port(const char *value, char *ip, size_t ip_len, bool *ipv6,
			 const char **port, struct fw_err *err)
{
	const char *colon;

	if (value[0] == '[') {
		const char *close = strchr(value, ']');

		if (close == NULL || close[1] != ':' ||
		    parse_ip(value + 1, (size_t)(close - value - 1), ip, ip_len, ipv6) != 0 || !*ipv6) {
			fw_err_setc(err, FW_E_INVALID, "\"%s\" is not an address (expected IPv4:port or [IPv6]:port)",
				    value);
			return -1;
		}
		*port = close + 2;
		return 0;
	}
	colon = strchr(value, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL ||
	    parse_ip(value, (size_t)(colon - value), ip, ip_len, ipv6) != 0) {
		fw_err_setc(err, FW_E_INVALID, "\"%s\" is not an address (expected IPv4:port or [IPv6]:port)", value);
		return -1;
	}
	*port = colon + 1;
	return 0;
}

int config_cv_listen_addr(const char *value, struct fw_listen_addr *out, struct fw_err *err)
{
	const char *port = NULL;

	memset(out, 0, sizeof(*out));
	if (split_ip_port(value, out->ip, sizeof(out->ip), &out->ipv6, &port, err) != 0)
		return -1;
	return parse_port(port, &out->port, value, err);
}

int config_cv_resolve(const char *value, struct fw_resolve *out, struct fw_err *err)
{
	const char *c1, *c2, *addr, *why;
	char port[8] = "";
	size_t alen;

	memset(out, 0, sizeof(*out));
	c1 = strchr(value, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c1 == NULL || c2 == NULL)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not host:port:address", value);
	/* Stored in the canonical form the proxy looks names up by. */
	if (fw_host_check(value, (size_t)(c1 - value), out->host, sizeof(out->host), &why) != 0)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\": \"%.*s\" is not a host name", value,
				  (int)(c1 - value), value);
	if ((size_t)(c2 - c1 - 1) >= sizeof(port))
		return fw_err_setc(err, FW_E_INVALID, "\"%s\": port is not a number from 1 to 65535", value);
	memcpy(port, c1 + 1, (size_t)(c2 - c1 - 1));
	port[c2 - c1 - 1] = '\0';
	if (parse_port(port, &out->port, value, err) != 0)
		return -1;
	addr = c2 + 1;
	alen = strlen(addr);
	if (alen >= 2 && addr[0] == '[' && addr[alen - 1] == ']') {
		addr++;
		alen -= 2;
	}
	if (parse_ip(addr, alen, out->ip, sizeof(out->ip), &out->ipv6) != 0)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\": \"%s\" is not an IP address", value, c2 + 1);
	return 0;
}

const char *config_cv_resolve_str(const struct fw_resolve *r, char *buf, size_t len)
{
	snprintf(buf, len, r->ipv6 ? "%s:%u:[%s]" : "%s:%u:%s", r->host, (unsigned)r->port, r->ip);
	return buf;
}
