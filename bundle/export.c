/* Export of a bundle: the servable objects the store lists, their blobs
 * copied byte for byte (each copy hashed and checked against its name),
 * the manifest, and last the detached signature, each file synced before
 * the next step, so that a bundle cut short is never a signed one. Must
 * not export what the store does not list as servable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle_int.h"

struct export_run {
	const struct fw_bundle_export_opts *o;
	int dirfd, blobsfd;
	bool created_dir, created_blobs, wrote_manifest, wrote_sig;
	json_t *list;
	size_t copied;     /* blobs written so far */
};

/* DIR is made, or must be an empty directory. */
static int export_dir(struct export_run *r, struct fw_err *err)
{
	struct dirent *e;
	DIR *d;
	int fd;

	if (mkdir(r->o->dir, 0755) == 0)
		r->created_dir = true;
	else if (errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create the bundle directory \"%s\"", r->o->dir);
	fd = open(r->o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open the bundle directory \"%s\"", r->o->dir);
	r->dirfd = fd;
	fd = dup(fd);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return fw_err_sys(err, errno, "cannot read the bundle directory \"%s\"", r->o->dir);
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			/* the entry's name lives in d: said before d is closed */
			fw_err_setc(err, FW_E_EXISTS, "the bundle directory \"%s\" is not empty (\"%.200s\"): an export "
				    "goes into a new or empty directory", r->o->dir, e->d_name);
			closedir(d);
			return -1;
		}
	closedir(d);
	return 0;
}

static int export_blob(struct export_run *r, const json_t *obj, struct fw_err *err)
{
	const char *sha = json_string_value(json_object_get(obj, "sha256"));
	uint64_t size = 0, copied = 0;
	char hex[FW_SHA256_HEX_LEN + 1];
	int in = -1, out = -1, rc = -1;

	if (fw_store_open_blob(r->o->store, sha, &in, &size, err) != 0)
		return fw_err_prefix(err, "object %lld", (long long)json_integer_value(json_object_get(obj, "id")));
	out = openat(r->blobsfd, sha, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0) {
		fw_err_sys(err, errno, "cannot create blobs/%s", sha);
		goto out;
	}
	r->copied++;
	if (bundle_copy_fd(in, out, size, hex, &copied, err) != 0)
		goto out;
	/* The store's blob is checked on the way out: a damaged one is not
	 * signed into a bundle. */
	if (strcmp(hex, sha) != 0 || copied != size) {
		fw_err_setc(err, FW_E_IO, "the store's blob %s does not match its name (%llu bytes hash to %s): "
			    "run fwgate store verify", sha, (unsigned long long)copied, hex);
		goto out;
	}
	if (fsync(out) != 0) {
		fw_err_sys(err, errno, "cannot sync blobs/%s", sha);
		goto out;
	}
	rc = 0;
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	return rc;
}

static void export_site(const struct fw_config *cfg, char *site, size_t len)
{
	if (cfg->mirror.site_id[0] != '\0') {
		snprintf(site, len, "%s", cfg->mirror.site_id);
		return;
	}
	if (gethostname(site, len) != 0 || site[0] == '\0')
		snprintf(site, len, "fwgate");
	site[len - 1] = '\0';
}

/* The manifest, synced, then its signature: an unsigned bundle is what a
 * crash in between leaves, and no site imports it. */
static int export_sign(struct export_run *r, int64_t sequence, const char *key, struct fw_err *err)
{
	char site[FW_BUNDLE_SITE_MAX + 1], fpr[FW_BUNDLE_FPR_LEN + 1], fpr2[FW_BUNDLE_FPR_LEN + 1];
	uint8_t sig[FW_BUNDLE_SIG_LEN];
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	export_site(r->o->cfg, site, sizeof(site));
	if (fw_bundle_sign_file_key(key, (const uint8_t *)"", 0, sig, fpr, err) != 0 ||
	    fw_bundle_manifest_build(site, (int64_t)time(NULL), sequence, fpr, r->list, &text, &len, err) != 0)
		goto out;
	if (bundle_write_at(r->dirfd, BUNDLE_MANIFEST, text, len, err) != 0)
		goto out;
	r->wrote_manifest = true;
	if (fw_bundle_sign_file_key(key, (const uint8_t *)text, len, sig, fpr2, err) != 0)
		goto out;
	if (strcmp(fpr, fpr2) != 0) {
		fw_err_set(err, "the signing key \"%s\" changed during the export", key);
		goto out;
	}
	if (bundle_write_at(r->dirfd, BUNDLE_SIG, sig, sizeof(sig), err) != 0)
		goto out;
	r->wrote_sig = true;
	rc = bundle_sync_dir(r->dirfd, r->o->dir, err);
out:
	free(text);
	return rc;
}

/* After a failure: what this export wrote goes, nothing else. */
static void export_undo(struct export_run *r)
{
	size_t i;
	const json_t *obj;

	if (r->wrote_sig)
		unlinkat(r->dirfd, BUNDLE_SIG, 0);
	if (r->wrote_manifest)
		unlinkat(r->dirfd, BUNDLE_MANIFEST, 0);
	json_array_foreach(r->list, i, obj) {
		if (i >= r->copied)
			break;
		unlinkat(r->blobsfd, json_string_value(json_object_get(obj, "sha256")), 0);
	}
	if (r->created_blobs)
		unlinkat(r->dirfd, BUNDLE_BLOBS, AT_REMOVEDIR);
	if (r->created_dir)
		rmdir(r->o->dir);
}

int fw_bundle_export(const struct fw_bundle_export_opts *o, size_t *n, int64_t *sequence, struct fw_err *err)
{
	struct export_run r = { .o = o, .dirfd = -1, .blobsfd = -1 };
	char key[FW_PATH_MAX], detail[FW_PATH_MAX + 256], fpr[FW_BUNDLE_FPR_LEN + 1];
	uint8_t sig[FW_BUNDLE_SIG_LEN];
	size_t i;
	const json_t *obj;
	int rc = -1;

	*n = 0;
	*sequence = 0;
	/* The key first: without it nothing is written. */
	if (fw_bundle_key_path(o->cfg, key, sizeof(key), err) != 0 ||
	    fw_bundle_sign_file_key(key, (const uint8_t *)"", 0, sig, fpr, err) != 0)
		return -1;
	if (fw_store_export_list(o->store, o->since, o->ids, o->n_ids, &r.list, err) != 0)
		return -1;
	if (json_array_size(r.list) > FW_BUNDLE_OBJECTS_MAX) {
		fw_err_setc(err, FW_E_LIMIT, "%zu objects to export, over the %u of one bundle: use --since or --object",
			    json_array_size(r.list), FW_BUNDLE_OBJECTS_MAX);
		goto out;
	}
	if (export_dir(&r, err) != 0 || fw_store_export_begin(o->store, sequence, err) != 0)
		goto out;
	if (mkdirat(r.dirfd, BUNDLE_BLOBS, 0755) != 0) {
		fw_err_sys(err, errno, "cannot create %s/%s", o->dir, BUNDLE_BLOBS);
		goto out;
	}
	r.created_blobs = true;
	r.blobsfd = openat(r.dirfd, BUNDLE_BLOBS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r.blobsfd < 0) {
		fw_err_sys(err, errno, "cannot open %s/%s", o->dir, BUNDLE_BLOBS);
		goto out;
	}
	json_array_foreach(r.list, i, obj)
		if (export_blob(&r, obj, err) != 0)
			goto out;
	if (bundle_sync_dir(r.blobsfd, BUNDLE_BLOBS, err) != 0 || export_sign(&r, *sequence, key, err) != 0)
		goto out;
	snprintf(detail, sizeof(detail), "bundle sequence %lld: %zu object(s) signed by key %s into %s",
		 (long long)*sequence, json_array_size(r.list), fpr, o->dir);
	if (fw_store_export_done(o->store, *sequence, json_array_size(r.list), o->who, detail, err) != 0)
		goto out;
	*n = json_array_size(r.list);
	rc = 0;
out:
	if (rc != 0 && r.dirfd >= 0)
		export_undo(&r);
	if (r.blobsfd >= 0)
		close(r.blobsfd);
	if (r.dirfd >= 0)
		close(r.dirfd);
	json_decref(r.list);
	return rc;
}
