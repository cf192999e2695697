/* Who is asking the console, and the door: sessions (a random id in an
 * HttpOnly, Secure, SameSite=Strict cookie; the store keeps only its
 * SHA-256; idle and absolute timeouts; a new id at every login; revoked
 * at logout and at a password change), the CSRF token of a session,
 * bearer tokens for the API, and the login with its lockout (per account
 * and per source, back-off doubling up to a bound). A password is only
 * ever handed to fw_passwd_verify/fw_passwd_hash; it is never logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "console/console_int.h"
#include "fwgate/passwd.h"

/* A hash to verify against when the account does not exist, so that a
 * wrong name costs the same time as a wrong password. Made once. */
static char dummy_hash[FW_PASSWD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
	struct fw_err err;

	if (fw_passwd_hash("fwgate-no-such-account", 22, dummy_hash, sizeof(dummy_hash), &err) != 0)
		dummy_hash[0] = '\0';
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int sha256_hex(const char *s, size_t n, char out[FW_SECRET_HASH_LEN + 1])
{
	unsigned char md[32];
	unsigned int len = 0;

	if (EVP_Digest(s, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return -1;
	hex(md, 32, out);
	return 0;
}

static int random_hex(char out[65])
{
	unsigned char b[32];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	hex(b, sizeof(b), out);
	return 0;
}

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) || i >= 64)
			return false;
	return i == 64;
}

bool auth_session_expired(const struct fw_config *cfg, const struct fw_session *s, int64_t now)
{
	return now - s->last_seen_at > (int64_t)cfg->console.session_idle_seconds ||
	       now - s->created_at > (int64_t)cfg->console.session_max_seconds;
}

int64_t auth_lockout_left(const struct fw_config *cfg, unsigned failures, int64_t last_at, int64_t now)
{
	int64_t wait = cfg->console.lockout_seconds;

	if (failures < cfg->console.lockout_failures)
		return 0;
	for (unsigned i = cfg->console.lockout_failures; i < failures && wait < cfg->console.lockout_max_seconds; i++)
		wait *= 2;
	if (wait > (int64_t)cfg->console.lockout_max_seconds)
		wait = cfg->console.lockout_max_seconds;
	return last_at + wait > now ? last_at + wait - now : 0;
}

static int identify_token(struct creq *r, struct fw_err *err)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	char hash[FW_SECRET_HASH_LEN + 1];
	int found;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) > 256 || sha256_hex(h + 7, strlen(h + 7), hash) != 0)
		return 0;
	found = fw_store_token_get(r->c->d.store, hash, console_now(), r->who, &r->role, err);
	if (found < 0)
		return -1;
	if (found == 1) {
		r->auth = AUTH_TOKEN;
		snprintf(r->via, sizeof(r->via), "api %s", r->source);
	}
	return 0;
}

static int identify_session(struct creq *r, struct fw_err *err)
{
	const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, CONSOLE_COOKIE);
	char hash[FW_SECRET_HASH_LEN + 1];
	int64_t now = console_now();
	int found;

	if (cookie == NULL || !is_hex64(cookie) || sha256_hex(cookie, 64, hash) != 0)
		return 0;
	found = fw_store_session_get(r->c->d.store, hash, &r->sess, err);
	if (found <= 0)
		return found;
	if (auth_session_expired(r->c->d.cfg, &r->sess, now))
		return fw_store_session_revoke(r->c->d.store, hash, err);
	/* A write at most every half minute per session, not per request. */
	if (now - r->sess.last_seen_at >= 30 && fw_store_session_touch(r->c->d.store, hash, now, err) != 0)
		return -1;
	r->auth = AUTH_SESSION;
	r->role = r->sess.role;
	snprintf(r->who, sizeof(r->who), "%s", r->sess.account);
	snprintf(r->via, sizeof(r->via), "console %s", r->source);
	return 0;
}

int auth_identify(struct creq *r, struct fw_err *err)
{
	/* The API and /metrics take a bearer token only: a browser's cookie
	 * is never enough there, so no cross-site request can use them. */
	if (strncmp(r->path, "/api/", 5) == 0 || strcmp(r->path, "/metrics") == 0)
		return identify_token(r, err);
	return identify_session(r, err);
}

bool auth_csrf_valid(struct creq *r)
{
	const char *got = console_field(r, "csrf");

	return r->auth == AUTH_SESSION && got != NULL && strlen(got) == FW_CSRF_LEN &&
	       CRYPTO_memcmp(got, r->sess.csrf, FW_CSRF_LEN) == 0;
}

static void login_event(struct creq *r, const char *action, enum fw_outcome outcome, const char *user,
			const char *reason)
{
	const struct fw_event_field extra[] = { { .key = "user.name", .str = user } };
	const struct fw_event ev = { .action = action, .outcome = outcome, .source_ip = r->source,
				     .reason = reason, .extra = extra, .n_extra = 1 };

	if (r->c->d.log != NULL)
		fw_evlog_emit(r->c->d.log, &ev);
}

enum MHD_Result auth_login_page(struct creq *r, const char *error, unsigned status)
{
	struct cbuf b = { 0 };

	page_begin(&b, r, "Log in");
	cbuf_puts(&b, "<section class=\"login\"><h1>fwgate console</h1>");
	if (error != NULL) {
		cbuf_puts(&b, "<p class=\"error\" id=\"login-error\">");
		cbuf_html(&b, error);
		cbuf_puts(&b, "</p>");
	}
	cbuf_puts(&b, "<form method=\"post\" action=\"/login\">"
		      "<label>Account <input name=\"user\" id=\"user\" autocomplete=\"username\" required "
		      "maxlength=\"64\"></label>"
		      "<label>Password <input type=\"password\" name=\"password\" id=\"password\" "
		      "autocomplete=\"current-password\" required maxlength=\"1024\"></label>"
		      "<button type=\"submit\" id=\"login\">Log in</button></form></section>");
	page_end(&b);
	return console_send(r, status, "text/html; charset=utf-8", &b);
}

/* Most failed-login counters kept (one per account name and source
 * address tried), and how long one is kept after its last failure: a
 * flood of names or addresses cannot grow the table without bound. */
#define LOGIN_KEYS_MAX 10000
#define LOGIN_KEEP_SECONDS 86400

/* At each login: counters and sessions past their time are removed. */
static int login_housekeeping(struct creq *r, int64_t now, struct fw_err *err)
{
	const struct fw_config *cfg = r->c->d.cfg;
	int64_t keep = cfg->console.lockout_max_seconds > LOGIN_KEEP_SECONDS ? cfg->console.lockout_max_seconds
									      : LOGIN_KEEP_SECONDS;

	return fw_store_login_prune(r->c->d.store, now - keep, LOGIN_KEYS_MAX, NULL, err) != 0 ||
	       fw_store_session_expire(r->c->d.store, now - (int64_t)cfg->console.session_idle_seconds,
				       now - (int64_t)cfg->console.session_max_seconds, NULL, err) != 0 ? -1 : 0;
}

/* The lockout of either key; *left the seconds to wait. */
static int login_locked(struct creq *r, const char *akey, const char *skey, int64_t now, int64_t *left,
			struct fw_err *err)
{
	const char *keys[2] = { akey, skey };

	*left = 0;
	for (int i = 0; i < 2; i++) {
		unsigned failures;
		int64_t last_at, l;

		if (fw_store_login_failures(r->c->d.store, keys[i], &failures, &last_at, err) != 0)
			return -1;
		l = auth_lockout_left(r->c->d.cfg, failures, last_at, now);
		if (l > *left)
			*left = l;
	}
	return 0;
}

static int login_record(struct creq *r, const char *akey, const char *skey, bool ok, int64_t now,
			struct fw_err *err)
{
	unsigned n;

	return fw_store_login_record(r->c->d.store, akey, ok, now, &n, err) != 0 ||
	       fw_store_login_record(r->c->d.store, skey, ok, now, &n, err) != 0 ? -1 : 0;
}

/* A new session for the account: the old one (if any) is revoked, the
 * cookie set. */
static int login_session(struct creq *r, const char *user, int64_t now, struct fw_err *err)
{
	char id[65], hash[FW_SECRET_HASH_LEN + 1], csrf[65];

	if (r->auth == AUTH_SESSION && fw_store_session_revoke(r->c->d.store, r->sess.id_hash, err) != 0)
		return -1;
	if (random_hex(id) != 0 || random_hex(csrf) != 0 || sha256_hex(id, 64, hash) != 0)
		return fw_err_setc(err, FW_E_FAIL, "no randomness for a session");
	if (fw_store_session_create(r->c->d.store, hash, user, csrf, r->source, now, err) != 0 ||
	    fw_store_account_login(r->c->d.store, user, now, err) != 0)
		return -1;
	snprintf(r->set_cookie, sizeof(r->set_cookie), CONSOLE_COOKIE "=%s; Path=/; Secure; HttpOnly; SameSite=Strict; "
		 "Max-Age=%u", id, r->c->d.cfg->console.session_max_seconds);
	explicit_bzero(id, sizeof(id));
	return 0;
}

enum MHD_Result auth_login_post(struct creq *r)
{
	const char *user = console_field(r, "user"), *pw = console_field(r, "password");
	char akey[FW_ACCOUNT_NAME_MAX + 16], skey[FW_SOURCE_MAX + 16], msg[160];
	int64_t now = console_now(), left;
	struct fw_account a;
	struct fw_err err;
	bool ok = false;
	int found;

	fw_err_clear(&err);
	if (user == NULL || pw == NULL || !fw_account_name_valid(user) || strlen(pw) > FW_PASSWD_MAX)
		return auth_login_page(r, "Give an account name and a password.", 400);
	snprintf(akey, sizeof(akey), "account:%s", user);
	snprintf(skey, sizeof(skey), "source:%s", r->source);
	if (login_housekeeping(r, now, &err) != 0 || login_locked(r, akey, skey, now, &left, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	if (left > 0) {
		login_event(r, "console-login-locked", FW_OUTCOME_FAILURE, user, "too many failed logins");
		snprintf(msg, sizeof(msg), "Too many failed logins: try again in %lld s.", (long long)left);
		return auth_login_page(r, msg, 429);
	}
	pthread_once(&dummy_once, dummy_init);
	found = fw_store_account_get(r->c->d.store, user, &a, &err);
	if (found < 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	if (fw_passwd_verify(pw, strlen(pw), found == 1 ? a.pwhash : dummy_hash, &ok, &err) != 0)
		ok = false;
	ok = ok && found == 1 && !a.disabled;
	explicit_bzero(&a, sizeof(a));
	if (login_record(r, akey, skey, ok, now, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	if (!ok) {
		login_event(r, "console-login-failed", FW_OUTCOME_FAILURE, user, "wrong account or password");
		return auth_login_page(r, "Wrong account or password.", 401);
	}
	if (login_session(r, user, now, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	snprintf(msg, sizeof(msg), "console %s", r->source);
	if (fw_store_audit_append(r->c->d.store, "console-login", user, 0, msg, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	login_event(r, "console-login", FW_OUTCOME_SUCCESS, user, NULL);
	return console_redirect(r, "/");
}

enum MHD_Result auth_logout_post(struct creq *r)
{
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_store_session_revoke(r->c->d.store, r->sess.id_hash, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	snprintf(r->set_cookie, sizeof(r->set_cookie),
		 CONSOLE_COOKIE "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
	if (fw_store_audit_append(r->c->d.store, "console-logout", r->who, 0, r->via, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	login_event(r, "console-logout", FW_OUTCOME_SUCCESS, r->who, NULL);
	return console_redirect(r, "/login");
}

enum MHD_Result auth_password_post(struct creq *r)
{
	const char *cur = console_field(r, "current"), *n1 = console_field(r, "new"), *n2 = console_field(r, "again");
	const struct fw_actor by = { .name = r->who, .via = r->via };
	char hash[FW_PASSWD_HASH_MAX];
	struct fw_account a;
	struct fw_err err;
	bool ok = false;

	fw_err_clear(&err);
	if (cur == NULL || n1 == NULL || n2 == NULL || strlen(cur) > FW_PASSWD_MAX)
		return page_error(r, 400, "the form needs the current password and the new one twice");
	if (strcmp(n1, n2) != 0)
		return page_error(r, 400, "the two new passwords differ");
	if (strlen(n1) < FW_PASSWD_MIN || strlen(n1) > FW_PASSWD_MAX)
		return page_error(r, 400, "a password has %d to %d characters", FW_PASSWD_MIN, FW_PASSWD_MAX);
	if (fw_store_account_get(r->c->d.store, r->who, &a, &err) != 1 ||
	    fw_passwd_verify(cur, strlen(cur), a.pwhash, &ok, &err) != 0 || !ok) {
		explicit_bzero(&a, sizeof(a));
		login_event(r, "console-password-refused", FW_OUTCOME_FAILURE, r->who, "wrong current password");
		return page_error(r, 403, "the current password is wrong");
	}
	explicit_bzero(&a, sizeof(a));
	if (fw_passwd_hash(n1, strlen(n1), hash, sizeof(hash), &err) != 0 ||
	    fw_store_account_passwd(r->c->d.store, r->who, hash, &by, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	/* Every session of the account is gone, this one too. */
	snprintf(r->set_cookie, sizeof(r->set_cookie),
		 CONSOLE_COOKIE "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
	login_event(r, "console-password-changed", FW_OUTCOME_SUCCESS, r->who, NULL);
	return console_redirect(r, "/login");
}
