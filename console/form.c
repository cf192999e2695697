/* The console's one hand-written decoder of client bytes: the fields of
 * an application/x-www-form-urlencoded body (the login and review forms),
 * bounded by the body's size (CONSOLE_BODY_MAX) and a field count;
 * percent-decoding is libmicrohttpd's (MHD_http_unescape). Fuzzed by
 * tests/fuzz/fuzz_form.c. */
#include <string.h>

#include "console/console_int.h"

int console_form_parse(char *body, size_t len, struct form_field *fields, size_t max, size_t *n)
{
	char *p = body, *end = body + len;

	*n = 0;
	body[len] = '\0';
	while (p < end) {
		char *amp = memchr(p, '&', (size_t)(end - p)), *eq;

		if (amp == NULL)
			amp = end;
		*amp = '\0';
		if (*p != '\0') {
			eq = strchr(p, '=');
			if (eq == NULL || *n == max)
				return -1;
			*eq = '\0';
			for (char *q = p; q < amp; q++)
				if (*q == '+')
					*q = ' ';
			MHD_http_unescape(p);
			MHD_http_unescape(eq + 1);
			fields[*n].name = p;
			fields[*n].value = eq + 1;
			(*n)++;
		}
		p = amp + 1;
	}
	return 0;
}
