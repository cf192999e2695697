/* libFuzzer target: the console's form decoder (console/form.c), the
 * mirror's Range parser (console/mirror.c) and the page builder's
 * escaping (console/cbuf.c) on arbitrary bytes.
 * Properties: no crash, no read or write outside the body, every field
 * inside the body and NUL-terminated there, at most the bound of fields,
 * and escaped text that holds none of < > " ' & raw. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console/console_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_escaped(const char *s)
{
	struct cbuf b = { 0 };

	cbuf_html(&b, s);
	if (!b.oom && b.p != NULL && strpbrk(b.p, "<>\"'`") != NULL)
		abort();
	cbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form_field fields[CONSOLE_FIELDS_MAX];
	char *body;
	size_t n = 0;

	if (size > CONSOLE_BODY_MAX)
		return 0;
	/* Exactly the body plus the byte the decoder may end it with. */
	body = malloc(size + 1);
	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	{
		/* The mirror's Range field: a part always inside the image. */
		uint64_t off = 0, len = 0, sizes[] = { 0, 1, 1000, UINT64_MAX };

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (mirror_range(body, sizes[i], &off, &len) == 1 &&
			    (len == 0 || off >= sizes[i] || len > sizes[i] - off))
				abort();
	}
	if (console_form_parse(body, size, fields, CONSOLE_FIELDS_MAX, &n) == 0) {
		if (n > CONSOLE_FIELDS_MAX)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (fields[i].name < body || fields[i].name > body + size || fields[i].value < body ||
			    fields[i].value > body + size)
				abort();
			check_escaped(fields[i].name);
			check_escaped(fields[i].value);
		}
	}
	free(body);
	return 0;
}
