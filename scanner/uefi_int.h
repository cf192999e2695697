/* Private to the UEFI parser (uefi.c: capsules, flash descriptors, the
 * entry points; uefi_fv.c: volumes, files, sections; uefi_sink.c: what a
 * parse hands its caller and how it names things): the state of one parse
 * and the helpers the parts share. Nothing here is for other files. */
#ifndef FWGATE_SCANNER_UEFI_INT_H
#define FWGATE_SCANNER_UEFI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scanner/uefi.h"

#define FV_HEADER_MIN 56          /* EFI_FIRMWARE_VOLUME_HEADER with one block map entry and its end */
#define FV_SIGNATURE_AT 40
#define CHAIN_MAX 4096

/* The state of one parse. */
struct parse {
	const struct uefi_sink *sink;
	unsigned base_depth;
	int modules;
	bool stopped;
};

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ------------------------------------------------------------ uefi_sink.c */

/* A GUID in its usual text form (the first three fields little-endian). */
void uefi_guid_str(const uint8_t *g, char out[37]);
/* A finding about the image, to the sink. */
void uefi_problem(struct parse *ps, enum fw_verdict v, const char *fmt, ...) FW_PRINTF(3, 4);
/* A member chain into out; one too long ends in "..." (a hostile nesting
 * or name cannot overflow it, and the cut is visible). */
void uefi_chain_printf(char *out, size_t len, const char *fmt, ...) FW_PRINTF(3, 4);
/* chain + "!" + name (name already escaped) into out. */
void uefi_chain_add(char *out, size_t len, const char *chain, const char *name);
bool uefi_all_bytes(const uint8_t *p, size_t len, uint8_t b);
/* Bytes no structure accounts for: nothing when erased (all 0xff or all
 * 0), else a DATA module the caller types, carves and judges. */
void uefi_data_region(struct parse *ps, const char *chain, const char *label, unsigned depth, const uint8_t *p,
		      size_t len);
/* A module to the sink: -1 (and the parse stopped) when the sink says stop. */
int uefi_emit(struct parse *ps, const struct uefi_module *m, const uint8_t *data, size_t len);
/* Bytes a decompression is about to produce: false stops the parse. */
bool uefi_budget(struct parse *ps, uint64_t bytes);

/* ------------------------------------------------------------ uefi_fv.c */

/* A firmware volume header at p that holds together; its header length
 * and the volume's length. */
bool uefi_volume_header_ok(const uint8_t *p, size_t len, uint32_t *hlen, uint64_t *fvlen);
/* A volume's file system GUID at g is one this parser reads (FFSv2, v3). */
bool uefi_known_fs(const uint8_t *g);
/* Every firmware volume in p (at most VOLUMES_MAX), parsed down to each
 * module; the bytes between and around them are DATA modules. */
void uefi_find_volumes(struct parse *ps, const uint8_t *p, size_t len, const char *chain, unsigned depth);

#endif
