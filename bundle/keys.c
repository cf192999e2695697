/* The keys of offline bundles: this site's Ed25519 signing key (made once,
 * 0600, never replaced; refused when others may read it), fingerprints,
 * signing, and the trust of other sites' public keys with revocation.
 * Must not read a bundle: it signs and checks bytes it is handed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fwgate/bundle.h"
#include "fwgate/fileio.h"

struct bundle_key {
	EVP_PKEY *pkey;
	char site[FW_BUNDLE_SITE_MAX + 1];
	char fpr[FW_BUNDLE_FPR_LEN + 1];
	bool revoked;
};

struct fw_bundle_trust {
	struct bundle_key keys[FW_BUNDLE_KEYS_MAX];
	size_t n;
};

int fw_bundle_key_path(const struct fw_config *cfg, char *out, size_t len, struct fw_err *err)
{
	if (cfg->mirror.key_file[0] != '\0')
		return fw_path_join(out, len, "", cfg->mirror.key_file, err);
	if (snprintf(out, len, "%s/mirror/signing.key", cfg->state.dir) >= (int)len)
		return fw_err_setc(err, FW_E_LIMIT, "the state directory's path is too long for the signing key");
	return 0;
}

static void bundle_hex(const unsigned char *md, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

int fw_bundle_fingerprint(const void *pkey, char fpr[FW_BUNDLE_FPR_LEN + 1], struct fw_err *err)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY((EVP_PKEY *)(uintptr_t)pkey, &der);
	int rc = 0;

	fpr[0] = '\0';
	if (n <= 0 || EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		rc = fw_err_set(err, "cannot compute a key's fingerprint");
	else
		bundle_hex(md, mdlen, fpr);
	OPENSSL_free(der);
	return rc;
}

/* The PEM text of a BIO's contents as a new string. */
static char *bundle_bio_text(BIO *b)
{
	char *data = NULL, *out;
	long n = BIO_get_mem_data(b, &data);

	if (n <= 0 || data == NULL)
		return NULL;
	out = malloc((size_t)n + 1);
	if (out != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	return out;
}

/* Writes len bytes to a new file (O_EXCL, mode), fsyncs it and its
 * directory. */
static int bundle_write_new(const char *path, mode_t mode, const void *p, size_t len, struct fw_err *err)
{
	char dir[FW_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	size_t off = 0;

	if (fd < 0)
		return fw_err_sys(err, errno, "cannot create \"%s\"%s", path,
				  errno == EEXIST ? " (an existing key is never replaced)" : "");
	while (off < len) {
		ssize_t w = write(fd, (const uint8_t *)p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fw_err_sys(err, w < 0 ? errno : EIO, "cannot write \"%s\"", path);
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		fw_err_sys(err, errno, "cannot sync \"%s\"", path);
		goto fail;
	}
	close(fd);
	if (snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 : (int)(slash - path + (slash == path)),
		     slash == NULL ? "." : path) >= (int)sizeof(dir))
		return fw_err_setc(err, FW_E_LIMIT, "the path \"%s\" is too long", path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		fw_err_sys(err, errno, "cannot sync the directory \"%s\"", dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	unlink(path);
	return -1;
}

/* The key's directory (<state>/mirror by default) and its parents are
 * made when missing, 0700. */
static int bundle_key_dir(const char *path, struct fw_err *err)
{
	char dir[FW_PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		return 0;
	if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >= (int)sizeof(dir))
		return fw_err_setc(err, FW_E_LIMIT, "the path \"%s\" is too long", path);
	for (char *p = dir + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return fw_err_sys(err, errno, "cannot create the key's directory \"%s\"", dir);
		*p = c;
		if (c == '\0')
			return 0;
	}
}

int fw_bundle_keygen(const char *path, char **pub_pem, char fpr[FW_BUNDLE_FPR_LEN + 1], struct fw_err *err)
{
	EVP_PKEY *k = NULL;
	BIO *priv = NULL, *pub = NULL;
	char *text = NULL;
	int rc = -1;

	*pub_pem = NULL;
	fpr[0] = '\0';
	if (bundle_key_dir(path, err) != 0)
		return -1;
	if (access(path, F_OK) == 0)
		return fw_err_setc(err, FW_E_EXISTS, "\"%s\" exists: an existing signing key is never replaced", path);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	priv = BIO_new(BIO_s_mem());
	pub = BIO_new(BIO_s_mem());
	if (k == NULL || priv == NULL || pub == NULL || PEM_write_bio_PrivateKey(priv, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub, k) != 1 || (text = bundle_bio_text(priv)) == NULL) {
		fw_err_set(err, "cannot make an Ed25519 key (OpenSSL)");
		goto out;
	}
	if (fw_bundle_fingerprint(k, fpr, err) != 0 || bundle_write_new(path, 0600, text, strlen(text), err) != 0)
		goto out;
	*pub_pem = bundle_bio_text(pub);
	if (*pub_pem == NULL) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (text != NULL) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	BIO_free(pub);
	BIO_free(priv);
	EVP_PKEY_free(k);
	return rc;
}

static EVP_PKEY *bundle_pem_read(const uint8_t *p, size_t len, bool private_key)
{
	BIO *b = BIO_new_mem_buf(p, (int)len);
	EVP_PKEY *k;

	if (b == NULL)
		return NULL;
	k = private_key ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k != NULL && EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

int fw_bundle_sign_file_key(const char *path, const uint8_t *msg, size_t len, uint8_t sig[FW_BUNDLE_SIG_LEN],
			    char fpr[FW_BUNDLE_FPR_LEN + 1], struct fw_err *err)
{
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	uint8_t *text = NULL;
	size_t tlen = 0, slen = FW_BUNDLE_SIG_LEN;
	struct stat sb;
	int rc = -1;

	fpr[0] = '\0';
	if (stat(path, &sb) != 0)
		return fw_err_sys(err, errno, "cannot use the signing key \"%s\" (fwgate mirror keygen makes one)", path);
	/* A key others can read signs nothing: it may be someone else's now. */
	if ((sb.st_mode & 077) != 0)
		return fw_err_setc(err, FW_E_DENIED, "the signing key \"%s\" is readable by others (mode %03o): "
				   "chmod 600 it first", path, (unsigned)(sb.st_mode & 0777));
	if (fw_file_read(path, FW_BUNDLE_KEY_FILE_MAX, &text, &tlen, err) != 0)
		return -1;
	k = bundle_pem_read(text, tlen, true);
	if (k == NULL) {
		fw_err_setc(err, FW_E_CONFIG, "\"%s\" is not an Ed25519 private key (PEM)", path);
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, sig, &slen, msg, len) != 1 || slen != FW_BUNDLE_SIG_LEN) {
		fw_err_set(err, "cannot sign with \"%s\" (OpenSSL)", path);
		goto out;
	}
	rc = fw_bundle_fingerprint(k, fpr, err);
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	if (text != NULL) {
		OPENSSL_cleanse(text, tlen);
		free(text);
	}
	return rc;
}

/* ------------------------------------------------------------ trust */

void fw_bundle_trust_free(struct fw_bundle_trust *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		EVP_PKEY_free(t->keys[i].pkey);
	free(t);
}

static bool bundle_hex64(const char *s, size_t n)
{
	if (n != FW_BUNDLE_FPR_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* Marks the keys whose fingerprint a line of the file lists (hex, either
 * case; blank lines and # comments allowed; anything else is an error). */
static int bundle_revoked_load(struct fw_bundle_trust *t, const char *path, struct fw_err *err)
{
	uint8_t *text = NULL;
	size_t len = 0, lines = 0;
	char *line, *next;
	int rc = -1;

	if (fw_file_read(path, FW_BUNDLE_REVOKED_MAX * (FW_BUNDLE_FPR_LEN + 2), &text, &len, err) != 0)
		return fw_err_prefix(err, "[mirror] revoked_keys");
	for (line = (char *)text; line != NULL && *line != '\0'; line = next) {
		size_t n;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lines++;
		while (*line == ' ' || *line == '\t')
			line++;
		n = strcspn(line, " \t\r#");
		if (n == 0 && (line[0] == '\0' || line[0] == '#' || line[0] == '\r'))
			continue;
		if (!bundle_hex64(line, n) || (line[n + strspn(line + n, " \t\r")] != '\0' &&
						line[n + strspn(line + n, " \t\r")] != '#')) {
			fw_err_setc(err, FW_E_CONFIG, "%s:%zu: not a SHA-256 fingerprint (64 hex digits)", path, lines);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			line[i] = (char)(line[i] >= 'A' && line[i] <= 'F' ? line[i] - 'A' + 'a' : line[i]);
		for (size_t k = 0; k < t->n; k++)
			if (memcmp(t->keys[k].fpr, line, FW_BUNDLE_FPR_LEN) == 0)
				t->keys[k].revoked = true;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

static int bundle_trust_add(struct fw_bundle_trust *t, const char *dir, const char *name, struct fw_err *err)
{
	struct bundle_key *k = &t->keys[t->n];
	size_t base = strlen(name) - 4, len = 0;
	char path[FW_PATH_MAX];
	uint8_t *text = NULL;

	if (t->n >= FW_BUNDLE_KEYS_MAX)
		return fw_err_setc(err, FW_E_LIMIT, "[mirror] trusted_keys \"%s\" holds more than %u keys", dir,
				   FW_BUNDLE_KEYS_MAX);
	if (base == 0 || base > FW_BUNDLE_SITE_MAX)
		return fw_err_setc(err, FW_E_CONFIG, "[mirror] trusted_keys: \"%s\": a key file is named "
				   "<site_id>.pem (1 to %d characters)", name, FW_BUNDLE_SITE_MAX);
	if (fw_path_join(path, sizeof(path), dir, name, err) != 0 ||
	    fw_file_read(path, FW_BUNDLE_KEY_FILE_MAX, &text, &len, err) != 0)
		return fw_err_prefix(err, "[mirror] trusted_keys");
	k->pkey = bundle_pem_read(text, len, false);
	free(text);
	if (k->pkey == NULL)
		return fw_err_setc(err, FW_E_CONFIG, "[mirror] trusted_keys: \"%s\" is not an Ed25519 public key (PEM)",
				   path);
	t->n++;
	memcpy(k->site, name, base);
	k->site[base] = '\0';
	return fw_bundle_fingerprint(k->pkey, k->fpr, err);
}

int fw_bundle_trust_load(const char *dir, const char *revoked, struct fw_bundle_trust **out, struct fw_err *err)
{
	struct fw_bundle_trust *t;
	struct dirent *e;
	DIR *d;
	int rc = -1;

	*out = NULL;
	if (dir[0] == '\0')
		return fw_err_setc(err, FW_E_CONFIG, "[mirror] trusted_keys is not set: no site is trusted");
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	d = opendir(dir);
	if (d == NULL) {
		fw_err_sys(err, errno, "[mirror] trusted_keys: cannot read \"%s\"", dir);
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n <= 4 || strcmp(e->d_name + n - 4, ".pem") != 0)
			continue;
		if (bundle_trust_add(t, dir, e->d_name, err) != 0)
			goto out;
	}
	if (revoked != NULL && revoked[0] != '\0' && bundle_revoked_load(t, revoked, err) != 0)
		goto out;
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	if (rc == 0)
		*out = t;
	else
		fw_bundle_trust_free(t);
	return rc;
}

static bool bundle_verify_one(EVP_PKEY *k, const uint8_t *msg, size_t len, const uint8_t *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
		  EVP_DigestVerify(ctx, sig, FW_BUNDLE_SIG_LEN, msg, len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}

int fw_bundle_trust_verify(const struct fw_bundle_trust *t, const uint8_t *msg, size_t len,
			   const uint8_t sig[FW_BUNDLE_SIG_LEN], char site[FW_BUNDLE_SITE_MAX + 1],
			   char fpr[FW_BUNDLE_FPR_LEN + 1], struct fw_err *err)
{
	site[0] = fpr[0] = '\0';
	for (size_t i = 0; i < t->n; i++) {
		const struct bundle_key *k = &t->keys[i];

		if (!bundle_verify_one(k->pkey, msg != NULL ? msg : (const uint8_t *)"", len, sig))
			continue;
		if (k->revoked) {
			fw_err_setc(err, FW_E_DENIED, "the bundle is signed by the key of site %s (%s), which is "
				    "revoked", k->site, k->fpr);
			return 1;
		}
		memcpy(site, k->site, sizeof(k->site));
		memcpy(fpr, k->fpr, sizeof(k->fpr));
		return 0;
	}
	fw_err_setc(err, FW_E_DENIED, "the manifest's signature is made by no trusted key (an unknown key, or "
		    "the manifest or its signature was changed)");
	return 1;
}
