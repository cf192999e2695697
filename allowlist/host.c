/* Host names, IP literals, category names and URL keys as allowlist/ reads
 * them (RFC 1035 2.3.1 LDH labels, RFC 5890 A-labels, RFC 3986 6.2.2).
 * Must not resolve names: a name is judged by its spelling only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "allowlist/host.h"
#include "fwgate/allowlist.h"

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* The label out[start..end) is an A-label prefix ("xn--") with nothing after it. */
static bool empty_a_label(const char *out, size_t start, size_t end)
{
	return end - start == 4 && memcmp(out + start, "xn--", 4) == 0;
}

/* One label ends at out[end] ('.' or the end): checks its shape. */
static const char *label_check(const char *out, size_t start, size_t end)
{
	if (end == start)
		return "has an empty label";
	if (end - start > 63)
		return "has a label longer than 63 octets";
	if (empty_a_label(out, start, end))
		return "has an IDNA A-label (xn--) with nothing after the prefix";
	if (out[start] == '-' || out[end - 1] == '-')
		return "has a label that starts or ends with \"-\"";
	return NULL;
}

static const char *char_why(unsigned char c)
{
	if (c >= 0x80)
		return "contains non-ASCII bytes: write internationalized names as IDNA A-labels (xn--)";
	if (c == '_')
		return "contains \"_\", which host names may not";
	if (c == '*')
		return "contains \"*\": only an allow-list entry may start with \"*.\"";
	return "contains a character host names may not (only a-z, 0-9, \"-\" and \".\")";
}

/* RFC 3696 2: a top-level label is never all-numeric, so a name ending in
 * one is an IPv4 address in disguise (10.1, 127.0.0.1). */
static bool last_label_numeric(const char *out, size_t len)
{
	size_t i = len;

	while (i > 0 && out[i - 1] != '.') {
		if (out[i - 1] < '0' || out[i - 1] > '9')
			return false;
		i--;
	}
	return i < len;
}

int allow_host_check(const char *name, size_t len, char *out, size_t out_len, const char **why)
{
	struct in_addr a4;
	size_t start = 0;

	*why = NULL;
	if (out_len > 0)
		out[0] = '\0';
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "is empty";
		return -1;
	}
	if (len > 253 || len >= out_len) {
		*why = "is longer than 253 octets";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = lower(name[i]);

		if (c == '.') {
			if ((*why = label_check(out, start, i)) != NULL)
				goto bad;
			start = i + 1;
		} else if (!is_ldh(c)) {
			*why = char_why((unsigned char)c);
			goto bad;
		}
		out[i] = c;
	}
	if ((*why = label_check(out, start, len)) != NULL)
		goto bad;
	out[len] = '\0';
	/* getaddrinfo() would take "0x7f000001" or "127.1" as an address. */
	if (inet_aton(out, &a4) != 0) {
		*why = "is an IP address, not a host name";
		goto bad;
	}
	if (last_label_numeric(out, len)) {
		*why = "ends in an all-numeric label, as only an IP address does";
		goto bad;
	}
	return 0;
bad:
	out[0] = '\0';
	return -1;
}

bool allow_host_is_ip(const char *name, size_t len)
{
	char buf[FW_HOST_MAX + 2];
	struct in6_addr a6;
	struct in_addr a4;

	if (len > 0 && (name[0] == '[' || memchr(name, ':', len) != NULL))
		return true;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (inet_aton(buf, &a4) != 0 || inet_pton(AF_INET6, buf, &a6) == 1)
		return true;
	return last_label_numeric(buf, len) && strspn(buf, "0123456789.") == len;
}

int allow_category_check(const char *name, size_t len, char *out)
{
	out[0] = '\0';
	if (len == 0 || len >= ALLOW_CATEGORY_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = lower(name[i]);

		if (!is_ldh(c) && c != '_' && c != '.')
			return -1;
		out[i] = c;
	}
	out[len] = '\0';
	return 0;
}

static int hexval(char c)
{
	c = lower(c);
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 3986 2.3: escapes of ALPHA DIGIT - . _ ~ mean the character itself. */
static bool unreserved(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Appends src[0..len) to out at *n: lower-cased, unreserved escapes decoded. */
static int key_copy(const char *src, size_t len, char *out, size_t *n, const char **why)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c <= 0x20 || c >= 0x7f) {
			*why = "has a space, control or non-ASCII byte in its path";
			return -1;
		}
		if (c == '%' && i + 2 < len && hexval(src[i + 1]) >= 0 && hexval(src[i + 2]) >= 0) {
			int v = hexval(src[i + 1]) * 16 + hexval(src[i + 2]);

			if (unreserved(v)) {
				out[(*n)++] = lower((char)v);
				i += 2;
				continue;
			}
		}
		out[(*n)++] = lower((char)c);
	}
	return 0;
}

/* RFC 3986 5.2.4 remove_dot_segments, and empty segments dropped: the
 * key must name what the origin will serve. libcurl itself resolves
 * "/a/../b" before sending, so "/good/../bad" is "/bad" here too. */
static int key_path(const char *path, size_t len, char *out, size_t root, size_t *n, const char **why)
{
	size_t i = 0;

	while (i < len) {
		size_t start, mark = *n;

		if (path[i] == '/') {
			i++;
			continue;
		}
		for (start = i; i < len && path[i] != '/'; i++)
			;
		out[(*n)++] = '/';
		if (key_copy(path + start, i - start, out, n, why) != 0)
			return -1;
		if (*n - mark == 2 && out[mark + 1] == '.') {
			*n = mark;
		} else if (*n - mark == 3 && out[mark + 1] == '.' && out[mark + 2] == '.') {
			*n = mark;
			while (*n > root && out[*n - 1] != '/')
				(*n)--;
			if (*n > root)
				(*n)--;
		}
	}
	return 0;
}

int allow_url_key(const char *host, const char *path, size_t len, char *out, size_t out_len,
		  const char **why)
{
	size_t root = strlen(host), n = root;
	const char *q = memchr(path, '?', len);
	size_t plen = q != NULL ? (size_t)(q - path) : len;

	*why = NULL;
	out[0] = '\0';
	if (len > 0 && path[0] != '/' && path[0] != '?') {
		*why = "has a path that does not start with \"/\"";
		return -1;
	}
	/* Decoding and dot removal only shorten: the key fits when this fits. */
	if (root + len >= out_len) {
		*why = "is too long";
		return -1;
	}
	memcpy(out, host, root);
	if (key_path(path, plen, out, root, &n, why) != 0 ||
	    key_copy(path + plen, len - plen, out, &n, why) != 0) {
		out[0] = '\0';
		return -1;
	}
	out[n] = '\0';
	return 0;
}

void allow_display(char *out, size_t out_len, const char *src, size_t len)
{
	size_t n = 0;

	if (out_len == 0)
		return;
	for (size_t i = 0; i < len && n + 1 < out_len; i++) {
		unsigned char c = (unsigned char)src[i];

		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
	if (n < len && out_len >= 4)
		memcpy(out + out_len - 4, "...", 4);
}

int fw_host_normalize(const char *name, char *out, size_t out_len)
{
	const char *why;

	return allow_host_check(name, strnlen(name, FW_HOST_MAX + 1), out, out_len, &why);
}
