/* Where the walk's child nodes come from: a region of a descriptor read by
 * libarchive (pread, so that nested 7z and zip can seek; a carved payload
 * ends where the next thing begins), and bytes in memory copied into an
 * unnamed file. Each child goes back to the node walk through w->node.
 * Must not type, scan or judge a node itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <openssl/evp.h>

#include "scanner/walk_int.h"

#define SRC_BUF (128 * 1024)

/* A node's bytes as libarchive reads them: pread on a descriptor, so that
 * nested archives (7z, zip) can seek. */
struct walk_src {
	int fd;
	int64_t base;              /* where the stream starts in the file: 0, or a carved payload's offset */
	int64_t size;              /* where it ends in the file */
	int64_t pos;               /* in the file */
	unsigned char buf[SRC_BUF];
};

static la_ssize_t src_read(struct archive *a, void *data, const void **buf)
{
	struct walk_src *s = data;
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
	struct walk_src *s = data;
	int64_t base = whence == SEEK_SET ? s->base : whence == SEEK_CUR ? s->pos : s->size;

	(void)a;
	if (off > 0 ? base > INT64_MAX - off : base + off < s->base)
		return ARCHIVE_FATAL;
	s->pos = base + off;
	return s->pos - s->base;
}

static la_int64_t src_skip(struct archive *a, void *data, la_int64_t req)
{
	struct walk_src *s = data;
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

struct archive *walk_reader_at(int fd, uint64_t off, uint64_t end, struct walk_src **src)
{
	struct walk_src *s = malloc(sizeof(*s));
	struct archive *a = walk_reader_new();

	*src = NULL;
	if (s == NULL || a == NULL) {
		if (a != NULL)
			archive_read_free(a);
		free(s);
		return NULL;
	}
	*s = (struct walk_src){ .fd = fd, .base = (int64_t)off, .size = (int64_t)end, .pos = (int64_t)off };
	archive_read_set_read_callback(a, src_read);
	archive_read_set_seek_callback(a, src_seek);
	archive_read_set_skip_callback(a, src_skip);
	archive_read_set_callback_data(a, s);
	*src = s;
	return a;
}

void walk_reader_free(struct archive *a, struct walk_src *src)
{
	if (a != NULL)
		archive_read_free(a);
	free(src);
}

int walk_tmpfile(struct walk *w)
{
	int fd = openat(w->ctx->tmp_dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	return fd;
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
	fd = walk_tmpfile(w);
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
	w->node(w, fd, true, len, chain, depth, NULL, sha, hint);
	return w->halted ? -1 : 0;
}
