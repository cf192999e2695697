/* The verdict vocabulary: names and parsers of verdicts and file types, one
 * table each, so that every module spells them alike. Must not judge or
 * aggregate, and must not depend on any library beyond libc. */
#include <string.h>

#include "fwgate/verdict.h"

static const char *const verdict_names[] = {
	[FW_VERDICT_CLEAN] = "clean",
	[FW_VERDICT_PENDING] = "pending",
	[FW_VERDICT_SUSPICIOUS] = "suspicious",
	[FW_VERDICT_UNSCANNABLE] = "unscannable",
	[FW_VERDICT_INFECTED] = "infected",
};

static const char *const file_type_names[] = {
	[FW_FT_FIRMWARE_IMAGE] = "firmware_image",
	[FW_FT_PE] = "pe",
	[FW_FT_ARCHIVE] = "archive",
	[FW_FT_OTHER] = "other",
};

const char *fw_verdict_name(enum fw_verdict v)
{
	if ((unsigned)v >= FW_ARRAY_LEN(verdict_names))
		return "unscannable";
	return verdict_names[v];
}

int fw_verdict_parse(const char *s, enum fw_verdict *out)
{
	for (unsigned i = 0; i < FW_ARRAY_LEN(verdict_names); i++)
		if (strcmp(s, verdict_names[i]) == 0) {
			*out = (enum fw_verdict)i;
			return 0;
		}
	return -1;
}

const char *fw_file_type_name(enum fw_file_type t)
{
	return (unsigned)t < FW_ARRAY_LEN(file_type_names) ? file_type_names[t] : "?";
}

int fw_file_type_parse(const char *s, enum fw_file_type *out)
{
	for (unsigned i = 0; i < FW_ARRAY_LEN(file_type_names); i++)
		if (strcmp(s, file_type_names[i]) == 0) {
			*out = (enum fw_file_type)i;
			return 0;
		}
	return -1;
}

static const char *const backend_names[] = { "local", "cape", "none" };

const char *fw_sandbox_backend_name(enum fw_sandbox_backend b)
{
	return (unsigned)b < FW_ARRAY_LEN(backend_names) ? backend_names[b] : "?";
}

int fw_sandbox_backend_parse(const char *s, enum fw_sandbox_backend *out)
{
	for (unsigned i = 0; i < FW_ARRAY_LEN(backend_names); i++)
		if (strcmp(s, backend_names[i]) == 0) {
			*out = (enum fw_sandbox_backend)i;
			return 0;
		}
	return -1;
}
