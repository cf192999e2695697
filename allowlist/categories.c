/* Read-only lookups in the URL category tables of fwgate.db: a host and its
 * parent domains, a URL and its path prefixes. One connection, prepared
 * statements only, guarded by one mutex. Must not write to the database. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "allowlist/categories.h"

struct allow_cats {
	pthread_mutex_t lock; /* guards db and both statements */
	bool lock_ready;
	sqlite3 *db;
	sqlite3_stmt *q_domain;
	sqlite3_stmt *q_url;
	uint64_t count;
};

void allow_cats_free(struct allow_cats *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->q_domain);
	sqlite3_finalize(c->q_url);
	sqlite3_close(c->db);
	if (c->lock_ready)
		pthread_mutex_destroy(&c->lock);
	free(c);
}

uint64_t allow_cats_count(const struct allow_cats *c)
{
	return c != NULL ? c->count : 0;
}

/* Runs a query of one integer. */
static int cats_scalar(struct allow_cats *c, const char *sql, const char *path, int64_t *v,
		       struct fw_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		fw_err_set(err, "cannot read the category database \"%s\": %s", path, sqlite3_errmsg(c->db));
		goto out;
	}
	*v = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Opens the connection and finds the tables: 0 tables means none imported yet. */
static int cats_connect(struct allow_cats *c, const char *path, int64_t *tables, struct fw_err *err)
{
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return fw_err_set(err, "cannot open the category database \"%s\": %s", path,
				  c->db != NULL ? sqlite3_errmsg(c->db) : "out of memory");
	sqlite3_extended_result_codes(c->db, 1);
	if (sqlite3_busy_timeout(c->db, 5000) != SQLITE_OK)
		return fw_err_set(err, "cannot configure the category database \"%s\"", path);
	return cats_scalar(c, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			   " AND name IN ('category_domains', 'category_urls')", path, tables, err);
}

static int cats_prepare(struct allow_cats *c, const char *path, struct fw_err *err)
{
	int64_t domains = 0, urls = 0;

	if (sqlite3_prepare_v3(c->db, "SELECT category FROM category_domains WHERE name = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &c->q_domain, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(c->db, "SELECT category FROM category_urls WHERE url = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &c->q_url, NULL) != SQLITE_OK)
		return fw_err_set(err, "cannot read the category database \"%s\": %s", path,
				  sqlite3_errmsg(c->db));
	if (cats_scalar(c, "SELECT count(*) FROM category_domains", path, &domains, err) != 0 ||
	    cats_scalar(c, "SELECT count(*) FROM category_urls", path, &urls, err) != 0)
		return -1;
	c->count = (uint64_t)domains + (uint64_t)urls;
	return 0;
}

int allow_cats_open(struct allow_cats **out, const char *db_path, struct fw_err *err)
{
	struct allow_cats *c = NULL;
	int64_t tables = 0;
	struct stat st;
	int rc = -1;

	*out = NULL;
	if (db_path == NULL || db_path[0] == '\0')
		return 0;
	if (stat(db_path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return fw_err_sys(err, errno, "cannot use the category database \"%s\"", db_path);
	}
	if (!S_ISREG(st.st_mode))
		return fw_err_setc(err, FW_E_INVALID, "the category database \"%s\" is not a regular file", db_path);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory opening \"%s\"", db_path);
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		fw_err_set(err, "cannot create a lock for the category database");
		goto out;
	}
	c->lock_ready = true;
	if (cats_connect(c, db_path, &tables, err) != 0)
		goto out;
	if (tables == 0) {
		rc = 0; /* a database without categories yet: nothing can match */
		goto out;
	}
	if (tables != 2) {
		fw_err_setc(err, FW_E_INVALID, "the category database \"%s\" has only one of its two tables", db_path);
		goto out;
	}
	if (cats_prepare(c, db_path, err) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	allow_cats_free(c);
	return rc;
}

static bool blocked_category(const struct fw_policy *pol, const char *cat)
{
	for (unsigned i = 0; i < pol->url_filtering.n_block_categories; i++)
		if (strcasecmp(pol->url_filtering.block_categories[i], cat) == 0)
			return true;
	return false;
}

/* One lookup of key[0..len) with st, under the lock: 1 hit, 0 none, -1 error. */
static int cats_probe(struct allow_cats *c, sqlite3_stmt *st, const char *key, size_t len,
		      const struct fw_policy *pol, struct allow_cat_hit *hit, struct fw_err *err)
{
	int r = 0, s;

	if (sqlite3_bind_text(st, 1, key, (int)len, SQLITE_STATIC) != SQLITE_OK) {
		r = fw_err_set(err, "cannot search the category database: %s", sqlite3_errmsg(c->db));
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *cat = sqlite3_column_text(st, 0);

		if (cat != NULL && blocked_category(pol, (const char *)cat)) {
			allow_display(hit->category, sizeof(hit->category), (const char *)cat,
				      strlen((const char *)cat));
			allow_display(hit->entry, sizeof(hit->entry), key, len);
			r = 1;
			goto out;
		}
	}
	if (s != SQLITE_DONE)
		r = fw_err_set(err, "cannot search the category database: %s", sqlite3_errmsg(c->db));
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int allow_cats_match_host(struct allow_cats *c, const struct fw_policy *pol, const char *host,
			  struct allow_cat_hit *hit, struct fw_err *err)
{
	int r = 0;

	memset(hit, 0, sizeof(*hit));
	if (c == NULL || pol->url_filtering.n_block_categories == 0)
		return 0;
	pthread_mutex_lock(&c->lock);
	/* vendor.example is blocked when it or any parent (example) is listed. */
	for (const char *p = host; p != NULL && r == 0;) {
		r = cats_probe(c, c->q_domain, p, strlen(p), pol, hit, err);
		p = strchr(p, '.');
		if (p != NULL)
			p++;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

int allow_cats_match_url(struct allow_cats *c, const struct fw_policy *pol, const char *key,
			 size_t host_len, struct allow_cat_hit *hit, struct fw_err *err)
{
	size_t len = strlen(key), q, pend;
	const char *qm;
	unsigned probes = 0;
	int r = 0;

	memset(hit, 0, sizeof(*hit));
	if (c == NULL || pol->url_filtering.n_block_categories == 0 || host_len >= len)
		return 0;
	qm = memchr(key + host_len, '?', len - host_len);
	q = qm != NULL ? (size_t)(qm - key) : len;
	for (pend = q; pend > host_len && key[pend - 1] == '/';)
		pend--;
	pthread_mutex_lock(&c->lock);
	/* Shortest prefixes first: extra path segments cannot hide a listed
	 * prefix, and the bound only drops the longest ones. */
	for (size_t i = host_len + 1; i < pend && r == 0 && probes < ALLOW_URL_PROBES_MAX - 2; i++) {
		if (key[i] == '/' && key[i - 1] != '/') {
			r = cats_probe(c, c->q_url, key, i, pol, hit, err);
			probes++;
		}
	}
	if (r == 0 && pend > host_len)
		r = cats_probe(c, c->q_url, key, pend, pol, hit, err);
	if (r == 0 && q < len)
		r = cats_probe(c, c->q_url, key, len, pol, hit, err);
	pthread_mutex_unlock(&c->lock);
	return r;
}
