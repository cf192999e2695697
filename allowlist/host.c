/* Category names, URL keys (RFC 3986 6.2.2) and display copies as
 * allowlist/ reads them; host names are common/host.c's (fw_host_check).
 * Must not resolve names: a name is judged by its spelling only. */
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
