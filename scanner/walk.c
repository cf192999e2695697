/* The unpack walk: every node of a package, recursively, through every
 * format libarchive reads, under fwgate's limits (depth, member count,
 * member size, total bytes, expansion ratio, wall time). Each node is
 * typed, opened as a container (walk_archive.c), a UEFI image
 * (walk_uefi.c) or searched for payloads (carve.c), and handed to the
 * ClamAV queue. The recursion is here: producers of child nodes hand each
 * back through w->node (walk_node), never by calling this file. Must not
 * decide how findings map to delivery. */
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
#include <openssl/evp.h>

#include "scanner/walk_int.h"

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

/* Queues ClamAV and the YARA rules over a node. The root of a streamed
 * download has had ClamAV already, as its bytes arrived, when the walk
 * gives it the flags that pass ran with: then only the rules are queued. */
static void walk_scan(struct walk *w, int sfd, const char *chain, unsigned depth, json_t *node,
		      const char *sha256, unsigned flags)
{
	if (depth == 0 && w->stream != NULL && !w->stream_adopted && scan_stream_adopt(w->stream, flags)) {
		w->stream_adopted = true;
		w->stream_flags = flags;
		flags |= CLAMQ_ONLY_YARA;
	}
	clamq_push(w->ctx->queue, &w->rep, sfd, chain, node, sha256, flags);
}

/* Types the node, then walks it as a container or queues it as a leaf.
 * node is the root's document (depth 0) or NULL for a member, whose entry
 * is made here; hint may be NULL. Returns the node's entry. */
static json_t *walk_node(struct walk *w, int fd, bool own_fd, uint64_t size, const char *chain, unsigned depth,
			 json_t *node, const char *sha256, const struct node_hint *hint)
{
	static const struct node_hint none = { .offset = -1 };
	char mime[128];
	const char *ftype;
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct walk_src *s = NULL;
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
	a = walk_reader_at(fd, 0, size, &s);
	if (a == NULL) {
		scan_report_add(&w->rep, node, FW_VERDICT_UNSCANNABLE, "out of memory at %s", chain);
		goto out;
	}
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
		walk_archive_error(w, a, node, chain);
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
		walk_scan(w, sfd, chain, depth, node, sha256, 0);
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
		int64_t declared = walk_zip_declared(fd, size);

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
			walk_scan(w, sfd, chain, depth, node, sha256,
				  CLAMQ_PARSE_ARCHIVE | (hint->file_type != NULL && strcmp(hint->file_type, "pe") == 0 &&
							 hint->section != NULL ? CLAMQ_EFI_IMAGE : 0u));
	}
	if (cfd >= 0) {
		walk_carve(w, cfd, size, chain, depth, node, mime);
		close(cfd);
	}
out:
	walk_reader_free(a, s);
	if (own_fd)
		close(fd);
	return node;
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

/* The first bytes of a streamed download typed to guess the root's flags. */
#define STREAM_HEAD_BYTES (256u * 1024)

/* A root still being downloaded: ClamAV starts on it as its bytes arrive,
 * with the flags the walk is likely to give it (a container by its head
 * is scanned raw, its members being fwgate's to unpack; anything else as a
 * leaf), and the walk waits for every byte. -1 when the download ended
 * short: nothing more is read. */
static int stream_in(struct walk *w, int fd, const struct scan_stream_src *src, const char *root)
{
	uint64_t size = 0;
	char mime[256];

	if (scan_stream_begin(&w->stream, w->ctx->eng, fd, src, root) != 0) {
		scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "out of memory before the inspection");
		return -1;
	}
	if (src->length > 0 && src->length <= w->ctx->limits.max_member_bytes &&
	    scan_stream_head(w->stream, STREAM_HEAD_BYTES) == 0) {
		scan_typer_mime_fd(w->ctx->typer, fd, src->length < STREAM_HEAD_BYTES ? src->length : STREAM_HEAD_BYTES,
				   mime, sizeof(mime));
		/* Not started (no thread): the root is scanned after the wait. */
		(void)scan_stream_start_clamav(w->stream, scan_mime_is_archive(mime) ? 0u : CLAMQ_PARSE_ARCHIVE);
	}
	if (scan_stream_wait_all(w->stream, &size) != 0) {
		scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE,
				"the download ended at %llu of its %llu bytes: not inspected",
				(unsigned long long)size, (unsigned long long)src->length);
		return -1;
	}
	return 0;
}

/* After the walk: the streamed ClamAV pass is the root's when the walk
 * adopted it; when ClamAV stopped early (its scan-time limit counts the
 * wait for bytes, and an error may be one), the root is scanned again,
 * whole. */
static void stream_out(struct walk *w, int fd, const char *root)
{
	struct clamq_outcome o;
	int sfd;

	if (w->stream == NULL)
		return;
	if (w->stream_adopted) {
		scan_stream_end(w->stream, &o);
		if (!clamq_outcome_limited(&o)) {
			clamq_outcome_apply(&o, &w->rep, w->rep.doc, root, "");
		} else if ((sfd = dup(fd)) < 0) {
			scan_report_add(&w->rep, w->rep.doc, FW_VERDICT_UNSCANNABLE, "cannot scan %s: %s", root,
					strerror(errno));
		} else {
			clamq_push(w->ctx->queue, &w->rep, sfd, root, w->rep.doc, "", w->stream_flags | CLAMQ_ONLY_CLAMAV);
			clamq_drain(w->ctx->queue);
		}
	}
	scan_stream_free(w->stream);
	w->stream = NULL;
}

json_t *scan_walk(struct scan_walk_ctx *ctx, int fd, const char *name, const char *sha256,
		  const struct scan_stream_src *src)
{
	struct walk w = { .ctx = ctx, .node = walk_node };
	char root[1100], sha[FW_SHA256_HEX_LEN + 1] = "";
	const char *base = strrchr(name, '/');
	struct root_hash h = { .fd = -1 };
	bool hashing = false, short_stream;
	pthread_t hasher;
	struct stat st;
	json_t *doc;

	scan_name_escape(base != NULL && base[1] != '\0' ? base + 1 : name, root, sizeof(root));
	if (scan_report_init(&w.rep, name) != 0)
		return scan_doc_failed(name, "out of memory before the inspection");
	w.copy = malloc(COPY_BUF);
	/* The bounds start once every byte is there. */
	short_stream = w.copy != NULL && src != NULL && stream_in(&w, fd, src, root) != 0;
	clock_gettime(CLOCK_MONOTONIC, &w.deadline);
	w.deadline.tv_sec += ctx->limits.max_seconds;
	w.rep.deadline = w.deadline;
	if (w.copy == NULL) {
		scan_report_add(&w.rep, NULL, FW_VERDICT_UNSCANNABLE, "out of memory before the inspection");
	} else if (short_stream) {
		/* Ended short: the reason is in the document. */
	} else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		scan_report_add(&w.rep, NULL, FW_VERDICT_UNSCANNABLE, "the package is not a regular file");
	} else {
		if (sha256 != NULL && strlen(sha256) == FW_SHA256_HEX_LEN) {
			snprintf(sha, sizeof(sha), "%s", sha256);
		} else if (src == NULL) {
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
	stream_out(&w, fd, root);
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
