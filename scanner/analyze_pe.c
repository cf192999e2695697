/* The analyzer's executable checks (scanner/analyze.h): PE header facts
 * of the member itself and executables embedded at unexpected offsets.
 * Hostile input: every read goes through the bounds-checked helpers. Must
 * not open files or sockets, log or decide a verdict. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scanner/analyze_int.h"

/* Imported by name with an optional A/W/Ex/ExA/ExW suffix. */
static const char *const an_bad_imports[] = {
	"VirtualAllocEx", "WriteProcessMemory", "CreateRemoteThread", "NtUnmapViewOfSection",
	"QueueUserAPC", "SetWindowsHookEx", "URLDownloadToFile", "InternetOpen", "InternetOpenUrl",
	"WinExec", "ShellExecute",
};
/* ------------------------------------------------------------ executables */

struct an_pe {
	size_t base, opt, sects, dirs;
	uint16_t nsect, subsystem;
	uint32_t ndirs, headers_size;
	unsigned n_ok;                   /* section headers inside the member */
	bool plus;
};

/* DOS header, "PE\0\0" at e_lfanew, COFF header and the optional header's
 * magic, all inside the member; base is where the "MZ" is. */
static bool an_pe_parse(const struct an *a, size_t base, struct an_pe *pe)
{
	uint16_t mz, magic, opt_size;
	uint32_t lfanew, sig;
	size_t coff, dir_rel;

	memset(pe, 0, sizeof(*pe));
	pe->base = base;
	if (!an_rd16(a, base, 0, &mz) || mz != 0x5a4d || !an_rd32(a, base, 0x3c, &lfanew) || lfanew < 0x40 ||
	    !an_span(a, base, lfanew, 24, &coff) || !an_rd32(a, coff, 0, &sig) || sig != 0x00004550)
		return false;
	pe->nsect = an_le16(a->p + coff + 6);
	opt_size = an_le16(a->p + coff + 20);
	if (!an_span(a, coff, 24, 0, &pe->opt) || !an_rd16(a, pe->opt, 0, &magic) ||
	    (magic != 0x10b && magic != 0x20b))
		return false;
	pe->plus = magic == 0x20b;
	dir_rel = pe->plus ? 112 : 96;
	if (!an_rd32(a, pe->opt, 60, &pe->headers_size) || !an_rd16(a, pe->opt, 68, &pe->subsystem) ||
	    !an_rd32(a, pe->opt, dir_rel - 4, &pe->ndirs))
		return false;
	/* Directories past SizeOfOptionalHeader are not the image's. */
	if (opt_size < dir_rel)
		pe->ndirs = 0;
	else if (pe->ndirs > (opt_size - dir_rel) / 8)
		pe->ndirs = (uint32_t)((opt_size - dir_rel) / 8);
	pe->dirs = pe->opt + dir_rel;
	return __builtin_add_overflow(pe->opt, (size_t)opt_size, &pe->sects) == 0;
}

static bool an_pe_dir(const struct an *a, const struct an_pe *pe, unsigned idx, uint32_t *rva, uint32_t *size)
{
	return idx < pe->ndirs && an_rd32(a, pe->dirs, (size_t)idx * 8, rva) &&
	       an_rd32(a, pe->dirs, (size_t)idx * 8 + 4, size);
}

/* An RVA to a member offset through the section headers examined. */
static bool an_pe_rva(const struct an *a, const struct an_pe *pe, uint32_t rva, size_t *out)
{
	for (unsigned i = 0; i < pe->n_ok; i++) {
		const uint8_t *s = a->p + pe->sects + (size_t)i * 40;
		uint32_t va = an_le32(s + 12), raw = an_le32(s + 16), ptr = an_le32(s + 20);

		if (rva >= va && rva - va < raw)
			return an_span(a, ptr, rva - va, 1, out);
	}
	if (rva < pe->headers_size && rva < a->len) {
		*out = rva;
		return true;
	}
	return false;
}

static void an_pe_sections(struct an *a, struct an_pe *pe)
{
	unsigned want = pe->nsect;
	char name[8 * 4 + 1];
	size_t e;

	if (want > a->lim->max_pe_sections) {
		an_pe_bad(a, pe->sects, "the PE declares %u sections; only the first %u were examined", want,
			  a->lim->max_pe_sections);
		want = a->lim->max_pe_sections;
	}
	for (unsigned i = 0; i < want; i++) {
		const uint8_t *s;
		uint32_t raw, ptr, ch;

		if (!an_span(a, pe->sects, (size_t)i * 40, 40, &e)) {
			an_pe_bad(a, pe->sects, "the section table runs past the end of the file (section %u of %u)", i,
				  pe->nsect);
			return;
		}
		pe->n_ok = i + 1;
		s = a->p + e;
		raw = an_le32(s + 16);
		ptr = an_le32(s + 20);
		ch = an_le32(s + 36);
		an_escape(s, strnlen((const char *)s, 8), name, sizeof(name));
		if ((ch & 0x20000000u) && (ch & 0x80000000u))
			an_add(a, AN_PE_WX, W(AN_PE_WX), e, "section \"%s\" is writable and executable", name);
		if (raw < AN_SECTION_MIN_BYTES)
			continue;
		if (ptr > a->len || raw > a->len - ptr) {
			an_pe_bad(a, e, "section \"%s\" has its data outside the file", name);
			continue;
		}
		double h = an_entropy(a->p + ptr, raw);
		if (h > AN_HIGH_BITS)
			an_add(a, AN_PE_PACKED, W(AN_PE_PACKED), ptr, "section \"%s\" has entropy %.2f over %" PRIu32 " bytes",
			       name, h, raw);
	}
}

static void an_pe_security(struct an *a, const struct an_pe *pe)
{
	uint32_t off, size;

	if (an_pe_dir(a, pe, 4, &off, &size) && size != 0) {
		/* Only its presence is a fact here; verifying it is not this module's. */
		if (off > a->len || size > a->len - off)
			an_pe_bad(a, pe->dirs + 32, "the certificate table lies outside the file");
		return;
	}
	/* EFI drivers and applications (subsystems 10..13) ship inside firmware
	 * volumes that are signed as a whole: unsigned is their normal state. */
	if (pe->subsystem >= 10 && pe->subsystem <= 13)
		return;
	an_add(a, AN_PE_UNSIGNED, W(AN_PE_UNSIGNED), 0, "no Authenticode signature (empty security directory)");
}

static void an_pe_import_name(struct an *a, size_t off, size_t thunk_off)
{
	size_t max = a->len - off < AN_IMPORT_NAME_MAX ? a->len - off : AN_IMPORT_NAME_MAX;
	const char *name = (const char *)a->p + off;
	size_t n = strnlen(name, max);

	if (n == max)
		return;   /* no NUL within bounds: not a name */
	for (size_t i = 0; i < FW_ARRAY_LEN(an_bad_imports); i++) {
		size_t bl = strlen(an_bad_imports[i]);
		const char *rest = name + bl;

		if (n < bl || memcmp(name, an_bad_imports[i], bl) != 0 || (a->imports_seen & (1u << i)))
			continue;
		if (strcmp(rest, "") && strcmp(rest, "A") && strcmp(rest, "W") && strcmp(rest, "Ex") &&
		    strcmp(rest, "ExA") && strcmp(rest, "ExW"))
			continue;
		a->imports_seen |= 1u << i;
		an_add(a, AN_PE_IMPORT, W(AN_PE_IMPORT), thunk_off, "imports %s", name);
	}
}

/* One DLL's thunk array; every entry read costs one unit of budget. */
static void an_pe_thunks(struct an *a, const struct an_pe *pe, uint32_t rva, size_t *budget)
{
	size_t t, step = pe->plus ? 8 : 4, name;

	if (!an_pe_rva(a, pe, rva, &t)) {
		an_pe_bad(a, pe->dirs + 8, "an import thunk array (RVA 0x%" PRIx32 ") is outside the file", rva);
		return;
	}
	for (;; t += step) {
		uint32_t lo, hi = 0;

		if (*budget == 0)
			return;
		(*budget)--;
		if (!an_rd32(a, t, 0, &lo) || (pe->plus && !an_rd32(a, t, 4, &hi))) {
			an_pe_bad(a, t, "an import thunk array runs past the end of the file");
			return;
		}
		if (lo == 0 && hi == 0)
			return;
		if ((pe->plus ? hi & 0x80000000u : lo & 0x80000000u) || hi != 0)
			continue;   /* by ordinal, or not a name RVA */
		if (an_pe_rva(a, pe, lo, &name) && an_span(a, name, 2, 0, &name))
			an_pe_import_name(a, name, t);
	}
}

static void an_pe_imports(struct an *a, const struct an_pe *pe)
{
	size_t d, budget = a->lim->max_imports;
	uint32_t rva, size;

	if (!an_pe_dir(a, pe, 1, &rva, &size) || rva == 0)
		return;
	if (!an_pe_rva(a, pe, rva, &d)) {
		an_pe_bad(a, pe->dirs + 8, "the import directory (RVA 0x%" PRIx32 ") is outside the file", rva);
		return;
	}
	for (;; d += 20) {
		uint32_t oft, name, ft;

		if (budget == 0)
			break;
		budget--;
		if (!an_rd32(a, d, 0, &oft) || !an_rd32(a, d, 12, &name) || !an_rd32(a, d, 16, &ft)) {
			an_pe_bad(a, d, "the import directory runs past the end of the file");
			return;
		}
		if (oft == 0 && name == 0 && ft == 0)
			return;
		an_pe_thunks(a, pe, oft != 0 ? oft : ft, &budget);
	}
	an_add(a, AN_LIMIT, W(AN_LIMIT), 0, "import analysis stopped after %zu entries (max_imports)",
	       a->lim->max_imports);
}

void an_pe(struct an *a)
{
	struct an_pe pe;

	if (!an_pe_parse(a, 0, &pe))
		return;
	an_pe_sections(a, &pe);
	an_pe_security(a, &pe);
	an_pe_imports(a, &pe);
}

static bool an_elf_valid(const struct an *a, size_t off)
{
	const uint8_t *e = a->p + off;
	size_t left = a->len - off;
	bool big;
	uint16_t type, ehsize;
	uint32_t version;

	if (left < 52 || (e[4] != 1 && e[4] != 2) || (e[5] != 1 && e[5] != 2) || e[6] != 1 ||
	    (e[4] == 2 && left < 64))
		return false;
	big = e[5] == 2;
	type = big ? (uint16_t)(e[16] << 8 | e[17]) : an_le16(e + 16);
	version = big ? an_be32(e + 20) : an_le32(e + 20);
	ehsize = big ? (uint16_t)(e[e[4] == 1 ? 40 : 52] << 8 | e[e[4] == 1 ? 41 : 53]) : an_le16(e + (e[4] == 1 ? 40 : 52));
	return type >= 1 && type <= 4 && version == 1 && ehsize == (e[4] == 1 ? 52 : 64);
}

static bool an_macho_cpu(uint32_t cpu)
{
	cpu &= 0x00ffffffu;   /* without the 64-bit ABI flag */
	return cpu == 7 || cpu == 12 || cpu == 18;   /* x86, ARM, PowerPC */
}

/* A fat header (cafebabe, also Java's class magic: a class's version
 * makes nfat_arch >= 45, refused here) with sane slices inside the member. */
static bool an_macho_fat(struct an *a, size_t off, bool record)
{
	size_t left = a->len - off, end;
	uint32_t n = left >= 8 ? an_be32(a->p + off + 4) : 0;

	if (n == 0 || n > AN_FAT_MAX || left - 8 < (size_t)n * 20)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *f = a->p + off + 8 + (size_t)i * 20;
		uint32_t so = an_be32(f + 8), sz = an_be32(f + 12);

		if (!an_macho_cpu(an_be32(f)) || an_be32(f + 16) > 15 || __builtin_add_overflow((size_t)so, (size_t)sz, &end) ||
		    end > left)
			return false;
	}
	for (uint32_t i = 0; i < n && record; i++)
		a->fat[a->n_fat++] = an_be32(a->p + off + 8 + (size_t)i * 20 + 8);
	return true;
}

static bool an_macho_valid(struct an *a, size_t off)
{
	const uint8_t *m = a->p + off;
	size_t left = a->len - off, hdr;
	uint32_t magic = an_be32(m), cpu, type, ncmds, sizeofcmds;
	bool swap = magic == 0xcefaedfeu || magic == 0xcffaedfeu;

	if (magic == 0xcafebabeu)
		return an_macho_fat(a, off, false);
	for (size_t i = 0; i < a->n_fat; i++)
		if (a->fat[i] == off)
			return false;   /* a slice of the member itself */
	hdr = (magic == 0xfeedfacfu || magic == 0xcffaedfeu) ? 32 : 28;
	if (left < hdr)
		return false;
	cpu = swap ? an_le32(m + 4) : an_be32(m + 4);
	type = swap ? an_le32(m + 12) : an_be32(m + 12);
	ncmds = swap ? an_le32(m + 16) : an_be32(m + 16);
	sizeofcmds = swap ? an_le32(m + 20) : an_be32(m + 20);
	return an_macho_cpu(cpu) && type >= 1 && type <= 12 && ncmds >= 1 && ncmds <= 4096 &&
	       sizeofcmds >= ncmds * 8u && sizeofcmds <= left - hdr;
}

static bool an_macho_magic(const uint8_t *q)
{
	uint32_t m = an_be32(q);

	return m == 0xfeedfaceu || m == 0xfeedfacfu || m == 0xcefaedfeu || m == 0xcffaedfeu || m == 0xcafebabeu;
}

/* Executable headers at offsets > 0 (at 0 it is the member itself). */
void an_embedded(struct an *a)
{
	size_t seen = 0;
	struct an_pe pe;

	if (a->len >= 8 && an_be32(a->p) == 0xcafebabeu)
		an_macho_fat(a, 0, true);
	for (size_t i = 1; i + 2 <= a->len; i++) {
		const uint8_t *q = a->p + i;
		bool four = a->len - i >= 4, ok;
		enum an_kind k;

		if (q[0] == 'M' && q[1] == 'Z' && !a->lim->embedded_pe_expected)
			k = AN_EMBEDDED_PE;
		else if (four && q[0] == 0x7f && memcmp(q, "\x7f" "ELF", 4) == 0)
			k = AN_EMBEDDED_ELF;
		else if (four && an_macho_magic(q))
			k = AN_EMBEDDED_MACHO;
		else
			continue;
		if (seen++ == a->lim->max_candidates) {
			an_add(a, AN_LIMIT, W(AN_LIMIT), i, "embedded-executable search stopped after %zu candidates",
			       a->lim->max_candidates);
			return;
		}
		ok = k == AN_EMBEDDED_PE ? an_pe_parse(a, i, &pe) :
		     k == AN_EMBEDDED_ELF ? an_elf_valid(a, i) : an_macho_valid(a, i);
		if (ok)
			an_add(a, k, W(k), i, "%s header at offset 0x%zx",
			       k == AN_EMBEDDED_PE ? "PE" : k == AN_EMBEDDED_ELF ? "ELF" : "Mach-O", i);
	}
}
