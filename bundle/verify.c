/* Verification of a bundle, in an order that trusts nothing early: the
 * signature over the manifest's bytes against the trusted keys (and
 * revocation) before the manifest is parsed, then its schema, its site and
 * key against the signer's, then the directory's exact contents and every
 * blob's size and SHA-256. Every file is opened relative to the bundle's
 * directory without following a link. Must not write anything. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle_int.h"

void fw_bundle_verified_free(struct fw_bundle_verified *v)
{
	if (v == NULL)
		return;
	fw_bundle_manifest_free(v->m);
	if (v->blobs_fd >= 0)
		close(v->blobs_fd);
	free(v);
}

/* The refusals of a bundle's content (1) and the failures of this
 * machine (-1) part here: a file missing from the bundle, too large or
 * not what it should be is the bundle's fault. */
static int verify_fault(const struct fw_err *err)
{
	switch (fw_err_code(err)) {
	case FW_E_NOTFOUND:
	case FW_E_INVALID:
	case FW_E_LIMIT:
	case FW_E_DENIED:
		return 1;
	default:
		return -1;
	}
}

/* The signature, then the manifest. */
static int verify_manifest(const struct fw_config *cfg, int dirfd, struct fw_bundle_verified *v, struct fw_err *err)
{
	struct fw_bundle_trust *trust = NULL;
	uint8_t *text = NULL, *sig = NULL;
	size_t len = 0, slen = 0;
	int rc = -1;

	if (fw_bundle_trust_load(cfg->mirror.trusted_keys, cfg->mirror.revoked_keys, &trust, err) != 0)
		return -1;
	if (bundle_read_at(dirfd, BUNDLE_MANIFEST, FW_BUNDLE_MANIFEST_MAX, &text, &len, err) != 0 ||
	    bundle_read_at(dirfd, BUNDLE_SIG, FW_BUNDLE_SIG_LEN, &sig, &slen, err) != 0) {
		rc = verify_fault(err);
		goto out;
	}
	if (slen != FW_BUNDLE_SIG_LEN) {
		fw_err_setc(err, FW_E_INVALID, "%s is %zu bytes, not an Ed25519 signature (%d)", BUNDLE_SIG, slen,
			    FW_BUNDLE_SIG_LEN);
		rc = 1;
		goto out;
	}
	rc = fw_bundle_trust_verify(trust, text, len, sig, v->site, v->fpr, err);
	if (rc != 0)
		goto out;
	rc = 1;
	if (fw_bundle_manifest_parse(text, len, &v->m, err) != 0) {
		rc = fw_err_code(err) == FW_E_NOMEM ? -1 : 1;
		goto out;
	}
	/* A trusted key speaks for its own site only. */
	if (strcmp(v->m->key_fingerprint, v->fpr) != 0) {
		fw_err_setc(err, FW_E_DENIED, "the manifest names the key %s, but %s signed it", v->m->key_fingerprint,
			    v->fpr);
		goto out;
	}
	if (strcmp(v->m->site_id, v->site) != 0) {
		fw_err_setc(err, FW_E_DENIED, "the manifest is of site \"%s\", but the key of site \"%s\" signed it",
			    v->m->site_id, v->site);
		goto out;
	}
	rc = 0;
out:
	free(sig);
	free(text);
	fw_bundle_trust_free(trust);
	return rc;
}

static const struct fw_bundle_object *verify_find(const struct fw_bundle_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->objects[i].sha256, name) == 0)
			return &m->objects[i];
	return NULL;
}

/* Exactly manifest.json, manifest.sig and blobs/ (a directory). */
static int verify_top(int dirfd, struct fw_err *err)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	struct stat sb;
	int rc = 0;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return fw_err_sys(err, errno, "cannot read the bundle directory");
	}
	rewinddir(d);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, BUNDLE_MANIFEST) == 0 ||
		    strcmp(e->d_name, BUNDLE_SIG) == 0)
			continue;
		if (strcmp(e->d_name, BUNDLE_BLOBS) != 0)
			rc = fw_err_setc(err, FW_E_INVALID, "the bundle holds a file it does not list: \"%.200s\"",
					 e->d_name);
	}
	closedir(d);
	if (rc == 0 && (fstatat(dirfd, BUNDLE_BLOBS, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode)))
		rc = fw_err_setc(err, FW_E_INVALID, "the bundle has no %s directory", BUNDLE_BLOBS);
	return rc;
}

/* Exactly the manifest's blobs, each of its size and hash. */
static int verify_blobs(const struct fw_bundle_manifest *m, int blobsfd, struct fw_err *err)
{
	int fd = dup(blobsfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t seen = 0;
	int rc = 0;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return fw_err_sys(err, errno, "cannot read the bundle's blobs");
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (verify_find(m, e->d_name) == NULL)
			rc = fw_err_setc(err, FW_E_INVALID, "the bundle holds a blob its manifest does not list: "
					 "\"blobs/%.200s\"", e->d_name);
		seen++;
	}
	closedir(d);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < m->n; i++) {
		const struct fw_bundle_object *o = &m->objects[i];
		char hex[FW_SHA256_HEX_LEN + 1];
		uint64_t size = 0;
		struct stat sb;

		fd = openat(blobsfd, o->sha256, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return fw_err_setc(err, errno == ENOENT ? FW_E_NOTFOUND : FW_E_INVALID,
					   "blobs/%s: %s", o->sha256, errno == ENOENT ? "missing from the bundle"
					   : "cannot be opened as a file (a link?)");
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != o->size)
			rc = fw_err_setc(err, FW_E_INVALID, "blobs/%s: not a file of the %llu bytes the manifest gives",
					 o->sha256, (unsigned long long)o->size);
		else if (bundle_copy_fd(fd, -1, o->size, hex, &size, err) != 0)
			rc = -1;
		else if (strcmp(hex, o->sha256) != 0 || size != o->size)
			rc = fw_err_setc(err, FW_E_INVALID, "blobs/%s: its bytes hash to %s (changed)", o->sha256, hex);
		close(fd);
		if (rc != 0)
			return rc;
	}
	return seen == m->n ? 0 : fw_err_setc(err, FW_E_INVALID, "the bundle's blobs do not match its manifest");
}

int fw_bundle_verify(const struct fw_config *cfg, const char *dir, struct fw_bundle_verified **out,
		     struct fw_err *err)
{
	struct fw_bundle_verified *v = calloc(1, sizeof(*v));
	int dirfd = -1, rc = -1;

	if (out != NULL)
		*out = NULL;
	if (v == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	v->blobs_fd = -1;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		fw_err_sys(err, errno, "cannot open the bundle directory \"%s\"", dir);
		goto out;
	}
	rc = verify_manifest(cfg, dirfd, v, err);
	if (rc != 0)
		goto out;
	rc = verify_top(dirfd, err);
	if (rc == 0) {
		v->blobs_fd = openat(dirfd, BUNDLE_BLOBS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		rc = v->blobs_fd < 0 ? fw_err_sys(err, errno, "cannot open the bundle's blobs") : 0;
	}
	if (rc == 0)
		rc = verify_blobs(v->m, v->blobs_fd, err);
	if (rc != 0)
		rc = verify_fault(err);
out:
	if (dirfd >= 0)
		close(dirfd);
	if (rc == 0 && out != NULL)
		*out = v;
	else
		fw_bundle_verified_free(v);
	return rc;
}
