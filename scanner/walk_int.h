/* Private to the unpack walk (walk.c and the producers of child nodes it
 * calls: archive entries, sources in memory or at an offset, the UEFI
 * walk, payload carving and its coverage check, sandbox samples): the
 * state of one package's walk and the helpers that hold its limits.
 * Nothing here is for other parts of the scanner. */
#ifndef FWGATE_SCANNER_WALK_INT_H
#define FWGATE_SCANNER_WALK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "scanner/scan_int.h"

#define COPY_BUF (256 * 1024)
/* Below this many unpacked bytes no ratio is a bomb. */
#define RATIO_FLOOR_BYTES (1024 * 1024)

struct archive;
struct archive_entry;
struct node_hint;
struct walk_src;

struct walk {
	struct scan_walk_ctx *ctx;
	/* The node walk (walk.c's, set by scan_walk): types a node, then walks
	 * it as a container or queues it as a leaf. node is the root's
	 * document (depth 0) or NULL for a member, whose entry is made there;
	 * hint may be NULL; returns the node's entry. Producers of child nodes
	 * hand each child back through it, so that none of them calls walk.c
	 * and the recursion stays in one place. */
	json_t *(*node)(struct walk *w, int fd, bool own_fd, uint64_t size, const char *chain, unsigned depth,
			json_t *node, const char *sha256, const struct node_hint *hint);
	struct scan_report rep;
	uint64_t members;
	uint64_t total_bytes;
	uint64_t root_size;        /* the package's size, at least 1 */
	struct timespec deadline;
	bool halted;               /* a limit stopped the walk: the verdict is unscannable */
	unsigned char *copy;       /* COPY_BUF */
	unsigned samples;          /* sample files made: their temporary names */
	struct scan_stream *stream;/* the root is a download in progress (stream.c), or NULL */
	bool stream_adopted;       /* ... and its streamed ClamAV pass is the root's */
	unsigned stream_flags;     /* the flags of that pass */
};

/* What a producer knows of a child node beyond its bytes. */
struct node_hint {
	const char *file_type;     /* forced policy file type ("pe" for UEFI PE32/TE); NULL: from libmagic */
	const char *guid;          /* a UEFI module's file GUID, or NULL */
	const char *ui;            /* a UEFI module's UI name, or NULL */
	const char *section;       /* a UEFI section kind ("PE32"...), or NULL */
	int64_t offset;            /* a carved payload's offset in its parent, -1 when none */
	bool no_uefi;              /* do not parse it as a UEFI image again (it came out of one) */
};

/* ------------------------------------------------------------ walk_limits.c */

/* Counts bytes produced by a decompression against the total-bytes,
 * ratio and time limits; false (and the walk halted, with the reason)
 * when one is exceeded. */
bool walk_budget(struct walk *w, uint64_t bytes, const char *chain);

/* A limit stops the whole walk: unscannable, and nothing more is read. */
void walk_halt(struct walk *w, json_t *node, const char *fmt, ...) FW_PRINTF(3, 4);
bool walk_past_deadline(struct walk *w, const char *chain);

/* ------------------------------------------------------------ walk_source.c */

/* A child node from bytes in memory: counted against every limit, copied
 * into an unnamed file, hashed, then walked. Returns -1 when a limit
 * stopped the walk (the reason is recorded). */
int walk_bytes(struct walk *w, const uint8_t *data, size_t len, const char *chain, unsigned depth,
	       const struct node_hint *hint);

/* A new unnamed file in the scanner's temporary directory, or -1. */
int walk_tmpfile(struct walk *w);

/* A new libarchive reader with every format and filter the walk reads. */
struct archive *walk_reader_new(void);

/* A new reader (not yet opened) over the bytes [off, end) of fd, read
 * with pread; *src is its state. NULL (and nothing allocated) when out of
 * memory. walk_reader_free(NULL, NULL) is a no-op. */
struct archive *walk_reader_at(int fd, uint64_t off, uint64_t end, struct walk_src **src);
void walk_reader_free(struct archive *a, struct walk_src *src);

/* ------------------------------------------------------------ walk_samples.c */

/* A node of a type the sandbox judges: listed in doc.sandbox[] and, below
 * the root, kept as a sample. */
void walk_samples_add(struct walk *w, int fd, uint64_t size, const char *chain, unsigned depth,
		      const char *sha256, const char *ftype);

/* ------------------------------------------------------------ walk_archive.c */

/* The entries of an open container (r: the first header's answer), each
 * walked as a child; returns how many were read. */
uint64_t walk_entries(struct walk *w, struct archive *a, struct archive_entry *e, int r, uint64_t size,
		      const char *chain, unsigned depth);

/* libarchive's error on a, as the node's reason: encrypted, or corrupt. */
void walk_archive_error(struct walk *w, struct archive *a, json_t *node, const char *chain);

/* The number of entries a zip's central directory declares (its end
 * record, or the zip64 one), read from the last 64 KiB; -1 when it cannot
 * be found. */
int64_t walk_zip_declared(int fd, uint64_t size);

/* A payload that starts at off inside a node (fd, its bytes up to off +
 * len), read by libarchive from there and walked as a child node named
 * chain!@0xOFF (kind: what the carver took it for, in its entry's mime).
 * Returns 1 when it opened (its entries walked; *consumed the bytes the
 * stream took, exactly for compressed streams), 0 when libarchive reads
 * nothing there (why says what it said), -1 when a limit halted the walk. */
int walk_slice(struct walk *w, int fd, uint64_t off, uint64_t len, const char *chain, unsigned depth,
	       const char *kind, uint64_t *consumed, char *why, size_t why_len);

/* ------------------------------------------------------------ carve.c */

/* Payloads inside a leaf (carve.c): known layouts (makeself, Dell Update
 * Packages), installers no library reads (held), streams and archives at
 * any offset of a script, a PE or ELF overlay or unknown data (walked as
 * children through walk_slice), then the coverage check (compressed or
 * encrypted bytes no child accounts for: unscannable). mime is the
 * node's; media and documents other parsers read are exempt. */
void walk_carve(struct walk *w, int fd, uint64_t size, const char *chain, unsigned depth, json_t *node,
		const char *mime);

/* An archive libarchive read as the whole node (zip through its end
 * record, 7z and RAR self-extractors): what precedes it (an executable,
 * and whatever else was put between) goes through the same search and
 * coverage check as a leaf, so that nothing hides in front of it. */
enum walk_archive { WALK_ARCHIVE_ZIP, WALK_ARCHIVE_7Z, WALK_ARCHIVE_RAR };
void walk_carve_prefix(struct walk *w, int fd, uint64_t size, const char *chain, unsigned depth, json_t *node,
		       enum walk_archive kind);

/* The same search for the static analyzer, reading instead of walking:
 * the ranges of len bytes at p where a payload opens (at most max). */
size_t carve_opened_ranges(const uint8_t *p, size_t len, const struct scan_limits *lim, struct analyze_range *out,
			   size_t max);

/* The UEFI walk of a node (walk_uefi.c): true when the node is a UEFI
 * image (capsule, flash descriptor image, firmware volumes) and its
 * modules were walked as children; false when it is not one. */
bool walk_uefi(struct walk *w, int fd, uint64_t size, const char *chain, unsigned depth, json_t *node);

#endif
