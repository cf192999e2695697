/* Private to allowlist/: the domain allow-list, exact names and "*.suffix"
 * entries, from the allow-list file and the rule's url_filtering.allow_list.
 * Read-only once loaded, so lookups may run from many threads. */
#ifndef FWGATE_ALLOWLIST_LIST_H
#define FWGATE_ALLOWLIST_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "fwgate/err.h"
#include "fwgate/policy.h"

struct allow_list;

struct allow_list *allow_list_new(void) FW_WUR;
void allow_list_free(struct allow_list *l);

/* Adds the entries of the file at path (bounded by FW_ALLOWLIST_MAX_BYTES
 * and FW_ALLOWLIST_MAX_ENTRIES). A bad entry fails with "FILE:LINE: ...". */
int allow_list_load_file(struct allow_list *l, const char *path, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Adds pol's url_filtering.allow_list; errors name the rule and index. */
int allow_list_add_rule(struct allow_list *l, const struct fw_policy *pol, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Sorts and removes duplicates; call once after the last add. */
void allow_list_seal(struct allow_list *l) FW_NONNULL(1);

size_t allow_list_count(const struct allow_list *l) FW_NONNULL(1);

/* Looks up a normalized host name. "*.vendor.example" matches every name
 * below vendor.example (a.vendor.example, a.b.vendor.example) but not
 * vendor.example itself. On a match, writes the entry as written in the
 * list ("vendor.example" or "*.vendor.example") to entry. */
bool allow_list_match(const struct allow_list *l, const char *host, char *entry, size_t entry_len)
	FW_NONNULL(1, 2, 3);

#endif
