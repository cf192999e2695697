/* Private to allowlist/: the URL category tables of fwgate.db, shared by
 * the read-only lookups (categories.c) and the import (import.c). */
#ifndef FWGATE_ALLOWLIST_CATEGORIES_H
#define FWGATE_ALLOWLIST_CATEGORIES_H

#include <stddef.h>
#include <stdint.h>

#include "allowlist/host.h"
#include "fwgate/err.h"
#include "fwgate/policy.h"

/* Names are stored lower-case as fw_host_check writes them; URLs as
 * allow_url_key writes them (host/path, no scheme, like UT1 urls files).
 * The primary keys are the lookup indexes. The tables are prefixed because
 * fwgate.db also holds store/'s URL index. */
#define ALLOW_CATS_SCHEMA \
	"CREATE TABLE IF NOT EXISTS category_domains (" \
	" name TEXT NOT NULL, category TEXT NOT NULL," \
	" PRIMARY KEY (name, category)) WITHOUT ROWID;" \
	"CREATE TABLE IF NOT EXISTS category_urls (" \
	" url TEXT NOT NULL, category TEXT NOT NULL," \
	" PRIMARY KEY (url, category)) WITHOUT ROWID;"

/* Bound on the URL prefixes looked up for one URL. */
#define ALLOW_URL_PROBES_MAX 64

struct allow_cats;

/* A category the policy blocks, and the database entry that matched. */
struct allow_cat_hit {
	char category[ALLOW_CATEGORY_MAX];
	char entry[256];
};

/* Opens db_path read-only. *out is NULL when there is nothing to look up
 * (db_path NULL or "", no such file, or no category tables yet). */
int allow_cats_open(struct allow_cats **out, const char *db_path, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);
void allow_cats_free(struct allow_cats *c);
uint64_t allow_cats_count(const struct allow_cats *c);

/* Looks host and each of its parent domains up. Returns 1 and fills hit
 * when one is in a category pol blocks, 0 when none is, -1 on a database
 * error. c may be NULL (no database: 0). Thread-safe. */
int allow_cats_match_host(struct allow_cats *c, const struct fw_policy *pol, const char *host,
			  struct allow_cat_hit *hit, struct fw_err *err) FW_NONNULL(2, 3, 4);

/* The same for a URL key (allow_url_key) whose host is key[0..host_len):
 * the key itself, the key without its query, and each shorter path
 * prefix ending at a "/" boundary. */
int allow_cats_match_url(struct allow_cats *c, const struct fw_policy *pol, const char *key,
			 size_t host_len, struct allow_cat_hit *hit, struct fw_err *err)
	FW_NONNULL(2, 3, 5);

#endif
