/* What a UEFI parse hands its caller (modules, problems, the byte budget
 * of decompressions, data regions no structure accounts for) and how it
 * names things (GUIDs, member chains cut visibly at a bound). A leaf of
 * the UEFI parser: must not parse a structure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scanner/uefi_int.h"

void uefi_guid_str(const uint8_t *g, char out[37])
{
	snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", le32(g), le16(g + 4), le16(g + 6),
		 g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

void uefi_problem(struct parse *ps, enum fw_verdict v, const char *fmt, ...)
{
	char msg[FW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->sink->problem(ps->sink->arg, v, msg);
}

void uefi_chain_printf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
}

void uefi_chain_add(char *out, size_t len, const char *chain, const char *name)
{
	uefi_chain_printf(out, len, "%s!%s", chain, name);
}

bool uefi_all_bytes(const uint8_t *p, size_t len, uint8_t b)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != b)
			return false;
	return true;
}

void uefi_data_region(struct parse *ps, const char *chain, const char *label, unsigned depth, const uint8_t *p,
			size_t len)
{
	char name[CHAIN_MAX];
	struct uefi_module m = { .chain = name, .depth = depth, .kind = "DATA", .file_guid = "", .ui = "" };

	if (len == 0 || uefi_all_bytes(p, len, 0xff) || uefi_all_bytes(p, len, 0))
		return;
	uefi_chain_add(name, sizeof(name), chain, label);
	uefi_emit(ps, &m, p, len);
}

int uefi_emit(struct parse *ps, const struct uefi_module *m, const uint8_t *data, size_t len)
{
	if (ps->stopped)
		return -1;
	ps->modules++;
	if (ps->sink->module(ps->sink->arg, m, data, len) != 0) {
		ps->stopped = true;
		return -1;
	}
	return 0;
}

bool uefi_budget(struct parse *ps, uint64_t bytes)
{
	if (ps->stopped)
		return false;
	if (!ps->sink->budget(ps->sink->arg, bytes)) {
		ps->stopped = true;
		return false;
	}
	return true;
}
