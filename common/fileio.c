/* Bounded whole-file reads and path joining for operator-supplied files,
 * and the safe emptying of the state directory's scratch areas. Must not
 * interpret contents: callers parse what they read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwgate/fileio.h"

int fw_file_read(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
		 struct fw_err *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc = -1;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open \"%s\"", path);
	if (fstat(fd, &st) != 0) {
		fw_err_sys(err, errno, "cannot stat \"%s\"", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > (uint64_t)max_bytes) {
		fw_err_setc(err, FW_E_LIMIT, "\"%s\" is %lld bytes, over the limit of %zu bytes", path,
			   (long long)st.st_size, max_bytes);
		goto out;
	}
	buf = malloc(max_bytes + 1);
	if (buf == NULL) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory reading \"%s\"", path);
		goto out;
	}
	/* Read up to one byte past the limit: the file may have grown since fstat. */
	for (;;) {
		ssize_t n = read(fd, buf + got, max_bytes + 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fw_err_sys(err, errno, "cannot read \"%s\"", path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max_bytes) {
			fw_err_setc(err, FW_E_LIMIT, "\"%s\" is over the limit of %zu bytes", path, max_bytes);
			goto out;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int fw_path_join(char *out, size_t out_len, const char *base_dir, const char *path,
		 struct fw_err *err)
{
	int n;

	if (path[0] == '/' || base_dir[0] == '\0')
		n = snprintf(out, out_len, "%s", path);
	else
		n = snprintf(out, out_len, "%s/%s", base_dir, path);
	if (n < 0 || (size_t)n >= out_len) {
		out[0] = '\0';
		return fw_err_setc(err, FW_E_LIMIT, "path \"%s\" is too long (limit %zu bytes)", path,
				  out_len - 1);
	}
	return 0;
}

/* ------------------------------------------------------------ emptying */

static void left_one(struct fw_dir_empty_stats *st, const char *name, int errnum, const char *what)
{
	st->left++;
	if (st->why[0] == '\0')
		snprintf(st->why, sizeof(st->why), "cannot %s \"%.100s\": %s", what, name, strerror(errnum));
}

static void empty_at(int dfd, unsigned depth, fw_dir_keep_fn keep, struct fw_dir_empty_stats *st);

/* Removes one entry of the directory open on dfd (its own descriptor). */
static bool remove_entry(int dfd, const char *name, unsigned depth, struct fw_dir_empty_stats *st)
{
	struct stat sb;
	int sub;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return true;
		left_one(st, name, errno, "inspect");
		return false;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT) {
			left_one(st, name, errno, "remove");
			return false;
		}
		st->files++;
		return true;
	}
	if (depth + 1 >= FW_DIR_EMPTY_MAX_DEPTH) {
		left_one(st, name, ELOOP, "descend into");
		return false;
	}
	sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
		sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0) {
		left_one(st, name, errno, "open");
		return false;
	}
	empty_at(sub, depth + 1, NULL, st);
	close(sub);
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
		left_one(st, name, errno, "remove the directory");
		return false;
	}
	st->dirs++;
	return true;
}

/* Empties the directory open on dfd (not adopted). Passes are repeated
 * until one removes nothing: entries removed while reading a directory
 * may make readdir skip others. */
static void empty_at(int dfd, unsigned depth, fw_dir_keep_fn keep, struct fw_dir_empty_stats *st)
{
	for (unsigned pass = 0; pass < 16; pass++) {
		int rfd = dup(dfd);
		bool removed = false;
		struct dirent *e;
		DIR *d;

		if (rfd < 0 || (d = fdopendir(rfd)) == NULL) {
			if (rfd >= 0)
				close(rfd);
			left_one(st, ".", errno, "read the directory");
			return;
		}
		rewinddir(d);
		while ((e = readdir(d)) != NULL) {
			struct stat sb;

			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (keep != NULL && fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			    keep(e->d_name, &sb))
				continue;
			if (remove_entry(dfd, e->d_name, depth, st))
				removed = true;
		}
		closedir(d);
		if (!removed)
			return;
	}
}

int fw_dir_empty(const char *dir, fw_dir_keep_fn keep, struct fw_dir_empty_stats *stats, struct fw_err *err)
{
	struct stat sb;
	int fd;

	memset(stats, 0, sizeof(*stats));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create the directory \"%s\"", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a directory (a symbolic link or a file is there)", dir);
		return fw_err_sys(err, errno, "cannot open the directory \"%s\"", dir);
	}
	if (fstat(fd, &sb) != 0 || ((sb.st_mode & 07777) != 0700 && fchmod(fd, 0700) != 0)) {
		fw_err_sys(err, errno, "cannot restrict the directory \"%s\" to its owner", dir);
		close(fd);
		return -1;
	}
	empty_at(fd, 0, keep, stats);
	close(fd);
	return 0;
}
