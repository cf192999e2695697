/* Private to scanner/: the UEFI image parser (capsules, Intel flash
 * descriptors: uefi.c; firmware volumes, FFS files and their sections,
 * UEFI PI specification volume 3: uefi_fv.c) and the section
 * decompressors (uefi_decomp.c: LZMA and its x86 variant through liblzma,
 * Brotli through libbrotli, EFI/Tiano written here from the UEFI
 * specification). Pure functions over bytes in memory:
 * every module found is handed to the caller's sink, every problem is a
 * reason with a verdict; nothing here touches files or the verdict. */
#ifndef FWGATE_SCANNER_UEFI_H
#define FWGATE_SCANNER_UEFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwgate/err.h"
#include "fwgate/scanner.h"

/* Largest output of one decompressed section: a bound on hostile sizes
 * (fwupd caps its LZMA output at 128 MiB; real DXE volumes are a few). */
#define UEFI_DECOMP_MAX (256u * 1024 * 1024)

/* ------------------------------------------------------------ decompress */

enum uefi_decomp_result {
	UEFI_DECOMP_OK = 0,
	UEFI_DECOMP_CORRUPT,     /* not a stream of this kind, or damaged */
	UEFI_DECOMP_TOO_LARGE,   /* its declared size is over the cap given */
};

/* Each decompresses in (len bytes) into a new buffer *out of *out_len
 * bytes (to free()), never more than cap bytes; err says why on failure. */
enum uefi_decomp_result uefi_lzma(const uint8_t *in, size_t len, bool x86, size_t cap, uint8_t **out,
				  size_t *out_len, struct fw_err *err) FW_NONNULL(1, 5, 6);
/* EDK2's Brotli sections: 8 bytes of decompressed size, 8 of scratch size,
 * then the Brotli stream. */
enum uefi_decomp_result uefi_brotli(const uint8_t *in, size_t len, size_t cap, uint8_t **out, size_t *out_len,
				    struct fw_err *err) FW_NONNULL(1, 4, 5);
/* The EFI (position bits 4) or Tiano (5) compression of the UEFI
 * specification: CompressedSize, OriginalSize, then the bit stream. */
enum uefi_decomp_result uefi_efi(const uint8_t *in, size_t len, bool tiano, size_t cap, uint8_t **out,
				 size_t *out_len, struct fw_err *err) FW_NONNULL(1, 5, 6);

/* ------------------------------------------------------------ parse */

/* What a module handed to the sink is. */
struct uefi_module {
	const char *chain;        /* its full member chain */
	unsigned depth;
	const char *kind;         /* "PE32", "TE", "PIC", "COMPAT16", "RAW", "FREEFORM", "UNKNOWN" (sections),
				   * "FILE" (a raw file), "PAD" (a pad file with data), "DATA" (bytes no
				   * structure accounts for: free space, gaps, regions, unknown stores) */
	const char *file_guid;    /* "" when none */
	const char *ui;           /* the module's UI name (UTF-8, escaped), "" when none */
	bool executable;          /* PE32 or TE: typed pe */
};

/* The caller's side of a parse. */
struct uefi_sink {
	void *arg;
	/* A module's bytes (in memory only for the call). Returns -1 to stop
	 * the whole parse (a limit was hit; the reason is the caller's). */
	int (*module)(void *arg, const struct uefi_module *m, const uint8_t *data, size_t len);
	/* A finding about the image: unscannable or suspicious, with the
	 * sentence. */
	void (*problem)(void *arg, enum fw_verdict v, const char *msg);
	/* Bytes some decompression is about to produce: false stops the
	 * parse (over the caller's byte or ratio budget, or its time). */
	bool (*budget)(void *arg, uint64_t bytes);
	/* Optional: a compressed section (header and stream, in the bytes
	 * the parse was given or in a decompressed buffer) that decoded to
	 * its declared size; called before its contents are parsed. */
	void (*opened)(void *arg, const uint8_t *sec, size_t len);
	unsigned max_depth;       /* nesting of volumes and sections below the caller's depth */
};

/* True when the bytes look like something uefi_parse understands at
 * their start (a capsule, a flash descriptor image, a volume) or hold a
 * firmware volume header at an aligned offset. */
bool uefi_detect(const uint8_t *p, size_t len) FW_NONNULL(1);

/* Parses an image: a capsule (EFI, FMP, AMI Aptio, Intel, Lenovo,
 * Toshiba), an Intel flash descriptor image (its regions named, the BIOS
 * region parsed), or raw bytes holding firmware volumes; every volume's
 * files and sections down to each module, through nested volumes and
 * compressed sections. chain names the input; depth is its depth. Returns
 * the number of modules handed to the sink, or -1 when the sink stopped. */
int uefi_parse(const uint8_t *p, size_t len, const char *chain, unsigned depth, const struct uefi_sink *sink)
	FW_NONNULL(1, 3, 5);

#endif
