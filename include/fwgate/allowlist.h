/* allowlist/: the vendor domain allow-list, the URL category database
 * (SQLite) and the policy decision with its reason, in the order of
 * DESIGN.md. Must not do network I/O: it judges names, URLs and addresses
 * handed to it.
 * Thread-safety: after fw_allowlist_open, every fw_allowlist_decide_* and
 * fw_allowlist_addr_check call may run from many threads at once. */
#ifndef FWGATE_ALLOWLIST_H
#define FWGATE_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fwgate/err.h"
#include "fwgate/host.h" /* fw_host_normalize, for the proxy */
#include "fwgate/policy.h"

/* Bounds on the allow-list file. */
#define FW_ALLOWLIST_MAX_BYTES (16u * 1024u * 1024u)
#define FW_ALLOWLIST_MAX_ENTRIES 100000u

enum fw_decision {
	FW_DECISION_ALLOW,
	FW_DECISION_BLOCK,
};

/* Which step of the decision order decided. */
enum fw_decision_step {
	FW_STEP_MALFORMED = 1,     /* 1: IP literal, port not allowed, bad name or URL */
	FW_STEP_CATEGORY = 2,      /* 2: host or URL in a blocked category */
	FW_STEP_ALLOWLIST = 3,     /* 3: on the allow-list */
	FW_STEP_UNCATEGORIZED = 4, /* 4: anything else: uncategorized_action */
	FW_STEP_ADDRESS = 5,       /* 5: resolved address refused */
	FW_STEP_RULE_ACTION = 6,   /* the rule's own action is not allow */
};

struct fw_decision_result {
	enum fw_decision decision;
	enum fw_decision_step step;
	/* One sentence, for the refusal page, the event and the CLI, e.g.
	 * "evil.example is in the blocked category \"malware\" (listed as example)". */
	char reason[512];
	char category[64]; /* the blocked category that matched, or "" */
	char matched[256]; /* the allow-list entry, category entry or "" */
};

struct fw_allowlist;

/* Loads the allow-list file (may be "" for none) and the rule's
 * url_filtering.allow_list, and opens the category database at db_path
 * read-only (NULL or a file that does not exist: no categories; a file
 * that exists but cannot be read is an error). pol must outlive the
 * result. Errors name FILE:LINE for a bad allow-list entry. */
int fw_allowlist_open(struct fw_allowlist **out, const struct fw_policy *pol,
		      const char *allowlist_file, const char *db_path, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

void fw_allowlist_free(struct fw_allowlist *al);

/* Entries loaded (file plus rule) and categorized domains/URLs available. */
size_t fw_allowlist_count(const struct fw_allowlist *al);
uint64_t fw_allowlist_category_count(const struct fw_allowlist *al);

/* Steps 1-4 for a CONNECT target. host as the client wrote it (any case,
 * a trailing dot allowed); refuses IP literals, bad names and ports the
 * policy does not allow. Always fills out; returns 0, or -1 on an
 * internal error (database), which callers treat as a block. */
int fw_allowlist_decide_connect(struct fw_allowlist *al, const char *host, uint16_t port,
				struct fw_decision_result *out) FW_NONNULL(1, 2, 4);

/* Steps 1-4 for a full URL (https://host[:port]/path?query), as a
 * request inside an allowed tunnel names it: the host decision again plus
 * the URL's own categories. */
int fw_allowlist_decide_url(struct fw_allowlist *al, const char *url,
			    struct fw_decision_result *out) FW_NONNULL(1, 2, 3);

/* Step 5: is a resolved upstream address acceptable? Refuses loopback,
 * RFC 1918 private, link-local, unique-local (fc00::/7), unspecified,
 * multicast, CGNAT (100.64/10), cloud metadata (169.254.169.254,
 * fd00:ec2::254) and IPv4-mapped forms of these, unless allow_private.
 * On refusal fills out with step FW_STEP_ADDRESS and a reason such as
 * "vendor.example resolved to 127.0.0.1, a loopback address". */
bool fw_allowlist_addr_check(const char *host, const struct sockaddr *sa, socklen_t len,
			     bool allow_private, struct fw_decision_result *out)
	FW_NONNULL(1, 2, 5);

/* ---- category database import (fwgate categories import) ---- */

enum fw_cat_format {
	FW_CAT_UT1,   /* DIR/<category>/domains and DIR/<category>/urls */
	FW_CAT_HOSTS, /* hosts file: "0.0.0.0 name" lines, one category */
	FW_CAT_LIST,  /* one name per line, one category */
};

struct fw_cat_import_stats {
	uint64_t domains;
	uint64_t urls;
	uint64_t skipped; /* malformed lines, each reported to the callback */
	unsigned categories;
};

/* Called for each skipped line (file, line number, why); may be NULL. */
typedef void (*fw_cat_skip_fn)(void *ctx, const char *file, uint64_t line, const char *why);

/* Imports into the database at db_path (created if missing, with its
 * tables). category is required for hosts and list formats and ignored
 * for ut1. The import of one call is one transaction: all or nothing. */
int fw_categories_import(const char *db_path, enum fw_cat_format fmt, const char *path,
			 const char *category, fw_cat_skip_fn skip, void *skip_ctx,
			 struct fw_cat_import_stats *stats, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3, 7);

#endif
