/* Garbage collection of sandbox samples (<state>/samples): a sample no
 * unfinished or failed job needs goes once it is old. Must not touch a file
 * that is not a sample's (named by a SHA-256) or a crash's temporary one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fwgate/fileio.h"
#include "store/store_int.h"

/* ------------------------------------------------------------ samples */

#define SAMPLE_GRACE_S 3600

static int sample_needed(struct fw_store *st, const char *sha, bool *needed, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT 1 FROM sandbox_jobs WHERE sha256 = ?1"
				  " AND state IN ('queued', 'running', 'failed') LIMIT 1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, sha) != 0)
		return store_db_err(st, err, "cannot look up a sample's jobs");
	r = sqlite3_step(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_db_err(st, err, "cannot look up a sample's jobs");
	*needed = r == SQLITE_ROW;
	return 0;
}

int store_sandbox_gc_samples_locked(struct fw_store *st, unsigned *removed, struct fw_err *err)
{
	char dir[STORE_PATH_MAX];
	time_t old = time(NULL) - SAMPLE_GRACE_S;
	struct dirent *de;
	int dfd, rc = 0;
	DIR *d;

	if (fw_path_join(dir, sizeof(dir), st->dir, "samples", err) != 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return errno == ENOENT ? 0 : fw_err_sys(err, errno, "cannot open \"%s\"", dir);
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return fw_err_sys(err, errno, "cannot read \"%s\"", dir);
	}
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		bool needed = false, temp = strncmp(de->d_name, ".in-", 4) == 0;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
		    sb.st_mtime > old)
			continue;
		if (!temp && !store_sha256_valid(de->d_name))
			continue; /* not ours: left alone */
		if (!temp && sample_needed(st, de->d_name, &needed, err) != 0) {
			rc = -1;
			break;
		}
		if (!needed && unlinkat(dfd, de->d_name, 0) == 0)
			(*removed)++;
	}
	closedir(d);
	return rc;
}
