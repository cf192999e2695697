/* Step 5 of the decision: the address an allowed name resolved to. Stops
 * DNS answers (or rebinding) that point the gateway at itself, the local
 * network or a cloud metadata service. Must not resolve or connect. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "fwgate/allowlist.h"

/* What a non-public IPv4 address is (host byte order), or NULL. */
static const char *v4_class(uint32_t a)
{
	if ((a >> 24) == 0)
		return "an unspecified address";
	if ((a >> 24) == 127)
		return "a loopback address";
	if ((a >> 24) == 10 || (a & 0xfff00000u) == 0xac100000u || (a & 0xffff0000u) == 0xc0a80000u)
		return "a private (RFC 1918) address";
	if (a == 0xa9fea9feu) /* 169.254.169.254 */
		return "a cloud metadata address";
	if ((a & 0xffff0000u) == 0xa9fe0000u)
		return "a link-local address";
	if ((a & 0xffc00000u) == 0x64400000u)
		return "a shared (CGNAT, RFC 6598) address";
	if ((a & 0xf0000000u) == 0xe0000000u)
		return "a multicast address";
	if ((a & 0xf0000000u) == 0xf0000000u)
		return "a reserved address";
	return NULL;
}

static uint32_t v4_at(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static bool zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* Forms that carry an IPv4 address inside IPv6: judged by that address. */
static const char *v6_embedded(const uint8_t *b, char *buf, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
	const char *form = NULL, *c = NULL;

	if (memcmp(b, mapped, 12) == 0) {
		form = "IPv4-mapped";
		c = v4_class(v4_at(b + 12));
	} else if (memcmp(b, nat64, 12) == 0) {
		form = "NAT64";
		c = v4_class(v4_at(b + 12));
	} else if (b[0] == 0x20 && b[1] == 0x02) {
		form = "6to4";
		c = v4_class(v4_at(b + 2));
	}
	if (c == NULL)
		return NULL;
	snprintf(buf, len, "the %s form of %s", form, c);
	return buf;
}

static const char *v6_class(const uint8_t *b, char *buf, size_t len)
{
	static const uint8_t metadata[16] = { 0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54 };
	const char *c = v6_embedded(b, buf, len);

	if (c != NULL)
		return c;
	if (zero(b, 16))
		return "an unspecified address";
	if (zero(b, 15) && b[15] == 1)
		return "a loopback address";
	if (zero(b, 12))
		return "a deprecated IPv4-compatible address";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "a link-local address";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return "a site-local address";
	if (memcmp(b, metadata, 16) == 0) /* fd00:ec2::254 */
		return "a cloud metadata address";
	if ((b[0] & 0xfe) == 0xfc)
		return "a unique-local (fc00::/7) address";
	if (b[0] == 0xff)
		return "a multicast address";
	return NULL;
}

bool fw_allowlist_addr_check(const char *host, const struct sockaddr *sa, socklen_t len,
			     bool allow_private, struct fw_decision_result *out)
{
	char ip[INET6_ADDRSTRLEN] = "?", buf[96];
	const char *what = NULL;

	memset(out, 0, sizeof(*out));
	out->step = FW_STEP_ADDRESS;
	if (sa->sa_family == AF_INET && (size_t)len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in s4;

		memcpy(&s4, sa, sizeof(s4));
		inet_ntop(AF_INET, &s4.sin_addr, ip, sizeof(ip));
		what = v4_class(ntohl(s4.sin_addr.s_addr));
	} else if (sa->sa_family == AF_INET6 && (size_t)len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 s6;

		memcpy(&s6, sa, sizeof(s6));
		inet_ntop(AF_INET6, &s6.sin6_addr, ip, sizeof(ip));
		what = v6_class(s6.sin6_addr.s6_addr, buf, sizeof(buf));
	} else {
		out->decision = FW_DECISION_BLOCK;
		snprintf(out->reason, sizeof(out->reason),
			 "%.253s resolved to an address that is neither IPv4 nor IPv6", host);
		return false;
	}
	if (what == NULL || allow_private) {
		out->decision = FW_DECISION_ALLOW;
		snprintf(out->reason, sizeof(out->reason), "%.253s resolved to %s, %s", host, ip,
			 what == NULL ? "a public address" : what);
		if (what != NULL)
			snprintf(out->reason + strlen(out->reason), sizeof(out->reason) - strlen(out->reason),
				 "%s", ", allowed by [upstream] allow_private");
		return true;
	}
	out->decision = FW_DECISION_BLOCK;
	snprintf(out->reason, sizeof(out->reason),
		 "%.253s resolved to %s, %s, which the gateway does not connect to", host, ip, what);
	return false;
}
