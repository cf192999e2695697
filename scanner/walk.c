/* The unpack walk: every node of a package, recursively, through every
 * format libarchive reads, under fwgate's limits (depth, member count,
 * member size, total bytes, expansion ratio, wall time). Members are read
 * as data into unnamed files and never written under their archive path;
 * their names are escaped, never interpreted. Each node is typed and
 * handed to the scan queue. Must not decide how findings map to delivery. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "fwgate/policy.h"
#include "scanner/walk_int.h"

#define SRC_BUF (128 * 1024)
#define NAME_SHOWN_MAX 255

/* A node's bytes as libarchive reads them: pread on a descriptor, so that
 * nested archives (7z, zip) can seek. */
struct src {
	int fd;
	int64_t base;              /* where the stream starts in the file: 0, or a carved payload's offset */
	int64_t size;              /* where it ends in the file */
	int64_t pos;               /* in the file */
	unsigned char buf[SRC_BUF];
};

static la_ssize_t src_read(struct archive *a, void *data, const void **buf)
{
	struct src *s = data;
	ssize_t n;

	*buf = s->buf;
	if (s->pos >= s->size)
		return 0;
	/* never past the stream's end: a carved payload ends where the
	 * next thing begins */
	n = pread(s->fd, s->buf, s->size - s->pos < (int64_t)sizeof(s->buf) ? (size_t)(s->size - s->pos) : sizeof(s->buf),
		  (off_t)s->pos);
	if (n < 0) {
		archive_set_error(a, errno, "read error");
		return -1;
	}
	s->pos += n;
	return n;
}

static la_int64_t src_seek(struct archive *a, void *data, la_int64_t off, int whence)
{
	struct src *s = data;
	int64_t base = whence == SEEK_SET ? s->base : whence == SEEK_CUR ? s->pos : s->size;

	(void)a;
	if (off > 0 ? base > INT64_MAX - off : base + off < s->base)
		return ARCHIVE_FATAL;
	s->pos = base + off;
	return s->pos - s->base;
}

static la_int64_t src_skip(struct archive *a, void *data, la_int64_t req)
{
	struct src *s = data;
	int64_t left = s->size > s->pos ? s->size - s->pos : 0;
	int64_t n = req < left ? req : left;

	(void)a;
	s->pos += n;
	return n;
}

/* Only formats and filters that libarchive implements itself: no
 * external programs (lrzip, lzop, grzip are left out), and no mtree, which
 * would read a plain text file as an archive. "raw" opens a single
 * compressed stream (fw.bin.xz); a raw node without a filter is a leaf. */
struct archive *walk_reader_new(void)
{
	struct archive *a = archive_read_new();

	if (a == NULL)
		return NULL;
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_compress(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_filter_lzip(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_rpm(a);
	archive_read_support_filter_uu(a);
	archive_read_support_format_7zip(a);
	archive_read_support_format_ar(a);
	archive_read_support_format_cab(a);
	archive_read_support_format_cpio(a);
	archive_read_support_format_iso9660(a);
	archive_read_support_format_lha(a);
	archive_read_support_format_rar(a);
	archive_read_support_format_rar5(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_xar(a);
	/* Zip through its central directory only, as unzip and the
	 * appliance read it: a zip whose directory is missing or cut is
	 * corrupt, not a stream of whatever local entries precede the cut. */
	archive_read_support_format_zip_seekable(a);
	archive_read_support_format_raw(a);
	return a;
}

/* ------------------------------------------------------------ names */

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

/* Depth of a path below the archive's root after "." and "..", starting
 * at level; negative once it climbs out. */
static int path_level(const char *path, int level)
{
	const char *p = path;

	while (*p != '\0') {
		size_t n = strcspn(p, "/\\");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--level < 0)
				return level;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			level++;
		}
		p += n;
		if (*p != '\0')
			p++;
	}
	return level;
}

static bool is_absolute(const char *path)
{
	return path[0] == '/' || path[0] == '\\' ||
	       (((path[0] | 0x20) >= 'a' && (path[0] | 0x20) <= 'z') && path[1] == ':');
}

/* Names and links that would write outside the extraction directory of
 * whoever unpacks this package next (zip-slip): the appliance, a BMC. */
static void check_entry_safety(struct walk *w, struct archive_entry *e, const char *name,
			       const char *chain, json_t *node)
{
	const char *sym = archive_entry_symlink(e), *hard = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	char shown[1024];
	int parent;

	if (is_absolute(name))
		scan_report_add(&w->rep, node, FW_VERDICT_SUSPICIOUS, "unsafe member name at %s: absolute path",
				chain);
	else if (path_level(name, 0) < 0)
		scan_report_add(&w->rep, node, FW_VERDICT_SUSPICIOUS, "unsafe member name at %s: path traversal",
				chain);
	if (sym != NULL) {
		/* A symlink's target is taken from the link's own directory. */
		parent = path_level(name, 0) - 1;
		scan_name_escape(sym, shown, sizeof(shown));
		if (is_absolute(sym) || path_level(sym, parent < 0 ? 0 : parent) < 0)
			scan_report_add(&w->rep, node, FW_VERDICT_SUSPICIOUS,
					"unsafe link at %s: symbolic link to \"%s\" points outside the archive",
					chain, shown);
	}
	if (hard != NULL) {
		scan_name_escape(hard, shown, sizeof(shown));
		if (is_absolute(hard) || path_level(hard, 0) < 0)
			scan_report_add(&w->rep, node, FW_VERDICT_SUSPICIOUS,
					"unsafe link at %s: hard link to \"%s\" points outside the archive", chain,
					shown);
	}
	if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK)
		scan_report_add(&w->rep, node, FW_VERDICT_SUSPICIOUS, "unsafe member at %s: a device node, "
				"FIFO or socket has no place in a firmware package", chain);
}

/* ------------------------------------------------------------ limits */

bool walk_past_deadline(struct walk *w, const char *chain)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < w->deadline.tv_sec ||
	    (now.tv_sec == w->deadline.tv_sec && now.tv_nsec < w->deadline.tv_nsec))
		return false;
	scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "inspection time exceeds the limit of %u s at %s",
			w->ctx->limits.max_seconds, chain);
	w->halted = true;
	return true;
}

/* A limit stops the whole walk: the verdict is unscannable and nothing
 * more of the package is worth reading. */
void walk_halt(struct walk *w, json_t *node, const char *fmt, ...)
{
	char msg[FW_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "%s", msg);
	w->halted = true;
}

static char *chain_join(const char *parent, const char *name)
{
	char esc[1100], *out;
	size_t n;

	scan_name_escape(name, esc, sizeof(esc));
	n = strlen(parent) + strlen(esc) + 2;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s!%s", parent, esc);
	return out;
}

static void report_archive_error(struct walk *w, struct archive *a, json_t *node, const char *chain)
{
	const char *msg = archive_error_string(a);

	if (msg == NULL)
		msg = "unknown error";
	if (strstr(msg, "ncrypt") != NULL || strstr(msg, "assword") != NULL)
		scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE,
				"encrypted member %s cannot be inspected (%s)", chain, msg);
	else
		scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "corrupt or truncated archive at %s: %s",
				chain, msg);
}

/* ------------------------------------------------------------ zip directory */

#define EOCD_LEN 22
#define EOCD_SEARCH (EOCD_LEN + 65535)
#define ZIP64_EOCD_LEN 56

static uint64_t le(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* The number of entries a zip's central directory declares (its end
 * record, or the zip64 one), read from the last 64 KiB; -1 when it cannot
 * be found. libarchive folds records that point at one local entry into
 * one member: comparing the two finds overlapping-entry zips (one
 * compressed kernel listed a thousand times), which unzip would expand in
 * full each time. */
static int64_t zip_declared_entries(int fd, uint64_t size)
{
	size_t len = size < EOCD_SEARCH ? (size_t)size : EOCD_SEARCH;
	unsigned char *tail = malloc(EOCD_SEARCH), rec[ZIP64_EOCD_LEN];
	int64_t n = -1;
	ssize_t got;

	if (tail == NULL || len < EOCD_LEN)
		goto out;
	got = pread(fd, tail, len, (off_t)(size - len));
	if (got != (ssize_t)len)
		goto out;
	for (size_t i = len - EOCD_LEN + 1; i-- > 0;) {
		if (memcmp(tail + i, "PK\x05\x06", 4) != 0)
			continue;
		n = (int64_t)le(tail + i + 10, 2);
		if (n == 0xffff && i >= 20 && memcmp(tail + i - 20, "PK\x06\x07", 4) == 0) {
			uint64_t off = le(tail + i - 20 + 8, 8);

			n = -1;
			if (off <= size - ZIP64_EOCD_LEN && pread(fd, rec, sizeof(rec), (off_t)off) == (ssize_t)sizeof(rec) &&
			    memcmp(rec, "PK\x06\x06", 4) == 0 && le(rec + 32, 8) <= INT64_MAX)
				n = (int64_t)le(rec + 32, 8);
		}
		break;
	}
out:
	free(tail);
	return n;
}

/* ------------------------------------------------------------ nodes */

static int tmpfile_new(struct walk *w)
{
	int fd = openat(w->ctx->tmp_dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	return fd;
}

struct copy_state {
	uint64_t *container_out;   /* bytes unpacked from the enclosing container */
	uint64_t container_size;
};

/* Copies the current entry's data into a new unnamed file, hashing it and
 * holding every limit. Returns the descriptor, or -1 (reason recorded). */
static int entry_copy(struct walk *w, struct archive *a, const char *chain, json_t **node, unsigned depth,
		      struct copy_state *cs, char *sha_hex, uint64_t *size_out)
{
	const struct scan_limits *lim = &w->ctx->limits;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t size = 0;
	int fd = -1;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto fail_mem;
	fd = tmpfile_new(w);
	if (fd < 0) {
		scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE,
				"cannot create a temporary file for %s: %s", chain, strerror(errno));
		goto fail;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, w->copy, COPY_BUF);
		ssize_t wr;

		if (n == 0)
			break;
		if (n < 0) {
			*node = scan_report_member(&w->rep, chain, depth, size, "", "", "other");
			report_archive_error(w, a, *node, chain);
			goto fail;
		}
		size += (uint64_t)n;
		w->total_bytes += (uint64_t)n;
		*cs->container_out += (uint64_t)n;
		if (size > lim->max_member_bytes) {
			walk_halt(w, NULL, "member size exceeds the limit of %llu bytes at %s",
			     (unsigned long long)lim->max_member_bytes, chain);
			goto fail;
		}
		if (w->total_bytes > lim->max_total_bytes) {
			walk_halt(w, NULL, "unpacked bytes exceed the limit of %llu at %s",
			     (unsigned long long)lim->max_total_bytes, chain);
			goto fail;
		}
		if (*cs->container_out > RATIO_FLOOR_BYTES &&
		    *cs->container_out / (cs->container_size ? cs->container_size : 1) >= lim->max_ratio) {
			uint64_t den = cs->container_size ? cs->container_size : 1;

			walk_halt(w, NULL, "expansion ratio 1:%llu exceeds 1:%u at %s",
			     (unsigned long long)((*cs->container_out + den - 1) / den), lim->max_ratio, chain);
			goto fail;
		}
		if (w->total_bytes > RATIO_FLOOR_BYTES && w->total_bytes / w->root_size >= lim->max_ratio) {
			/* Nested bombs: every level under the ratio, the tree far
			 * over it. */
			walk_halt(w, NULL, "expansion ratio 1:%llu exceeds 1:%u at %s (the whole package)",
			     (unsigned long long)((w->total_bytes + w->root_size - 1) / w->root_size), lim->max_ratio,
			     chain);
			goto fail;
		}
		if (EVP_DigestUpdate(ctx, w->copy, (size_t)n) != 1)
			goto fail_mem;
		for (la_ssize_t off = 0; off < n; off += wr) {
			wr = write(fd, w->copy + off, (size_t)(n - off));
			if (wr <= 0) {
				scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE,
						"cannot write a temporary file for %s: %s", chain,
						wr < 0 ? strerror(errno) : "short write");
				goto fail;
			}
		}
		if (walk_past_deadline(w, chain))
			goto fail;
	}
	if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1)
		goto fail_mem;
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(sha_hex + 2 * i, 3, "%02x", md[i]);
	*size_out = size;
	EVP_MD_CTX_free(ctx);
	return fd;
fail_mem:
	scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "out of memory or a hashing failure at %s", chain);
fail:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	return -1;
}

/* The entries of an open container; returns how many were read. */
static uint64_t walk_entries(struct walk *w, struct archive *a, struct archive_entry *e, int r, uint64_t size,
			 const char *chain, unsigned depth)
{
	const struct scan_limits *lim = &w->ctx->limits;
	uint64_t out = 0;
	struct copy_state cs = { .container_out = &out, .container_size = size };
	uint64_t seen = 0;

	for (; r != ARCHIVE_EOF && !w->halted; r = archive_read_next_header(a, &e), seen++) {
		const char *name;
		char *child = NULL, sha[FW_SHA256_HEX_LEN + 1] = "";
		json_t *node = NULL;
		uint64_t msize = 0;
		int cfd;

		if (r == ARCHIVE_FATAL || r == ARCHIVE_FAILED || r == ARCHIVE_RETRY) {
			report_archive_error(w, a, NULL, chain);
			return seen;
		}
		if (++w->members > lim->max_members) {
			walk_halt(w, NULL, "member count exceeds the limit of %llu at %s",
			     (unsigned long long)lim->max_members, chain);
			return seen;
		}
		name = archive_entry_pathname_utf8(e);
		if (name == NULL)
			name = archive_entry_pathname(e);
		child = chain_join(chain, name != NULL ? name : "(unnamed)");
		if (child == NULL) {
			scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "out of memory at %s", chain);
			w->halted = true;
			return seen;
		}
		if (archive_entry_is_encrypted(e)) {
			node = scan_report_member(&w->rep, child, depth + 1, 0, "", "", "other");
			scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "encrypted member %s cannot be inspected",
					child);
			free(child);
			continue;
		}
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != NULL) {
			node = scan_report_member(&w->rep, child, depth + 1, 0, "", "inode/x-link-or-special", "other");
			check_entry_safety(w, e, name != NULL ? name : "", child, node);
			free(child);
			continue;
		}
		if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > lim->max_member_bytes) {
			walk_halt(w, NULL, "member size exceeds the limit of %llu bytes at %s",
			     (unsigned long long)lim->max_member_bytes, child);
			free(child);
			return seen;
		}
		cfd = entry_copy(w, a, child, &node, depth + 1, &cs, sha, &msize);
		if (cfd < 0) {
			/* A limit, or a corrupt container whose rest cannot be
			 * trusted: either way the verdict is already recorded. */
			free(child);
			return seen;
		}
		node = walk_node(w, cfd, true, msize, child, depth + 1, NULL, sha, NULL);
		if (name != NULL)
			check_entry_safety(w, e, name, child, node);
		free(child);
	}
	return seen;
}

/* ------------------------------------------------------------ nodes */

bool walk_budget(struct walk *w, uint64_t bytes, const char *chain)
{
	const struct scan_limits *lim = &w->ctx->limits;

	w->total_bytes += bytes;
	if (w->total_bytes > lim->max_total_bytes) {
		walk_halt(w, NULL, "unpacked bytes exceed the limit of %llu at %s", (unsigned long long)lim->max_total_bytes,
			  chain);
		return false;
	}
	if (w->total_bytes > RATIO_FLOOR_BYTES && w->total_bytes / w->root_size >= lim->max_ratio) {
		walk_halt(w, NULL, "expansion ratio 1:%llu exceeds 1:%u at %s (the whole package)",
			  (unsigned long long)((w->total_bytes + w->root_size - 1) / w->root_size), lim->max_ratio, chain);
		return false;
	}
	return !walk_past_deadline(w, chain);
}

int walk_bytes(struct walk *w, const uint8_t *data, size_t len, const char *chain, unsigned depth,
	       const struct node_hint *hint)
{
	const struct scan_limits *lim = &w->ctx->limits;
	unsigned char md[EVP_MAX_MD_SIZE];
	char sha[FW_SHA256_HEX_LEN + 1] = "";
	unsigned md_len = 0;
	int fd;

	if (w->halted)
		return -1;
	if (++w->members > lim->max_members) {
		walk_halt(w, NULL, "member count exceeds the limit of %llu at %s", (unsigned long long)lim->max_members,
			  chain);
		return -1;
	}
	if (len > lim->max_member_bytes) {
		walk_halt(w, NULL, "member size exceeds the limit of %llu bytes at %s",
			  (unsigned long long)lim->max_member_bytes, chain);
		return -1;
	}
	if (depth > lim->max_depth) {
		walk_halt(w, NULL, "nesting depth %u exceeds the limit of %u at %s", depth, lim->max_depth, chain);
		return -1;
	}
	if (!walk_budget(w, len, chain))
		return -1;
	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1) {
		scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "hashing failed at %s", chain);
		return -1;
	}
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	fd = tmpfile_new(w);
	if (fd < 0) {
		scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "cannot create a temporary file for %s: %s", chain,
				strerror(errno));
		return -1;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n <= 0) {
			scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "cannot write a temporary file for %s: %s",
					chain, n < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	walk_node(w, fd, true, len, chain, depth, NULL, sha, hint);
	return w->halted ? -1 : 0;
}

/* What a producer told of the node, into its entry. */
static void node_hint_apply(struct walk *w, json_t *node, const struct node_hint *hint)
{
	if (hint->guid != NULL && hint->guid[0] != '\0')
		scan_report_set(&w->rep, node, "guid", json_string(hint->guid));
	if (hint->ui != NULL && hint->ui[0] != '\0')
		scan_report_set(&w->rep, node, "ui", json_string(hint->ui));
	if (hint->section != NULL)
		scan_report_set(&w->rep, node, "section", json_string(hint->section));
	if (hint->offset >= 0)
		scan_report_set(&w->rep, node, "offset", json_integer((json_int_t)hint->offset));
}

json_t *walk_node(struct walk *w, int fd, bool own_fd, uint64_t size, const char *chain, unsigned depth,
		  json_t *node, const char *sha256, const struct node_hint *hint)
{
	static const struct node_hint none = { .offset = -1 };
	char mime[128];
	const char *ftype;
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct src *s = NULL;
	bool container = false, uefi = false;
	uint64_t entries;
	int r, sfd, cfd = -1;

	if (hint == NULL)
		hint = &none;
	scan_typer_mime_fd(w->ctx->typer, fd, size, mime, sizeof(mime));
	ftype = hint->file_type != NULL ? hint->file_type : scan_file_type(mime);
	if (node == NULL) {
		node = scan_report_member(&w->rep, chain, depth, size, sha256, mime, ftype);
	} else {
		scan_report_set(&w->rep, node, "mime", json_string(mime));
		scan_report_set(&w->rep, node, "file_type", json_string(ftype));
	}
	node_hint_apply(w, node, hint);
	/* A UEFI image (a capsule, a flash image, firmware volumes): walked
	 * down to each module; its own bytes are scanned as well. */
	if (size > 0 && !hint->no_uefi && hint->file_type == NULL &&
	    (strcmp(ftype, "firmware_image") == 0 || strcmp(mime, "application/octet-stream") == 0) &&
	    walk_uefi(w, fd, size, chain, depth, node)) {
		uefi = true;
		if (strcmp(ftype, "other") == 0) {
			ftype = "firmware_image";
			scan_report_set(&w->rep, node, "file_type", json_string(ftype));
		}
		goto leaf;
	}
	if (size == 0)
		goto leaf;
	s = malloc(sizeof(*s));
	a = walk_reader_new();
	if (s == NULL || a == NULL) {
		scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "out of memory at %s", chain);
		goto out;
	}
	*s = (struct src){ .fd = fd, .base = 0, .size = (int64_t)size, .pos = 0 };
	archive_read_set_read_callback(a, src_read);
	archive_read_set_seek_callback(a, src_seek);
	archive_read_set_skip_callback(a, src_skip);
	archive_read_set_callback_data(a, s);
	r = archive_read_open1(a);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(a, &e);
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN || r == ARCHIVE_EOF) {
		/* raw without a filter: not an archive, a leaf. */
		container = !(archive_format(a) == ARCHIVE_FORMAT_RAW && archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE);
		/* No entry at all (zero blocks read as an empty tar): a leaf,
		 * scanned whole by ClamAV. */
		if (r == ARCHIVE_EOF)
			container = false;
	} else if (archive_format(a) != 0 || scan_mime_is_archive(mime)) {
		/* libarchive knew the format (or libmagic calls it an archive)
		 * but could not read it: never a clean leaf. */
		report_archive_error(w, a, node, chain);
		goto leaf;
	}
	if (!container && scan_mime_is_archive(mime)) {
		/* Only "raw" took it: an archive by its magic that no reader
		 * accepts (a zip cut before its central directory) is corrupt,
		 * never a clean leaf. */
		scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE,
				"corrupt or truncated archive at %s: its type is %s but it cannot be read as one",
				chain, mime);
		goto leaf;
	}
	if (!container)
		goto leaf;
	if (strcmp(ftype, "other") == 0) {
		ftype = "archive";
		scan_report_set(&w->rep, node, "file_type", json_string(ftype));
	}
	walk_samples_add(w, fd, size, chain, depth, sha256, ftype);
	if (depth + 1 > w->ctx->limits.max_depth) {
		walk_halt(w, node, "nesting depth %u exceeds the limit of %u at %s", depth + 1,
		     w->ctx->limits.max_depth, chain);
		goto leaf;
	}
	/* The container's own bytes are scanned too, without ClamAV's
	 * unpacking (fwgate unpacks it below, under its limits), and first:
	 * a large container's raw scan then runs beside its members' instead
	 * of after them. */
	sfd = dup(fd);
	if (sfd < 0)
		scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "cannot scan %s: %s", chain, strerror(errno));
	else
		clamq_push(w->ctx->queue, &w->rep, sfd, chain, node, sha256, 0);
	entries = walk_entries(w, a, e, r == ARCHIVE_WARN ? ARCHIVE_OK : r, size, chain, depth);
	switch (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) {
	case ARCHIVE_FORMAT_ZIP:
		walk_carve_prefix(w, fd, size, chain, depth, node, WALK_ARCHIVE_ZIP);
		break;
	case ARCHIVE_FORMAT_7ZIP:
		walk_carve_prefix(w, fd, size, chain, depth, node, WALK_ARCHIVE_7Z);
		break;
	case ARCHIVE_FORMAT_RAR:
	case ARCHIVE_FORMAT_RAR_V5:
		walk_carve_prefix(w, fd, size, chain, depth, node, WALK_ARCHIVE_RAR);
		break;
	default:
		break;
	}
	if (!w->halted && (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP) {
		int64_t declared = zip_declared_entries(fd, size);

		if (declared < 0 || (uint64_t)declared != entries)
			scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE,
					"corrupt or overlapping zip at %s: its central directory declares %lld "
					"entries but %llu distinct ones can be read", chain, (long long)declared,
					(unsigned long long)entries);
	}
	goto out;
leaf:
	walk_samples_add(w, fd, size, chain, depth, sha256, ftype);
	/* Payloads inside the leaf (not in a UEFI image: its modules are
	 * children already, and its gaps data modules of their own), looked
	 * for on a descriptor of their own once the leaf's own scan is
	 * queued, so that ClamAV and the search run side by side. */
	if (size > 0 && !w->halted && !uefi) {
		cfd = dup(fd);
		if (cfd < 0)
			scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "cannot look for payloads in %s: %s",
					chain, strerror(errno));
	}
	if (size > 0 && !w->halted) {
		sfd = own_fd ? fd : dup(fd);
		own_fd = false;
		if (sfd < 0)
			scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "cannot scan %s: %s", chain,
					strerror(errno));
		else
			clamq_push(w->ctx->queue, &w->rep, sfd, chain, node, sha256,
					CLAMQ_PARSE_ARCHIVE | (hint->file_type != NULL && strcmp(hint->file_type, "pe") == 0 &&
							       hint->section != NULL ? CLAMQ_EFI_IMAGE : 0u));
	}
	if (cfd >= 0) {
		walk_carve(w, cfd, size, chain, depth, node, mime);
		close(cfd);
	}
out:
	if (a != NULL)
		archive_read_free(a);
	free(s);
	if (own_fd)
		close(fd);
	return node;
}

int walk_slice(struct walk *w, int fd, uint64_t off, uint64_t len, const char *chain, unsigned depth,
	       const char *kind, uint64_t *consumed, char *why, size_t why_len)
{
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct src *s = NULL;
	char child[2048], mime[96];
	json_t *node;
	int r, rc = 0;

	*consumed = 0;
	why[0] = '\0';
	if (w->halted)
		return -1;
	s = malloc(sizeof(*s));
	a = walk_reader_new();
	if (s == NULL || a == NULL) {
		scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "out of memory at %s", chain);
		rc = -1;
		goto out;
	}
	*s = (struct src){ .fd = fd, .base = (int64_t)off, .size = (int64_t)(off + len), .pos = (int64_t)off };
	archive_read_set_read_callback(a, src_read);
	archive_read_set_seek_callback(a, src_seek);
	archive_read_set_skip_callback(a, src_skip);
	archive_read_set_callback_data(a, s);
	r = archive_read_open1(a);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(a, &e);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		snprintf(why, why_len, "%s",
			 archive_error_string(a) != NULL ? archive_error_string(a) : "libarchive reads no header there");
		goto out;
	}
	if (archive_format(a) == ARCHIVE_FORMAT_RAW && archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE) {
		snprintf(why, why_len, "no format or compression libarchive reads starts there");
		goto out;
	}
	if (++w->members > w->ctx->limits.max_members) {
		walk_halt(w, NULL, "member count exceeds the limit of %llu at %s",
			  (unsigned long long)w->ctx->limits.max_members, chain);
		rc = -1;
		goto out;
	}
	if (depth + 2 > w->ctx->limits.max_depth) {
		walk_halt(w, NULL, "nesting depth %u exceeds the limit of %u at %s", depth + 2, w->ctx->limits.max_depth,
			  chain);
		rc = -1;
		goto out;
	}
	snprintf(child, sizeof(child), "%s!@0x%llx", chain, (unsigned long long)off);
	snprintf(mime, sizeof(mime), "application/x-fwgate-carved; kind=%s", kind);
	node = scan_report_member(&w->rep, child, depth + 1, 0, "", mime, "archive");
	scan_report_set(&w->rep, node, "offset", json_integer((json_int_t)off));
	walk_entries(w, a, e, r == ARCHIVE_WARN ? ARCHIVE_OK : r, len, child, depth + 1);
	*consumed = (uint64_t)archive_filter_bytes(a, -1);
	if (*consumed > len)
		*consumed = len;
	scan_report_set(&w->rep, node, "size", json_integer((json_int_t)*consumed));
	rc = w->halted ? -1 : 1;
out:
	if (a != NULL)
		archive_read_free(a);
	free(s);
	return rc;
}

/* The package's SHA-256 when the caller does not have it (fwgate scan),
 * computed on a thread of its own beside the walk. */
struct root_hash {
	int fd;
	uint64_t size;
	int rc;
	char hex[FW_SHA256_HEX_LEN + 1];
};

static void *hash_thread(void *arg)
{
	struct root_hash *h = arg;
	unsigned char md[EVP_MAX_MD_SIZE], *buf = malloc(COPY_BUF);
	unsigned md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t off = 0;

	h->rc = -1;
	if (buf == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while (off < h->size) {
		ssize_t n = pread(h->fd, buf, COPY_BUF, (off_t)off);

		if (n <= 0 || EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		off += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1)
		goto out;
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(h->hex + 2 * i, 3, "%02x", md[i]);
	h->rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return NULL;
}

/* Gives the root's signatures the package hash found after the walk. */
static void fill_root_sha(struct scan_report *r, const char *sha)
{
	json_t *sig;
	size_t i;

	json_array_foreach(r->signatures, i, sig)
		if (json_string_length(json_object_get(sig, "member_sha256")) == 0)
			json_object_set_new(sig, "member_sha256", json_string(sha));
	json_array_foreach(r->sandbox, i, sig)
		if (json_string_length(json_object_get(sig, "sha256")) == 0)
			json_object_set_new(sig, "sha256", json_string(sha));
}

json_t *scan_walk(struct scan_walk_ctx *ctx, int fd, const char *name, const char *sha256)
{
	struct walk w = { .ctx = ctx };
	char root[1100], sha[FW_SHA256_HEX_LEN + 1] = "";
	const char *base = strrchr(name, '/');
	struct root_hash h = { .fd = -1 };
	bool hashing = false;
	pthread_t hasher;
	struct stat st;
	json_t *doc;

	scan_name_escape(base != NULL && base[1] != '\0' ? base + 1 : name, root, sizeof(root));
	if (scan_report_init(&w.rep, name) != 0)
		return scan_doc_failed(name, "out of memory before the inspection");
	w.copy = malloc(COPY_BUF);
	clock_gettime(CLOCK_MONOTONIC, &w.deadline);
	w.deadline.tv_sec += ctx->limits.max_seconds;
	if (w.copy == NULL) {
		scan_report_add(&w.rep, NULL, FW_VERDICT_UNSCANNABLE, "out of memory before the inspection");
	} else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		scan_report_add(&w.rep, NULL, FW_VERDICT_UNSCANNABLE, "the package is not a regular file");
	} else {
		if (sha256 != NULL && strlen(sha256) == FW_SHA256_HEX_LEN) {
			snprintf(sha, sizeof(sha), "%s", sha256);
		} else {
			h = (struct root_hash){ .fd = fd, .size = (uint64_t)st.st_size, .rc = -1 };
			hashing = pthread_create(&hasher, NULL, hash_thread, &h) == 0;
			if (!hashing)
				scan_report_add(&w.rep, NULL, FW_VERDICT_UNSCANNABLE, "cannot start hashing the package");
		}
		json_object_set_new(w.rep.doc, "size", json_integer((json_int_t)st.st_size));
		json_object_set_new(w.rep.doc, "mime", json_string("application/octet-stream"));
		json_object_set_new(w.rep.doc, "file_type", json_string("other"));
		w.root_size = st.st_size > 0 ? (uint64_t)st.st_size : 1;
		if ((uint64_t)st.st_size > ctx->limits.max_member_bytes)
			walk_halt(&w, NULL, "member size exceeds the limit of %llu bytes at %s",
			     (unsigned long long)ctx->limits.max_member_bytes, root);
		else
			walk_node(&w, fd, false, (uint64_t)st.st_size, root, 0, w.rep.doc, sha, NULL);
	}
	clamq_drain(ctx->queue);
	if (hashing) {
		pthread_join(hasher, NULL);
		if (h.rc != 0)
			scan_report_add(&w.rep, NULL, FW_VERDICT_UNSCANNABLE, "cannot read the package to hash it");
		snprintf(sha, sizeof(sha), "%s", h.hex);
		fill_root_sha(&w.rep, sha);
	}
	json_object_set_new(w.rep.doc, "sha256", json_string(sha));
	doc = scan_report_take(&w.rep);
	scan_report_release(&w.rep);
	free(w.copy);
	return doc;
}
