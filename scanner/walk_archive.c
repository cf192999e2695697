/* The entries of an archive: each copied into an unnamed file under the
 * member-size, total-bytes, ratio and time limits, hashed, checked for
 * names and links that would escape an extraction directory, and handed
 * back to the node walk (w->node); an archive found at an offset inside a
 * node (walk_slice); the zip central directory's own count. Members are
 * never written under their archive path. Must not type or scan a node. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "scanner/walk_int.h"

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

void walk_archive_error(struct walk *w, struct archive *a, json_t *node, const char *chain)
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
int64_t walk_zip_declared(int fd, uint64_t size)
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
	fd = walk_tmpfile(w);
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
			walk_archive_error(w, a, *node, chain);
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
uint64_t walk_entries(struct walk *w, struct archive *a, struct archive_entry *e, int r, uint64_t size,
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
			walk_archive_error(w, a, NULL, chain);
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
		node = w->node(w, cfd, true, msize, child, depth + 1, NULL, sha, NULL);
		if (name != NULL)
			check_entry_safety(w, e, name, child, node);
		free(child);
	}
	return seen;
}

int walk_slice(struct walk *w, int fd, uint64_t off, uint64_t len, const char *chain, unsigned depth,
	       const char *kind, uint64_t *consumed, char *why, size_t why_len)
{
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct walk_src *s = NULL;
	char child[2048], mime[96];
	json_t *node;
	int r, rc = 0;

	*consumed = 0;
	why[0] = '\0';
	if (w->halted)
		return -1;
	a = walk_reader_at(fd, off, off + len, &s);
	if (a == NULL) {
		scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "out of memory at %s", chain);
		rc = -1;
		goto out;
	}
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
	walk_reader_free(a, s);
	return rc;
}
