/* Value parsers for fwgate.conf (private to common/). Each takes the text
 * inih handed over (outer blanks already stripped) and either fills the
 * destination or explains in err why the value is wrong. */
#ifndef FWGATE_COMMON_CONFIG_VALUE_H
#define FWGATE_COMMON_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwgate/config.h"
#include "fwgate/err.h"

int config_cv_copy(char *dst, size_t dst_len, const char *value, struct fw_err *err) FW_WUR;
int config_cv_uint(const char *value, uint64_t min, uint64_t max, uint64_t *out, struct fw_err *err) FW_WUR;
int config_cv_size(const char *value, uint64_t min, uint64_t max, uint64_t *out, struct fw_err *err) FW_WUR;
const char *config_cv_size_str(uint64_t bytes, char *buf, size_t len);
int config_cv_bool(const char *value, bool *out, struct fw_err *err) FW_WUR;
int config_cv_rule_id(const char *value, char *dst, size_t dst_len, struct fw_err *err) FW_WUR;
/* "" or a user name as useradd accepts it by default: [a-z_][a-z0-9_-]*
 * with an optional final $, at most 32 characters. */
int config_cv_user(const char *value, char *dst, size_t dst_len, struct fw_err *err) FW_WUR;
int config_cv_check_file(const char *path, struct fw_err *err) FW_WUR;
int config_cv_check_dir(const char *path, struct fw_err *err) FW_WUR;
/* A readable regular file, or a directory. */
int config_cv_check_file_or_dir(const char *path, struct fw_err *err) FW_WUR;
int config_cv_url(const char *value, char *dst, size_t dst_len, struct fw_err *err) FW_WUR;
int config_cv_backend(const char *value, enum fw_sandbox_backend *out, struct fw_err *err) FW_WUR;
int config_cv_facility(const char *value, int *out, struct fw_err *err) FW_WUR;
int config_cv_proxy_auth(const char *value, enum fw_proxy_auth *out, struct fw_err *err) FW_WUR;
const char *config_cv_facility_name(int facility);
int config_cv_listen_addr(const char *value, struct fw_listen_addr *out, struct fw_err *err) FW_WUR;
int config_cv_resolve(const char *value, struct fw_resolve *out, struct fw_err *err) FW_WUR;
const char *config_cv_resolve_str(const struct fw_resolve *r, char *buf, size_t len);

#endif
