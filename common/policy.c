/* Rule-card loading: checks the whole card against the schema of the
 * reference card (every error with its JSON path, unknown fields included),
 * then maps the selected rule to struct fw_policy and refuses rules fwgate
 * could only honour by passing uninspected bytes. Decides no request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/config_value.h"
#include "common/policy_json.h"
#include "fwgate/fileio.h"
#include "fwgate/host.h"
#include "fwgate/policy.h"

extern const unsigned char fw_embedded_policy[];
extern const size_t fw_embedded_policy_len;

static const char *const rule_actions[] = {
	"allow", "deny", "drop", "reset_client", "reset_server", "reset_both",
};
static const char *const directions[] = { "inbound", "outbound", "internal" };
static const char *const decrypt_modes[] = { "none", "ssl_forward_proxy", "ssl_inbound_inspection" };
/* Indexed like enum fw_profile_action minus one. */
static const char *const profile_actions[] = {
	"allow", "alert", "block", "default", "drop", "reset_client", "reset_server",
	"reset_both", "continue", "override",
};
static const char *const severities[] = { "informational", "low", "medium", "high", "critical" };
static const char *const protocols[] = { "tcp", "udp", "icmp", "sctp", "any" };

#define PA_COUNT FW_ARRAY_LEN(profile_actions)

const char *fw_profile_action_name(enum fw_profile_action a)
{
	if (a == FW_PA_UNSET)
		return "unset";
	return (unsigned)a - 1 < PA_COUNT ? profile_actions[a - 1] : "?";
}

const char *fw_rule_action_name(enum fw_rule_action a)
{
	return (unsigned)a < FW_ARRAY_LEN(rule_actions) ? rule_actions[a] : "?";
}

const char *fw_decrypt_mode_name(enum fw_decrypt_mode m)
{
	switch (m) {
	case FW_DECRYPT_NONE:
		return "none";
	case FW_DECRYPT_FORWARD_PROXY:
		return "ssl_forward_proxy";
	case FW_DECRYPT_INBOUND:
		return "ssl_inbound_inspection";
	}
	return "?";
}

static enum fw_decrypt_mode decrypt_mode_of(int i)
{
	return i == 1 ? FW_DECRYPT_FORWARD_PROXY : i == 2 ? FW_DECRYPT_INBOUND : FW_DECRYPT_NONE;
}

/* A profile action, or FW_PA_UNSET when absent or wrong. */
static enum fw_profile_action profile_action(struct pj *pj, json_t *obj, const char *path,
					     const char *key, bool required)
{
	int i = pj_enum(pj, obj, path, key, required, profile_actions, PA_COUNT);

	return i < 0 ? FW_PA_UNSET : (enum fw_profile_action)(i + 1);
}

/* ---- string checks for arrays (NULL = fine, else the reason) ---- */

static const char *check_ident(const char *s)
{
	return pj_ident_valid(s) ? NULL : "not an identifier (a-z, 0-9, _ - ., up to 63):";
}

static const char *check_file_type(const char *s)
{
	enum fw_file_type t;

	return fw_file_type_parse(s, &t) == 0 ? NULL : "unknown file type";
}

static const char *check_port(const char *s)
{
	uint64_t v;
	const char *dash = strchr(s, '-');
	char lo[8];

	if (dash == NULL)
		return config_cv_uint(s, 1, 65535, &v, NULL) == 0 ? NULL : "not a port (1-65535):";
	if ((size_t)(dash - s) >= sizeof(lo))
		return "not a port range (such as 1000-2000):";
	memcpy(lo, s, (size_t)(dash - s));
	lo[dash - s] = '\0';
	uint64_t a, b;
	if (config_cv_uint(lo, 1, 65535, &a, NULL) != 0 || config_cv_uint(dash + 1, 1, 65535, &b, NULL) != 0 || a > b)
		return "not a port range (such as 1000-2000):";
	return NULL;
}

static const char *check_proto_port(const char *s)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL || !((slash - s == 3 && (memcmp(s, "tcp", 3) == 0 || memcmp(s, "udp", 3) == 0)) ||
			       (slash - s == 4 && memcmp(s, "sctp", 4) == 0)))
		return "not a protocol/port (such as tcp/443):";
	return check_port(slash + 1) == NULL ? NULL : "not a protocol/port (such as tcp/443):";
}

static const char *check_host(const char *s)
{
	return fw_host_valid(s, strlen(s)) ? NULL : "not a host name:";
}

static const char *check_host_pattern(const char *s)
{
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	return fw_host_valid(s, strlen(s)) ? NULL
		: "not a host name or *.suffix pattern:";
}

static const char *check_any(const char *s)
{
	return s[0] == '\0' ? "empty string" : NULL;
}

/* ---- the schema ---- */

static void check_objects_of_strings(struct pj *pj, json_t *parent, const char *path,
				     const char *key, const char *const *known,
				     const char *const *required)
{
	char p[PJ_PATH_MAX], ip[PJ_PATH_MAX], kp[PJ_PATH_MAX];
	json_t *arr = pj_array(pj, parent, path, key, false, 1000), *v;
	size_t i;

	if (arr == NULL)
		return;
	pj_key(p, sizeof(p), path, key);
	json_array_foreach(arr, i, v) {
		const char *k;
		json_t *f;

		pj_idx(ip, sizeof(ip), p, i);
		if (!json_is_object(v)) {
			pj_err(pj, ip, "must be an object");
			continue;
		}
		pj_check_keys(pj, ip, v, known);
		for (const char *const *r = required; *r; r++)
			(void)pj_string(pj, v, ip, *r, true, 4096);
		json_object_foreach(v, k, f) {
			if (strcmp(k, "endpoints") == 0)
				(void)pj_string_array(pj, v, ip, k, false, 1000, check_host);
			else if (!json_is_string(f))
				pj_err(pj, pj_key(kp, sizeof(kp), ip, k), "must be a string");
		}
	}
}

static void check_card_meta(struct pj *pj, json_t *root)
{
	static const char *const top[] = {
		"authors", "description", "id", "mitre_attack", "references", "rules",
		"schema_version", "threat_model", "title", "trust_tier", "version", NULL,
	};
	static const char *const author_keys[] = { "email", "name", "org", "url", NULL };
	static const char *const author_req[] = { "name", NULL };
	static const char *const mitre_keys[] = { "name", "tactic", "technique_id", NULL };
	static const char *const mitre_req[] = { "technique_id", NULL };
	static const char *const ref_keys[] = {
		"endpoints", "product", "retrieved", "title", "url", "vendor", NULL,
	};
	static const char *const none[] = { NULL };
	static const char *const tm_keys[] = { "attacker_goal", "key_controls", "summary", NULL };
	const char *s;
	json_t *tm;

	pj_check_keys(pj, "", root, top);
	s = pj_string(pj, root, "", "id", true, 256);
	if (s != NULL && !pj_ident_valid(s))
		pj_err(pj, "id", "not an identifier (a-z, 0-9, _ - ., up to 63)");
	s = pj_string(pj, root, "", "schema_version", true, 32);
	if (s != NULL && strncmp(s, "1.", 2) != 0)
		pj_err(pj, "schema_version", "unsupported schema version \"%.32s\" (fwgate reads 1.x)", s);
	(void)pj_string(pj, root, "", "version", false, 64);
	(void)pj_string(pj, root, "", "trust_tier", false, 64);
	pj_text(pj, root, "", "title", false);
	pj_text(pj, root, "", "description", false);
	check_objects_of_strings(pj, root, "", "authors", author_keys, author_req);
	check_objects_of_strings(pj, root, "", "mitre_attack", mitre_keys, mitre_req);
	check_objects_of_strings(pj, root, "", "references", ref_keys, none);
	tm = pj_object(pj, root, "", "threat_model", false);
	if (tm != NULL) {
		pj_check_keys(pj, "threat_model", tm, tm_keys);
		pj_text(pj, tm, "threat_model", "attacker_goal", false);
		pj_text(pj, tm, "threat_model", "summary", false);
		(void)pj_string_array(pj, tm, "threat_model", "key_controls", false, 1000, check_ident);
	}
}

/* Parsed facts of one rule that the enforced-rule mapping needs. */
struct rule_facts {
	const char *app_id;
	int action, direction, mode, protocol;
	bool app_default, has_app_default;
	json_t *decryption, *security_profiles, *service, *application, *logging;
};

static void check_application(struct pj *pj, json_t *rule, const char *rp, struct rule_facts *f)
{
	static const char *const keys[] = {
		"app_id", "category", "default_ports", "depends_on", "risk", NULL,
	};
	char p[PJ_PATH_MAX];
	long long risk;
	const char *s;

	f->application = pj_object(pj, rule, rp, "application", true);
	if (f->application == NULL)
		return;
	pj_key(p, sizeof(p), rp, "application");
	pj_check_keys(pj, p, f->application, keys);
	f->app_id = pj_string(pj, f->application, p, "app_id", true, 63);
	if (f->app_id != NULL && !pj_ident_valid(f->app_id)) {
		char ap[PJ_PATH_MAX];

		pj_err(pj, pj_key(ap, sizeof(ap), p, "app_id"), "not an identifier (a-z, 0-9, _ - ., up to 63)");
		f->app_id = NULL;
	}
	s = pj_string(pj, f->application, p, "category", false, 63);
	if (s != NULL && !pj_ident_valid(s)) {
		char cp[PJ_PATH_MAX];

		pj_err(pj, pj_key(cp, sizeof(cp), p, "category"), "not an identifier");
	}
	(void)pj_string_array(pj, f->application, p, "default_ports", false, FW_POLICY_MAX_PORTS, check_proto_port);
	(void)pj_string_array(pj, f->application, p, "depends_on", false, 64, check_ident);
	(void)pj_int(pj, f->application, p, "risk", false, 1, 5, &risk);
}

static void check_security_profiles(struct pj *pj, json_t *sp, const char *pp)
{
	static const char *const keys[] = {
		"antivirus", "dns_security", "ips", "sandboxing", "url_filtering", NULL,
	};
	static const char *const av_keys[] = { "action", NULL };
	static const char *const dns_keys[] = { "action", "sinkhole", NULL };
	static const char *const ips_keys[] = { "action", "min_severity", NULL };
	static const char *const sb_keys[] = { "enabled", "file_types", NULL };
	static const char *const uf_keys[] = {
		"allow_list", "block_categories", "credential_phishing", "uncategorized_action", NULL,
	};
	char p[PJ_PATH_MAX];
	json_t *o;
	bool b;

	pj_check_keys(pj, pp, sp, keys);
	if ((o = pj_object(pj, sp, pp, "antivirus", false)) != NULL) {
		pj_key(p, sizeof(p), pp, "antivirus");
		pj_check_keys(pj, p, o, av_keys);
		(void)profile_action(pj, o, p, "action", true);
	}
	if ((o = pj_object(pj, sp, pp, "dns_security", false)) != NULL) {
		pj_key(p, sizeof(p), pp, "dns_security");
		pj_check_keys(pj, p, o, dns_keys);
		(void)profile_action(pj, o, p, "action", true);
		(void)pj_bool(pj, o, p, "sinkhole", false, &b);
	}
	if ((o = pj_object(pj, sp, pp, "ips", false)) != NULL) {
		pj_key(p, sizeof(p), pp, "ips");
		pj_check_keys(pj, p, o, ips_keys);
		(void)profile_action(pj, o, p, "action", true);
		(void)pj_enum(pj, o, p, "min_severity", false, severities, FW_ARRAY_LEN(severities));
	}
	if ((o = pj_object(pj, sp, pp, "sandboxing", false)) != NULL) {
		pj_key(p, sizeof(p), pp, "sandboxing");
		pj_check_keys(pj, p, o, sb_keys);
		(void)pj_bool(pj, o, p, "enabled", true, &b);
		(void)pj_string_array(pj, o, p, "file_types", false, 16, check_file_type);
	}
	if ((o = pj_object(pj, sp, pp, "url_filtering", false)) != NULL) {
		pj_key(p, sizeof(p), pp, "url_filtering");
		pj_check_keys(pj, p, o, uf_keys);
		(void)pj_string_array(pj, o, p, "block_categories", false, FW_POLICY_MAX_CATEGORIES, check_ident);
		(void)pj_string_array(pj, o, p, "allow_list", false, FW_POLICY_MAX_ALLOW, check_host_pattern);
		(void)profile_action(pj, o, p, "credential_phishing", false);
		(void)profile_action(pj, o, p, "uncategorized_action", false);
	}
}

static void check_rule(struct pj *pj, json_t *rule, const char *rp, struct rule_facts *f)
{
	static const char *const keys[] = {
		"action", "application", "decryption", "direction", "identity", "logging",
		"rationale", "security_profiles", "service", "zones", NULL,
	};
	static const char *const dec_keys[] = { "exclusions", "mode", NULL };
	static const char *const id_keys[] = { "device_posture", "user_group", NULL };
	static const char *const log_keys[] = { "log_end", "log_forwarding", "log_start", "profile", NULL };
	static const char *const svc_keys[] = { "app_default", "ports", "protocol", NULL };
	static const char *const zone_keys[] = { "destination", "source", NULL };
	char p[PJ_PATH_MAX];
	json_t *o;
	bool b;
	const char *s;

	memset(f, 0, sizeof(*f));
	f->mode = f->protocol = -1;
	pj_check_keys(pj, rp, rule, keys);
	f->action = pj_enum(pj, rule, rp, "action", true, rule_actions, FW_ARRAY_LEN(rule_actions));
	f->direction = pj_enum(pj, rule, rp, "direction", false, directions, FW_ARRAY_LEN(directions));
	check_application(pj, rule, rp, f);
	if ((f->decryption = pj_object(pj, rule, rp, "decryption", false)) != NULL) {
		pj_key(p, sizeof(p), rp, "decryption");
		pj_check_keys(pj, p, f->decryption, dec_keys);
		f->mode = pj_enum(pj, f->decryption, p, "mode", true, decrypt_modes, FW_ARRAY_LEN(decrypt_modes));
		(void)pj_string_array(pj, f->decryption, p, "exclusions", false, 256, check_any);
	}
	if ((o = pj_object(pj, rule, rp, "identity", false)) != NULL) {
		pj_key(p, sizeof(p), rp, "identity");
		pj_check_keys(pj, p, o, id_keys);
		(void)pj_string(pj, o, p, "device_posture", false, 63);
		(void)pj_string_array(pj, o, p, "user_group", false, 256, check_any);
	}
	if ((f->logging = pj_object(pj, rule, rp, "logging", false)) != NULL) {
		pj_key(p, sizeof(p), rp, "logging");
		pj_check_keys(pj, p, f->logging, log_keys);
		(void)pj_bool(pj, f->logging, p, "log_start", false, &b);
		(void)pj_bool(pj, f->logging, p, "log_end", false, &b);
		(void)pj_bool(pj, f->logging, p, "log_forwarding", false, &b);
		s = pj_string(pj, f->logging, p, "profile", false, 63);
		if (s != NULL && !pj_ident_valid(s)) {
			char lp[PJ_PATH_MAX];

			pj_err(pj, pj_key(lp, sizeof(lp), p, "profile"), "not an identifier");
		}
	}
	pj_text(pj, rule, rp, "rationale", false);
	if ((f->security_profiles = pj_object(pj, rule, rp, "security_profiles", false)) != NULL) {
		pj_key(p, sizeof(p), rp, "security_profiles");
		check_security_profiles(pj, f->security_profiles, p);
	}
	if ((f->service = pj_object(pj, rule, rp, "service", false)) != NULL) {
		pj_key(p, sizeof(p), rp, "service");
		pj_check_keys(pj, p, f->service, svc_keys);
		f->has_app_default = pj_bool(pj, f->service, p, "app_default", false, &f->app_default) == 1;
		(void)pj_string_array(pj, f->service, p, "ports", false, FW_POLICY_MAX_PORTS, check_port);
		f->protocol = pj_enum(pj, f->service, p, "protocol", true, protocols, FW_ARRAY_LEN(protocols));
	}
	if ((o = pj_object(pj, rule, rp, "zones", false)) != NULL) {
		pj_key(p, sizeof(p), rp, "zones");
		pj_check_keys(pj, p, o, zone_keys);
		(void)pj_string_array(pj, o, p, "source", false, 64, check_ident);
		(void)pj_string_array(pj, o, p, "destination", false, 64, check_ident);
	}
}


/* ---- the enforced rule ---- */

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static void map_ports(struct pj *pj, const struct rule_facts *f, const char *rp, struct fw_policy *pol)
{
	char p[PJ_PATH_MAX], ip[PJ_PATH_MAX];
	json_t *arr = NULL, *v;
	bool from_default = false;
	size_t i;

	if (f->service != NULL) {
		arr = json_object_get(f->service, "ports");
		if (f->protocol >= 0 && strcmp(protocols[f->protocol], "tcp") != 0)
			pj_err(pj, pj_key(p, sizeof(p), rp, "service.protocol"),
			       "fwgate proxies HTTPS over tcp; got \"%s\"", protocols[f->protocol]);
	}
	if (arr == NULL || json_array_size(arr) == 0 || (f->has_app_default && f->app_default)) {
		if (f->application != NULL && json_array_size(json_object_get(f->application, "default_ports")) > 0) {
			arr = json_object_get(f->application, "default_ports");
			from_default = true;
		}
	}
	pj_key(p, sizeof(p), rp, from_default ? "application.default_ports" : "service.ports");
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		uint64_t port;

		if (s == NULL)
			continue; /* already reported */
		if (from_default) {
			if (strncmp(s, "tcp/", 4) != 0)
				continue;
			s += 4;
		}
		if (strchr(s, '-') != NULL) {
			pj_err(pj, pj_idx(ip, sizeof(ip), p, i),
			       "port ranges are not supported for CONNECT; list the ports");
			continue;
		}
		if (config_cv_uint(s, 1, 65535, &port, NULL) != 0 || pol->n_ports >= FW_POLICY_MAX_PORTS)
			continue; /* already reported */
		pol->ports[pol->n_ports++] = (uint16_t)port;
	}
	if (pol->n_ports == 0)
		pol->ports[pol->n_ports++] = 443;
}

static int map_url_filtering(json_t *uf, struct fw_policy *pol)
{
	json_t *arr, *v;
	size_t i;

	/* Absent url_filtering: nothing is categorized, so uncategorized (all)
	 * traffic is blocked unless allow-listed: the fail-closed reading. */
	pol->url_filtering.uncategorized_action = FW_PA_BLOCK;
	pol->url_filtering.credential_phishing = FW_PA_BLOCK;
	if (uf == NULL)
		return 0;
	arr = json_object_get(uf, "block_categories");
	json_array_foreach(arr, i, v) {
		if (json_is_string(v) && pj_ident_valid(json_string_value(v)) &&
		    pol->url_filtering.n_block_categories < FW_POLICY_MAX_CATEGORIES)
			copy_str(pol->url_filtering.block_categories[pol->url_filtering.n_block_categories++],
				 FW_POLICY_NAME_MAX, json_string_value(v));
	}
	for (size_t a = 0; a < PA_COUNT; a++) {
		const char *s = json_string_value(json_object_get(uf, "uncategorized_action"));

		if (s != NULL && strcmp(s, profile_actions[a]) == 0)
			pol->url_filtering.uncategorized_action = (enum fw_profile_action)(a + 1);
		s = json_string_value(json_object_get(uf, "credential_phishing"));
		if (s != NULL && strcmp(s, profile_actions[a]) == 0)
			pol->url_filtering.credential_phishing = (enum fw_profile_action)(a + 1);
	}
	arr = json_object_get(uf, "allow_list");
	if (json_array_size(arr) == 0)
		return 0;
	pol->url_filtering.allow_list = calloc(json_array_size(arr), sizeof(char *));
	if (pol->url_filtering.allow_list == NULL)
		return -1;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		char *copy;

		if (s == NULL || check_host_pattern(s) != NULL)
			continue;
		copy = strdup(s);
		if (copy == NULL)
			return -1;
		for (char *c = copy; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		pol->url_filtering.allow_list[pol->url_filtering.n_allow_list++] = copy;
	}
	return 0;
}

static void map_profiles(struct pj *pj, const struct rule_facts *f, const char *rp, struct fw_policy *pol)
{
	json_t *sp = f->security_profiles, *o, *arr, *v;
	char p[PJ_PATH_MAX];
	size_t i;
	enum fw_file_type ft;

	o = json_object_get(sp, "antivirus");
	pol->antivirus.action = FW_PA_UNSET;
	for (size_t a = 0; o != NULL && a < PA_COUNT; a++)
		if (json_is_string(json_object_get(o, "action")) &&
		    strcmp(json_string_value(json_object_get(o, "action")), profile_actions[a]) == 0)
			pol->antivirus.action = (enum fw_profile_action)(a + 1);
	if (o == NULL)
		pj_err(pj, pj_key(p, sizeof(p), rp, "security_profiles.antivirus"),
		       "required for the enforced rule: fwgate only delivers scanned bytes");
	else if (pol->antivirus.action != FW_PA_UNSET && pol->antivirus.action != FW_PA_BLOCK)
		pj_err(pj, pj_key(p, sizeof(p), rp, "security_profiles.antivirus.action"),
		       "must be \"block\" for the enforced rule (\"%s\" would deliver unvetted bytes)",
		       fw_profile_action_name(pol->antivirus.action));

	o = json_object_get(sp, "sandboxing");
	if (o != NULL) {
		pol->sandboxing.enabled = json_is_true(json_object_get(o, "enabled"));
		arr = json_object_get(o, "file_types");
		json_array_foreach(arr, i, v)
			if (json_is_string(v) && fw_file_type_parse(json_string_value(v), &ft) == 0)
				pol->sandboxing.file_types[ft] = true;
		if (pol->sandboxing.enabled && json_array_size(arr) == 0)
			pj_err(pj, pj_key(p, sizeof(p), rp, "security_profiles.sandboxing.file_types"),
			       "sandboxing is enabled but names no file type");
	}
	o = json_object_get(sp, "dns_security");
	if (o != NULL) {
		pol->dns_security.sinkhole = json_is_true(json_object_get(o, "sinkhole"));
		for (size_t a = 0; a < PA_COUNT; a++)
			if (json_is_string(json_object_get(o, "action")) &&
			    strcmp(json_string_value(json_object_get(o, "action")), profile_actions[a]) == 0)
				pol->dns_security.action = (enum fw_profile_action)(a + 1);
	}
	o = json_object_get(sp, "ips");
	if (o != NULL) {
		for (size_t a = 0; a < PA_COUNT; a++)
			if (json_is_string(json_object_get(o, "action")) &&
			    strcmp(json_string_value(json_object_get(o, "action")), profile_actions[a]) == 0)
				pol->ips.action = (enum fw_profile_action)(a + 1);
		copy_str(pol->ips.min_severity, sizeof(pol->ips.min_severity),
			 json_string_value(json_object_get(o, "min_severity")));
	}
}

/* Maps the selected rule; adds an error for each setting fwgate cannot
 * enforce without passing uninspected bytes. */
static int map_rule(struct pj *pj, const struct rule_facts *f, const char *rp, struct fw_policy *pol)
{
	char p[PJ_PATH_MAX];
	json_t *ex;

	copy_str(pol->rule, sizeof(pol->rule), f->app_id);
	if (f->action >= 0)
		pol->action = (enum fw_rule_action)f->action;
	if (f->direction >= 0 && strcmp(directions[f->direction], "outbound") != 0)
		pj_err(pj, pj_key(p, sizeof(p), rp, "direction"),
		       "fwgate is a forward proxy for outbound flows; got \"%s\"", directions[f->direction]);
	if (f->decryption == NULL) {
		pj_err(pj, pj_key(p, sizeof(p), rp, "decryption"),
		       "required for the enforced rule (mode \"ssl_forward_proxy\")");
	} else {
		pol->decryption.mode = decrypt_mode_of(f->mode);
		if (f->mode >= 0 && pol->decryption.mode != FW_DECRYPT_FORWARD_PROXY)
			pj_err(pj, pj_key(p, sizeof(p), rp, "decryption.mode"),
			       "fwgate inspects by TLS interception and needs \"ssl_forward_proxy\", not \"%s\"",
			       fw_decrypt_mode_name(pol->decryption.mode));
		ex = json_object_get(f->decryption, "exclusions");
		if (json_array_size(ex) > 0)
			pj_err(pj, pj_key(p, sizeof(p), rp, "decryption.exclusions"),
			       "not supported: fwgate never forwards traffic it has not inspected");
	}
	map_ports(pj, f, rp, pol);
	if (f->security_profiles == NULL)
		pj_err(pj, pj_key(p, sizeof(p), rp, "security_profiles"),
		       "required for the enforced rule (antivirus \"block\" at least)");
	else
		map_profiles(pj, f, rp, pol);
	if (map_url_filtering(json_object_get(f->security_profiles, "url_filtering"), pol) != 0)
		return -1;
	pol->logging.log_end = true;
	if (f->logging != NULL) {
		json_t *v;

		if ((v = json_object_get(f->logging, "log_start")) != NULL && json_is_boolean(v))
			pol->logging.log_start = json_is_true(v);
		if ((v = json_object_get(f->logging, "log_end")) != NULL && json_is_boolean(v))
			pol->logging.log_end = json_is_true(v);
		if ((v = json_object_get(f->logging, "log_forwarding")) != NULL && json_is_boolean(v))
			pol->logging.log_forwarding = json_is_true(v);
		copy_str(pol->logging.profile, sizeof(pol->logging.profile),
			 json_string_value(json_object_get(f->logging, "profile")));
	}
	return 0;
}

static void list_app_ids(json_t *rules, char *out, size_t len)
{
	size_t i, o = 0;
	json_t *r;

	out[0] = '\0';
	json_array_foreach(rules, i, r) {
		const char *id = json_string_value(json_object_get(json_object_get(r, "application"), "app_id"));
		int w;

		if (id == NULL || !pj_ident_valid(id))
			continue;
		w = snprintf(out + o, len - o, "%s%s", o ? ", " : "", id);
		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
}

struct fw_policy *fw_policy_parse(const uint8_t *buf, size_t len, const char *source,
				  const char *rule_id, struct fw_errlist *errs)
{
	struct pj pj = { .errs = errs };
	struct fw_policy *pol = NULL;
	struct rule_facts f, chosen = { 0 };
	json_error_t jerr;
	json_t *root, *rules, *r;
	char rp[PJ_PATH_MAX], list[512];
	long found = -1;
	size_t i;

	fw_errlist_clear(errs);
	/* Duplicate keys are refused: two "action" fields in one rule would
	 * let a reviewer read one and the gateway enforce the other. */
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		fw_errlist_addc(errs, FW_E_INVALID, "%s:%d:%d: %s", source, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		fw_errlist_addc(errs, FW_E_CONFIG, "(document): must be an object");
		goto out;
	}
	pol = calloc(1, sizeof(*pol));
	if (pol == NULL) {
		fw_errlist_addc(errs, FW_E_NOMEM, "out of memory");
		goto out;
	}
	copy_str(pol->source, sizeof(pol->source), source);
	check_card_meta(&pj, root);
	copy_str(pol->card_id, sizeof(pol->card_id), json_string_value(json_object_get(root, "id")));
	copy_str(pol->card_version, sizeof(pol->card_version), json_string_value(json_object_get(root, "version")));
	copy_str(pol->schema_version, sizeof(pol->schema_version),
		 json_string_value(json_object_get(root, "schema_version")));
	rules = pj_array(&pj, root, "", "rules", true, FW_POLICY_MAX_RULES);
	if (rules != NULL && json_array_size(rules) == 0)
		pj_err(&pj, "rules", "the card has no rule");
	json_array_foreach(rules, i, r) {
		pj_idx(rp, sizeof(rp), "rules", i);
		if (!json_is_object(r)) {
			pj_err(&pj, rp, "must be an object");
			continue;
		}
		check_rule(&pj, r, rp, &f);
		if (f.app_id == NULL)
			continue;
		for (size_t j = 0; j < i; j++) {
			const char *other = json_string_value(json_object_get(
				json_object_get(json_array_get(rules, j), "application"), "app_id"));
			char ap[PJ_PATH_MAX];

			if (other != NULL && strcmp(other, f.app_id) == 0)
				pj_err(&pj, pj_key(ap, sizeof(ap), rp, "application.app_id"),
				       "duplicate app_id \"%s\" (also rules[%zu])", f.app_id, j);
		}
		if (found < 0 && strcmp(f.app_id, rule_id) == 0) {
			found = (long)i;
			chosen = f;
		}
	}
	if (rules != NULL && json_array_size(rules) > 0 && found < 0) {
		char q[256];

		list_app_ids(rules, list, sizeof(list));
		pj_err(&pj, "rules", "no rule with application.app_id \"%s\" (the card has: %s)",
		       pj_quote(rule_id, q, sizeof(q)), list[0] ? list : "none");
	}
	if (found >= 0) {
		pol->rule_index = (unsigned)found;
		pj_idx(rp, sizeof(rp), "rules", (size_t)found);
		if (map_rule(&pj, &chosen, rp, pol) != 0)
			fw_errlist_addc(errs, FW_E_NOMEM, "out of memory");
	}
out:
	json_decref(root);
	if (errs->n > 0) {
		fw_policy_free(pol);
		return NULL;
	}
	return pol;
}

struct fw_policy *fw_policy_load(const char *path, const char *rule_id, struct fw_errlist *errs)
{
	struct fw_policy *pol;
	struct fw_err err;
	uint8_t *buf;
	size_t len;

	fw_errlist_clear(errs);
	fw_err_clear(&err);
	if (fw_file_read(path, FW_POLICY_MAX_BYTES, &buf, &len, &err) != 0) {
		fw_errlist_addc(errs, fw_err_code(&err), "%s", fw_err_msg(&err));
		return NULL;
	}
	pol = fw_policy_parse(buf, len, path, rule_id, errs);
	free(buf);
	return pol;
}

struct fw_policy *fw_policy_load_embedded(const char *rule_id, struct fw_errlist *errs)
{
	return fw_policy_parse(fw_embedded_policy, fw_embedded_policy_len, "embedded default",
			       rule_id, errs);
}

void fw_policy_free(struct fw_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->url_filtering.n_allow_list; i++)
		free(p->url_filtering.allow_list[i]);
	free(p->url_filtering.allow_list);
	free(p);
}
