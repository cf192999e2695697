/* Host names as fwgate reads them (include/fwgate/host.h): one check for
 * the configuration, the policy, the allow-list, the category database and
 * the proxy (RFC 1123 2.1 and RFC 1035 2.3.1 LDH labels, RFC 5890
 * A-labels, RFC 3696 2). Must not resolve a name: it is judged by its
 * spelling only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "fwgate/config.h"
#include "fwgate/host.h"

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

int fw_host_check(const char *name, size_t len, char *out, size_t out_len, const char **why)
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

bool fw_host_is_ip(const char *name, size_t len)
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

int fw_host_normalize(const char *name, char *out, size_t out_len)
{
	const char *why;

	return fw_host_check(name, strnlen(name, FW_HOST_MAX + 1), out, out_len, &why);
}

bool fw_host_valid(const char *name, size_t len)
{
	char out[FW_HOST_MAX];
	const char *why;

	return fw_host_check(name, len, out, sizeof(out), &why) == 0;
}
