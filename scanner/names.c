/* Hostile names made safe to show: archive member names, UEFI UI names and
 * anything else a package names itself are escaped (control bytes, invalid
 * UTF-8, the chain separator '!' and '\\' as \\xNN) and cut to a bound
 * before they reach a member chain, a reason, a log line. Must not
 * interpret a name (no path is ever built from one). */
#include <stdio.h>
#include <string.h>

#include "scanner/scan_int.h"

#define NAME_SHOWN_MAX 255

static size_t utf8_len(const unsigned char *p, size_t avail)
{
	unsigned c = p[0];
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
	    (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

void scan_name_escape(const char *name, char *out, size_t out_len)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name), o = 0, shown = 0;

	for (size_t i = 0; i < len && o + 8 < out_len;) {
		size_t n = utf8_len(p + i, len - i);

		if (shown >= NAME_SHOWN_MAX) {
			o += (size_t)snprintf(out + o, out_len - o, "...");
			break;
		}
		if (n == 0 || p[i] < 0x20 || p[i] == 0x7f || p[i] == '!' || p[i] == '\\') {
			o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", p[i]);
			i++;
		} else {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		}
		shown++;
	}
	out[o] = '\0';
}
