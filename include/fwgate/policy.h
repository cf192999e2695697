/* The enforced policy: one rule of a rule card (JSON, jansson) selected by
 * its app_id and mapped to what fwgate enforces. Owns loading, schema
 * checks with JSON paths in every error, and printing the effective policy;
 * must not decide individual requests (allowlist/ does).
 * Thread-safety: a loaded struct fw_policy is read-only and may be shared. */
#ifndef FWGATE_POLICY_H
#define FWGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fwgate/err.h"
#include "fwgate/verdict.h"

/* Largest rule card fwgate reads. */
#define FW_POLICY_MAX_BYTES (4u * 1024u * 1024u)
#define FW_POLICY_MAX_RULES 1024
#define FW_POLICY_MAX_PORTS 32
#define FW_POLICY_MAX_CATEGORIES 64
#define FW_POLICY_MAX_ALLOW 10000
#define FW_POLICY_NAME_MAX 64

enum fw_rule_action {
	FW_RULE_ALLOW,
	FW_RULE_DENY,
	FW_RULE_DROP,
	FW_RULE_RESET_CLIENT,
	FW_RULE_RESET_SERVER,
	FW_RULE_RESET_BOTH,
};

enum fw_decrypt_mode {
	FW_DECRYPT_NONE,
	FW_DECRYPT_FORWARD_PROXY,
	FW_DECRYPT_INBOUND,
};

/* Actions a security profile can take. */
enum fw_profile_action {
	FW_PA_UNSET = 0, /* the profile or the field is absent */
	FW_PA_ALLOW,
	FW_PA_ALERT,
	FW_PA_BLOCK,
	FW_PA_DEFAULT,
	FW_PA_DROP,
	FW_PA_RESET_CLIENT,
	FW_PA_RESET_SERVER,
	FW_PA_RESET_BOTH,
	FW_PA_CONTINUE,
	FW_PA_OVERRIDE,
};

struct fw_policy {
	char source[1024];        /* file path, or "embedded default" */
	char card_id[FW_POLICY_NAME_MAX * 2];
	char card_version[FW_POLICY_NAME_MAX];
	char schema_version[FW_POLICY_NAME_MAX];
	char rule[FW_POLICY_NAME_MAX * 2];      /* app_id of the enforced rule */
	unsigned rule_index;      /* its index in rules[] */

	enum fw_rule_action action;

	struct {
		enum fw_decrypt_mode mode;
	} decryption;

	/* TCP ports a CONNECT may name: service.ports, or the tcp/ entries of
	 * application.default_ports when service.app_default is true. */
	uint16_t ports[FW_POLICY_MAX_PORTS];
	unsigned n_ports;

	struct {
		char block_categories[FW_POLICY_MAX_CATEGORIES][FW_POLICY_NAME_MAX];
		unsigned n_block_categories;
		enum fw_profile_action uncategorized_action;
		enum fw_profile_action credential_phishing;
		/* url_filtering.allow_list: lower-case names, "*.suffix" allowed. */
		char **allow_list;
		size_t n_allow_list;
	} url_filtering;

	struct {
		enum fw_profile_action action;
	} antivirus;

	struct {
		bool enabled;
		bool file_types[FW_FT_COUNT];
	} sandboxing;

	struct {
		enum fw_profile_action action;
		bool sinkhole;
	} dns_security;

	struct {
		enum fw_profile_action action;
		char min_severity[16];
	} ips;

	struct {
		bool log_start;
		bool log_end;
		bool log_forwarding;
		char profile[FW_POLICY_NAME_MAX];
	} logging;
};

/* Parses the rule card in buf (len bytes; source names it in messages),
 * checks every rule against the schema, selects the rule whose
 * application.app_id is rule_id and checks that fwgate can enforce it.
 * Returns NULL with every problem in errs: a problem inside the card is
 * FW_E_CONFIG, "JSON.path: what" (the caller names the source); one with the
 * document itself names the source in its sentence: FW_E_INVALID
 * "source:line:column: what" for JSON syntax, or the code of the read
 * error, FW_E_NOMEM. */
struct fw_policy *fw_policy_parse(const uint8_t *buf, size_t len, const char *source,
				  const char *rule_id, struct fw_errlist *errs)
	FW_WUR FW_NONNULL(1, 3, 4, 5);

/* Reads path (bounded by FW_POLICY_MAX_BYTES) and parses it. */
struct fw_policy *fw_policy_load(const char *path, const char *rule_id, struct fw_errlist *errs)
	FW_WUR FW_NONNULL(1, 2, 3);

/* The rule card compiled into the binary (etc/fwgate-policy.json). */
struct fw_policy *fw_policy_load_embedded(const char *rule_id, struct fw_errlist *errs)
	FW_WUR FW_NONNULL(1, 2);

void fw_policy_free(struct fw_policy *p);

/* The effective policy, for people. */
void fw_policy_print(const struct fw_policy *p, FILE *out) FW_NONNULL(1, 2);

/* The effective policy as one JSON document, newline-terminated. */
int fw_policy_print_json(const struct fw_policy *p, FILE *out) FW_NONNULL(1, 2);

const char *fw_profile_action_name(enum fw_profile_action a);
const char *fw_rule_action_name(enum fw_rule_action a);
const char *fw_decrypt_mode_name(enum fw_decrypt_mode m);

#endif
