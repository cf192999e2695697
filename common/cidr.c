/* CIDR networks: strict parsing and membership of socket addresses.
 * Must not resolve names: only numeric addresses are networks. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwgate/cidr.h"

int fw_cidr_parse(const char *text, struct fw_cidr *out, struct fw_err *err)
{
	char addr[FW_CIDR_TEXT_MAX];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix;
	unsigned max;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr))
		return fw_err_setc(err, FW_E_INVALID, "\"%.80s\" is not a network (a.b.c.d/n or x:y::z/n)", text);
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->v6 = true;
		max = 128;
	} else {
		return fw_err_setc(err, FW_E_INVALID, "\"%.80s\" is not a numeric IPv4 or IPv6 address", addr);
	}
	prefix = max;
	if (slash != NULL) {
		char *end;

		if (slash[1] < '0' || slash[1] > '9')
			return fw_err_setc(err, FW_E_INVALID, "\"%.80s\": the prefix length must be a number", text);
		prefix = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || prefix > max)
			return fw_err_setc(err, FW_E_INVALID, "\"%.80s\": the prefix length must be 0 to %u", text, max);
	}
	out->prefix = (uint8_t)prefix;
	/* Host bits set: "10.1.2.3/8" names no network; say which was meant. */
	for (unsigned bit = (unsigned)prefix; bit < max; bit++)
		if (out->addr[bit / 8] & (0x80u >> (bit % 8))) {
			struct fw_cidr net = *out;
			char want[FW_CIDR_TEXT_MAX];

			for (unsigned b = (unsigned)prefix; b < max; b++)
				net.addr[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
			return fw_err_setc(err, FW_E_INVALID, "\"%.80s\" has host bits set: write %s", text,
					  fw_cidr_str(&net, want, sizeof(want)));
		}
	return 0;
}

const char *fw_cidr_str(const struct fw_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(c->v6 ? AF_INET6 : AF_INET, c->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, (unsigned)c->prefix);
	return buf;
}

static bool in_net(const struct fw_cidr *c, const uint8_t *a)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, a, full) != 0)
		return false;
	return rest == 0 || ((c->addr[full] ^ a[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool fw_cidr_list_contains(const struct fw_cidr *list, unsigned n, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t a[16];
	bool v6;

	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		v6 = false;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		v6 = true;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			memmove(a, a + 12, 4);
			v6 = false;
		}
	} else {
		return false;
	}
	for (unsigned i = 0; i < n; i++)
		if (list[i].v6 == v6 && in_net(&list[i], a))
			return true;
	return false;
}
