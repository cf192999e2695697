/* Proxy authentication of the appliance ([proxy] auth = basic): the users
 * file <state>/proxy-users (NAME:SCRYPT-HASH lines, 0600, rewritten
 * whole and renamed into place), and the check of a CONNECT's
 * Proxy-Authorization: Basic field against it. A password is verified
 * with the memory-hard KDF once, then remembered by a keyed digest for a
 * few minutes so that the appliance's CONNECTs do not each cost a KDF;
 * failures from one source lock it out for a while, so that guessing
 * costs the guesser, not the gateway. Must not log a password. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fwgate/fileio.h"
#include "fwgate/passwd.h"
#include "proxy/proxy_int.h"

#define USERS_FILE "proxy-users"
/* The mirror's BMC groups ([mirror] auth = basic): the same format. */
#define MIRROR_USERS_FILE "mirror-users"
#define USERS_MAX 1000
#define USERS_FILE_MAX (1024 * 1024)
/* A verified credential is remembered this long. */
#define VERIFIED_TTL_S 300
#define VERIFIED_MAX 64
/* This many failures from one source within the window lock it out. */
#define FAIL_LIMIT 5
#define FAIL_WINDOW_S 60
#define LOCKOUT_S 60
#define SOURCES_TRACKED 256

struct proxy_user {
	char name[FW_PROXY_USER_NAME_MAX + 1];
	char hash[FW_PASSWD_HASH_MAX];
};

struct verified {
	unsigned char digest[32];   /* HMAC(key, name ":" password ":" hash) */
	time_t until;
};

struct failures {
	struct source_key src;
	unsigned count;
	time_t first, locked_until;
};

struct proxy_auth {
	char path[FW_PATH_MAX];
	pthread_mutex_t lock;        /* guards everything below */
	struct proxy_user *users;
	unsigned n_users;
	struct stat seen;            /* the file as last read */
	bool loaded;
	unsigned char key[32];       /* for the digests of verified credentials */
	char decoy[FW_PASSWD_HASH_MAX]; /* verified for unknown names: the same cost as a wrong password */
	struct verified ok[VERIFIED_MAX];
	struct failures fails[SOURCES_TRACKED];
	pthread_mutex_t kdf;         /* one KDF at a time: a flood of guesses queues */
};

/* ------------------------------------------------------------ the file */

bool fw_proxy_user_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > FW_PROXY_USER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Parses the users file's text into users (at most USERS_MAX). */
static int users_parse(const char *path, const char *text, struct proxy_user **out, unsigned *n_out,
		       struct fw_err *err)
{
	struct proxy_user *u = calloc(USERS_MAX, sizeof(*u));
	unsigned n = 0, line = 0;
	const char *p = text;

	*out = NULL;
	*n_out = 0;
	if (u == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	while (*p != '\0') {
		const char *eol = strchr(p, '\n'), *colon;
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);

		line++;
		if (len > 0 && p[0] != '#') {
			colon = memchr(p, ':', len);
			if (colon == NULL || (size_t)(colon - p) > FW_PROXY_USER_NAME_MAX ||
			    len - (size_t)(colon - p) - 1 >= FW_PASSWD_HASH_MAX || n >= USERS_MAX) {
				free(u);
				return fw_err_setc(err, FW_E_CONFIG, "%s:%u: not NAME:HASH (or more than %d users)", path, line,
						  USERS_MAX);
			}
			memcpy(u[n].name, p, (size_t)(colon - p));
			memcpy(u[n].hash, colon + 1, len - (size_t)(colon - p) - 1);
			if (!fw_proxy_user_name_valid(u[n].name) || strncmp(u[n].hash, "$scrypt$", 8) != 0) {
				free(u);
				return fw_err_setc(err, FW_E_CONFIG, "%s:%u: not NAME:HASH", path, line);
			}
			n++;
		}
		p += len + (eol != NULL);
	}
	*out = u;
	*n_out = n;
	return 0;
}

/* Reads the users file; a missing file is no user. */
static int users_read(const char *path, struct proxy_user **out, unsigned *n, struct stat *st, struct fw_err *err)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	memset(st, 0, sizeof(*st));
	if (stat(path, st) != 0) {
		if (errno == ENOENT)
			return 0;
		return fw_err_sys(err, errno, "cannot read %s", path);
	}
	if (fw_file_read(path, USERS_FILE_MAX, &text, &len, err) != 0)
		return -1;
	rc = users_parse(path, (const char *)text, out, n, err);
	free(text);
	return rc;
}

static int users_path(const char *state_dir, const char *name, char *out, size_t len, struct fw_err *err)
{
	return fw_path_join(out, len, state_dir, name, err);
}

/* Writes users whole: a temporary file, fsync, rename, directory fsync. */
static int users_write(const char *state_dir, const char *path, const struct proxy_user *u, unsigned n,
		       struct fw_err *err)
{
	char tmp[FW_PATH_MAX + 16];
	FILE *f;
	int fd, dfd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot write %s", tmp);
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return fw_err_sys(err, errno, "cannot write %s", tmp);
	}
	fprintf(f, "# fwgate users, NAME:HASH (scrypt); managed with fwgate proxyuser / fwgate mirror user\n");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s:%s\n", u[i].name, u[i].hash);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fw_err_sys(err, errno, "cannot write %s", tmp);
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		fw_err_sys(err, errno, "cannot put %s in place", path);
		unlink(tmp);
		return -1;
	}
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		rc = fsync(dfd) == 0 ? 0 : fw_err_sys(err, errno, "cannot sync %s", state_dir);
		close(dfd);
	} else {
		rc = fw_err_sys(err, errno, "cannot sync %s", state_dir);
	}
	return rc;
}

/* Runs one change of the users file under its lock file. */
static int users_edit(const char *state_dir, const char *file, const char *name, const char *password, size_t len,
		      enum fw_proxy_user_op op, struct fw_err *err)
{
	char path[FW_PATH_MAX], lock[FW_PATH_MAX], lockname[64];
	struct proxy_user *u = NULL;
	unsigned n = 0, at = 0;
	struct stat st;
	int lfd, rc = -1;

	if (!fw_proxy_user_name_valid(name))
		return fw_err_setc(err, FW_E_INVALID, "\"%.80s\" is not a user name (1 to %d of A-Z a-z 0-9 . _ -)", name,
				  FW_PROXY_USER_NAME_MAX);
	snprintf(lockname, sizeof(lockname), "%s.lock", file);
	if (users_path(state_dir, file, path, sizeof(path), err) != 0 ||
	    users_path(state_dir, lockname, lock, sizeof(lock), err) != 0)
		return -1;
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0)
		return fw_err_sys(err, errno, "cannot open %s", lock);
	if (flock(lfd, LOCK_EX) != 0) {
		fw_err_sys(err, errno, "cannot lock %s", lock);
		goto out;
	}
	if (users_read(path, &u, &n, &st, err) != 0)
		goto out;
	if (u == NULL && (u = calloc(USERS_MAX, sizeof(*u))) == NULL) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory");
		goto out;
	}
	while (at < n && strcmp(u[at].name, name) != 0)
		at++;
	if (op == FW_PROXY_USER_ADD && at < n) {
		fw_err_setc(err, FW_E_EXISTS, "the user \"%s\" exists already in %s (passwd changes its password)", name,
			   file);
		goto out;
	}
	if (op != FW_PROXY_USER_ADD && at == n) {
		fw_err_setc(err, FW_E_NOTFOUND, "there is no user \"%s\" in %s", name, file);
		goto out;
	}
	if (op == FW_PROXY_USER_REMOVE) {
		memmove(&u[at], &u[at + 1], (n - at - 1) * sizeof(*u));
		n--;
	} else {
		if (len < FW_PASSWD_MIN) {
			fw_err_setc(err, FW_E_INVALID, "the password must have at least %d characters", FW_PASSWD_MIN);
			goto out;
		}
		if (at == n && n >= USERS_MAX) {
			fw_err_setc(err, FW_E_LIMIT, "there are %d users in %s already", USERS_MAX, file);
			goto out;
		}
		if (fw_passwd_hash(password, len, u[at].hash, sizeof(u[at].hash), err) != 0)
			goto out;
		snprintf(u[at].name, sizeof(u[at].name), "%s", name);
		if (at == n)
			n++;
	}
	rc = users_write(state_dir, path, u, n, err);
out:
	if (u != NULL)
		OPENSSL_cleanse(u, USERS_MAX * sizeof(*u));
	free(u);
	close(lfd);
	return rc;
}

int fw_proxy_user_change(const char *state_dir, const char *name, const char *password, size_t len,
			 enum fw_proxy_user_op op, struct fw_err *err)
{
	return users_edit(state_dir, USERS_FILE, name, password != NULL ? password : "", password != NULL ? len : 0, op,
			  err);
}

int fw_mirror_user_change(const char *state_dir, const char *name, const char *password, size_t len,
			  enum fw_proxy_user_op op, struct fw_err *err)
{
	return users_edit(state_dir, MIRROR_USERS_FILE, name, password != NULL ? password : "",
			  password != NULL ? len : 0, op, err);
}

static int users_list(const char *state_dir, const char *file, void (*each)(void *arg, const char *name), void *arg,
		      struct fw_err *err)
{
	char path[FW_PATH_MAX];
	struct proxy_user *u = NULL;
	unsigned n = 0;
	struct stat st;

	if (users_path(state_dir, file, path, sizeof(path), err) != 0 || users_read(path, &u, &n, &st, err) != 0)
		return -1;
	for (unsigned i = 0; i < n; i++)
		each(arg, u[i].name);
	free(u);
	return (int)n;
}

int fw_proxy_user_list(const char *state_dir, void (*each)(void *arg, const char *name), void *arg,
		       struct fw_err *err)
{
	return users_list(state_dir, USERS_FILE, each, arg, err);
}

int fw_mirror_user_list(const char *state_dir, void (*each)(void *arg, const char *name), void *arg,
			struct fw_err *err)
{
	return users_list(state_dir, MIRROR_USERS_FILE, each, arg, err);
}

/* ------------------------------------------------------------ the check */

static int auth_new(struct proxy_auth **out, const char *state_dir, const char *file, const char *what,
		    struct fw_err *err)
{
	struct proxy_auth *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->kdf, NULL);
	if (users_path(state_dir, file, a->path, sizeof(a->path), err) != 0 ||
	    RAND_bytes(a->key, sizeof(a->key)) != 1 ||
	    fw_passwd_hash("fwgate decoy credential", 23, a->decoy, sizeof(a->decoy), err) != 0 ||
	    users_read(a->path, &a->users, &a->n_users, &a->seen, err) != 0) {
		fw_err_set(err, "cannot set up %s authentication", what);
		proxy_auth_free(a);
		return -1;
	}
	if (a->n_users == 0) {
		fw_err_setc(err, FW_E_CONFIG, "[%s] auth = basic, but %s holds no user: add one with fwgate %s NAME", what,
			   a->path, strcmp(what, "proxy") == 0 ? "proxyuser add" : "mirror user add");
		proxy_auth_free(a);
		return -1;
	}
	a->loaded = true;
	*out = a;
	return 0;
}

int proxy_auth_new(struct proxy_auth **out, const char *state_dir, struct fw_err *err)
{
	return auth_new(out, state_dir, USERS_FILE, "proxy", err);
}

void proxy_auth_free(struct proxy_auth *a)
{
	if (a == NULL)
		return;
	free(a->users);
	OPENSSL_cleanse(a->key, sizeof(a->key));
	pthread_mutex_destroy(&a->kdf);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* Reads the file again when it changed (fwgate proxyuser ran). A file
 * that cannot be read leaves no user: every CONNECT is refused. */
static void users_refresh(struct proxy_auth *a)
{
	struct proxy_user *u = NULL;
	unsigned n = 0;
	struct stat st;
	struct fw_err err;

	fw_err_clear(&err);
	if (stat(a->path, &st) == 0 && a->loaded && st.st_ino == a->seen.st_ino && st.st_size == a->seen.st_size &&
	    st.st_mtim.tv_sec == a->seen.st_mtim.tv_sec && st.st_mtim.tv_nsec == a->seen.st_mtim.tv_nsec)
		return;
	if (users_read(a->path, &u, &n, &st, &err) != 0)
		fprintf(stderr, "fwgate: proxy users: %s: every CONNECT is refused until it is fixed\n",
			fw_err_msg(&err));
	free(a->users);
	a->users = u;
	a->n_users = n;
	a->seen = st;
	a->loaded = true;
	memset(a->ok, 0, sizeof(a->ok)); /* a changed file forgets what was verified */
}

/* The failures recorded for src, or NULL. */
static struct failures *failures_find(struct proxy_auth *a, const struct source_key *src)
{
	for (unsigned i = 0; i < SOURCES_TRACKED; i++)
		if (a->fails[i].count > 0 && memcmp(&a->fails[i].src, src, sizeof(*src)) == 0)
			return &a->fails[i];
	return NULL;
}

/* Records one failure of src: its entry, or a new one in place of the
 * entry whose lockout (or window) ended first. */
static void failure_record(struct proxy_auth *a, const struct source_key *src, time_t now)
{
	struct failures *f = failures_find(a, src), *oldest = &a->fails[0];

	if (f == NULL) {
		for (unsigned i = 1; i < SOURCES_TRACKED; i++) {
			const struct failures *c = &a->fails[i];
			time_t c_end = c->count == 0 ? 0 : c->locked_until > c->first ? c->locked_until : c->first;
			time_t o_end = oldest->count == 0 ? 0 : oldest->locked_until > oldest->first ? oldest->locked_until
											 : oldest->first;

			if (c_end < o_end)
				oldest = &a->fails[i];
		}
		f = oldest;
		memset(f, 0, sizeof(*f));
		f->src = *src;
		f->first = now;
	}
	if (now - f->first > FAIL_WINDOW_S && f->locked_until <= now) {
		f->first = now;
		f->count = 0;
	}
	if (++f->count >= FAIL_LIMIT)
		f->locked_until = now + LOCKOUT_S;
}

/* Splits "Basic BASE64" into name and password (in out, NUL-terminated
 * both); false when the field is not that. */
static bool basic_credentials(const char *v, size_t vl, char *out, size_t out_max, const char **name,
			      const char **password, size_t *password_len)
{
	size_t n = 0;
	char *colon;

	if (vl < 6 || strncasecmp(v, "Basic ", 6) != 0)
		return false;
	v += 6;
	vl -= 6;
	while (vl > 0 && *v == ' ') {
		v++;
		vl--;
	}
	if (fw_base64_decode(v, vl, (unsigned char *)out, out_max - 1, &n) != 0)
		return false;
	out[n] = '\0';
	colon = memchr(out, ':', n);
	if (colon == NULL || memchr(out, '\0', n) != NULL)
		return false;
	*colon = '\0';
	*name = out;
	*password = colon + 1;
	*password_len = n - (size_t)(colon + 1 - out);
	return true;
}

static void credential_digest(const struct proxy_auth *a, const char *name, const char *password, size_t len,
			      const char *hash, unsigned char out[32])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mc = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", (char *)(uintptr_t)"SHA256", 0),
				OSSL_PARAM_construct_end() };
	size_t olen = 0;

	memset(out, 0, 32);
	if (mc == NULL || EVP_MAC_init(mc, a->key, sizeof(a->key), params) != 1 ||
	    EVP_MAC_update(mc, (const unsigned char *)name, strlen(name) + 1) != 1 ||
	    EVP_MAC_update(mc, (const unsigned char *)password, len) != 1 ||
	    EVP_MAC_update(mc, (const unsigned char *)hash, strlen(hash) + 1) != 1 || EVP_MAC_final(mc, out, &olen, 32) != 1)
		RAND_bytes(out, 32); /* never matches anything remembered */
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(mac);
}

/* The check of one Basic credentials value (v, vl bytes; NULL: none sent)
 * from src; what names the field in the refusals. */
static int auth_check_value(struct proxy_auth *a, const char *v, size_t vl, const struct source_key *src,
			    char *user, size_t user_len, const char *what, struct fw_err *why)
{
	char buf[FW_PROXY_USER_NAME_MAX + FW_PASSWD_MAX + 8], hash[FW_PASSWD_HASH_MAX];
	const char *name = NULL, *password = NULL;
	unsigned char digest[32];
	size_t plen = 0;
	time_t now = time(NULL);
	struct failures *f;
	bool found = false, ok = false;
	struct fw_err kerr;
	int rc = -1;

	user[0] = '\0';
	if (v == NULL)
		return fw_err_setc(why, FW_E_DENIED, "%s authentication is required (%s: Basic)", what,
				  strcmp(what, "proxy") == 0 ? "Proxy-Authorization" : "Authorization");
	if (vl > sizeof(buf) * 4 / 3 + 16 || !basic_credentials(v, vl, buf, sizeof(buf), &name, &password, &plen))
		return fw_err_setc(why, FW_E_DENIED, "the %s credentials are not valid Basic credentials", what);
	snprintf(user, user_len, "%.*s", FW_PROXY_USER_NAME_MAX, fw_proxy_user_name_valid(name) ? name : "(invalid)");
	pthread_mutex_lock(&a->lock);
	f = failures_find(a, src);
	if (f != NULL && f->locked_until > now) {
		pthread_mutex_unlock(&a->lock);
		fw_err_setc(why, FW_E_DENIED, "too many failed %s logins from this source: locked out for %lld s", what,
			   (long long)(f->locked_until - now));
		goto out;
	}
	users_refresh(a);
	for (unsigned i = 0; i < a->n_users && !found; i++)
		if (strcmp(a->users[i].name, name) == 0) {
			found = true;
			snprintf(hash, sizeof(hash), "%s", a->users[i].hash);
		}
	if (found) {
		credential_digest(a, name, password, plen, hash, digest);
		for (unsigned i = 0; i < VERIFIED_MAX && !ok; i++)
			ok = a->ok[i].until > now && CRYPTO_memcmp(a->ok[i].digest, digest, sizeof(digest)) == 0;
	}
	pthread_mutex_unlock(&a->lock);
	if (!ok) {
		bool match = false;

		/* An unknown name costs the KDF too: the answer's timing
		 * does not tell which names exist. */
		fw_err_clear(&kerr);
		pthread_mutex_lock(&a->kdf);
		if (fw_passwd_verify(password, plen, found ? hash : a->decoy, &match, &kerr) != 0)
			match = false;
		pthread_mutex_unlock(&a->kdf);
		ok = found && match;
		if (ok) {
			struct verified *slot;

			pthread_mutex_lock(&a->lock);
			slot = &a->ok[0];
			for (unsigned i = 1; i < VERIFIED_MAX; i++)
				if (a->ok[i].until < slot->until)
					slot = &a->ok[i];
			memcpy(slot->digest, digest, sizeof(digest));
			slot->until = now + VERIFIED_TTL_S;
			pthread_mutex_unlock(&a->lock);
		}
	}
	if (ok) {
		rc = 0;
		goto out;
	}
	pthread_mutex_lock(&a->lock);
	failure_record(a, src, now);
	pthread_mutex_unlock(&a->lock);
	/* The same words for an unknown user and a wrong password. */
	fw_err_setc(why, FW_E_DENIED, "the %s credentials were refused", what);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int proxy_auth_check(struct proxy_auth *a, const struct http_req *req, const struct source_key *src,
		     char *user, size_t user_len, struct fw_err *why)
{
	const struct http_header *h = http_header_find(req, "proxy-authorization");

	return auth_check_value(a, h != NULL ? h->value : NULL, h != NULL ? h->value_len : 0, src, user, user_len,
				"proxy", why);
}

/* ------------------------------------------------------------ the mirror's BMC groups */

struct fw_mirror_auth {
	struct proxy_auth *a;
};

int fw_mirror_auth_new(struct fw_mirror_auth **out, const char *state_dir, struct fw_err *err)
{
	struct fw_mirror_auth *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (m == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (auth_new(&m->a, state_dir, MIRROR_USERS_FILE, "mirror", err) != 0) {
		free(m);
		return -1;
	}
	*out = m;
	return 0;
}

void fw_mirror_auth_free(struct fw_mirror_auth *m)
{
	if (m == NULL)
		return;
	proxy_auth_free(m->a);
	free(m);
}

int fw_mirror_auth_check(struct fw_mirror_auth *m, const char *authorization, const char *source_ip, char *user,
			 size_t user_len, struct fw_err *why)
{
	struct source_key src;

	memset(&src, 0, sizeof(src));
	if (inet_pton(AF_INET6, source_ip, src.addr) == 1)
		src.v6 = true;
	else if (inet_pton(AF_INET, source_ip, src.addr) != 1)
		memset(src.addr, 0xff, sizeof(src.addr));
	return auth_check_value(m->a, authorization, authorization != NULL ? strlen(authorization) : 0, &src, user,
				user_len, "mirror", why);
}
