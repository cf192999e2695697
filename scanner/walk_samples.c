/* Sandbox samples of the walk: the members of the types the policy
 * sandboxes are listed in the verdict document and kept, by their SHA-256,
 * in the samples directory for the sandbox queue. Must not judge them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwgate/verdict.h"
#include "scanner/walk_int.h"

static bool sandbox_wants(const struct walk *w, const char *ftype)
{
	enum fw_file_type t;

	return fw_file_type_parse(ftype, &t) == 0 && ((w->ctx->sandbox_types >> t) & 1u) != 0;
}

/* Copies the member into <samples>/<sha256> (through a temporary name,
 * synced before the rename: the sandbox job that names it is recorded
 * after this scan and must find it after a crash). The same bytes are
 * kept once. */
static int sample_keep(struct walk *w, int fd, uint64_t size, const char *sha256, struct fw_err *err)
{
	int dir = w->ctx->samples_dir_fd, out;
	char tmp[64];
	struct stat sb;
	uint64_t off = 0;

	if (fstatat(dir, sha256, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size == size) {
		/* Kept already: touched, so that gc (which spares young samples)
		 * does not take it between this scan and its job. */
		if (utimensat(dir, sha256, NULL, AT_SYMLINK_NOFOLLOW) != 0)
			return fw_err_sys(err, errno, "cannot touch the kept sample");
		return 0;
	}
	snprintf(tmp, sizeof(tmp), ".in-%ld-%u", (long)getpid(), w->samples++);
	out = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return fw_err_sys(err, errno, "cannot create a sample file");
	while (off < size) {
		ssize_t n = pread(fd, w->copy, COPY_BUF, (off_t)off), wr = 0;

		if (n <= 0) {
			fw_err_sys(err, n < 0 ? errno : EIO, "cannot read the member back");
			goto fail;
		}
		for (ssize_t o = 0; o < n; o += wr) {
			wr = write(out, w->copy + o, (size_t)(n - o));
			if (wr <= 0) {
				fw_err_sys(err, wr < 0 ? errno : ENOSPC, "cannot write the sample file");
				goto fail;
			}
		}
		off += (uint64_t)n;
	}
	if (fdatasync(out) != 0) {
		fw_err_sys(err, errno, "cannot sync the sample file");
		goto fail;
	}
	close(out);
	if (renameat(dir, tmp, dir, sha256) != 0) {
		fw_err_sys(err, errno, "cannot name the sample file");
		unlinkat(dir, tmp, 0);
		return -1;
	}
	/* The name is durable before the job that needs it is recorded. */
	if (fsync(dir) != 0)
		return fw_err_sys(err, errno, "cannot sync the samples directory");
	return 0;
fail:
	close(out);
	unlinkat(dir, tmp, 0);
	return -1;
}

/* A node of a type the sandbox judges: listed in doc.sandbox[] and, below
 * the root (whose bytes the caller keeps), kept as a sample. A member
 * that cannot be kept makes the package unscannable: it would go unjudged. */
void walk_samples_add(struct walk *w, int fd, uint64_t size, const char *chain, unsigned depth,
		      const char *sha256, const char *ftype)
{
	struct fw_err err;

	if (w->halted || !sandbox_wants(w, ftype))
		return;
	fw_err_clear(&err);
	if (depth > 0 && w->ctx->samples_dir_fd >= 0 && sample_keep(w, fd, size, sha256, &err) != 0) {
		scan_report_add(&w->rep, NULL, FW_VERDICT_UNSCANNABLE, "cannot keep %s for the sandbox: %s", chain,
				fw_err_msg(&err));
		return;
	}
	scan_report_sandbox(&w->rep, chain, depth, size, sha256, ftype);
}
