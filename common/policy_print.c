/* The effective policy, printed for people (fwgate policy check) and as
 * JSON for scripts. Reads struct fw_policy only. */
#include <stdio.h>

#include <jansson.h>

#include "fwgate/policy.h"

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

void fw_policy_print(const struct fw_policy *p, FILE *out)
{
	fprintf(out, "policy:          %s (card %s, version %s, schema %s)\n", p->source,
		p->card_id, p->card_version[0] ? p->card_version : "-", p->schema_version);
	fprintf(out, "rule:            %s (rules[%u]), action %s\n", p->rule, p->rule_index,
		fw_rule_action_name(p->action));
	fprintf(out, "decryption:      %s, no exclusions\n", fw_decrypt_mode_name(p->decryption.mode));
	fprintf(out, "ports:          ");
	for (unsigned i = 0; i < p->n_ports; i++)
		fprintf(out, " %u", (unsigned)p->ports[i]);
	fprintf(out, "\nblock categories:");
	if (p->url_filtering.n_block_categories == 0)
		fprintf(out, " none");
	for (unsigned i = 0; i < p->url_filtering.n_block_categories; i++)
		fprintf(out, "%s %s", i ? "," : "", p->url_filtering.block_categories[i]);
	fprintf(out, "\nuncategorized:   %s\n", fw_profile_action_name(p->url_filtering.uncategorized_action));
	fprintf(out, "cred. phishing:  %s\n", fw_profile_action_name(p->url_filtering.credential_phishing));
	fprintf(out, "allow-list:      %zu name(s) in the rule", p->url_filtering.n_allow_list);
	for (size_t i = 0; i < p->url_filtering.n_allow_list; i++)
		fprintf(out, "%s %s", i ? "," : ":", p->url_filtering.allow_list[i]);
	fprintf(out, " (plus the [policy] allowlist file)\n");
	fprintf(out, "antivirus:       %s\n", fw_profile_action_name(p->antivirus.action));
	fprintf(out, "sandboxing:      %s", p->sandboxing.enabled ? "enabled" : "disabled");
	if (p->sandboxing.enabled) {
		const char *sep = ", file types ";

		for (unsigned t = 0; t < FW_FT_COUNT; t++) {
			if (!p->sandboxing.file_types[t])
				continue;
			fprintf(out, "%s%s", sep, fw_file_type_name((enum fw_file_type)t));
			sep = ", ";
		}
	}
	fprintf(out, "\ndns_security:    %s, sinkhole %s\n", fw_profile_action_name(p->dns_security.action),
		yes_no(p->dns_security.sinkhole));
	fprintf(out, "ips:             %s%s%s (not enforced: fwgate has no IPS engine)\n",
		fw_profile_action_name(p->ips.action), p->ips.min_severity[0] ? ", min severity " : "",
		p->ips.min_severity);
	fprintf(out, "logging:         start %s, end %s, forwarding %s, profile %s\n",
		yes_no(p->logging.log_start), yes_no(p->logging.log_end),
		yes_no(p->logging.log_forwarding), p->logging.profile[0] ? p->logging.profile : "-");
}

int fw_policy_print_json(const struct fw_policy *p, FILE *out)
{
	json_t *doc, *ports, *cats, *allow, *types;
	int rc = -1;

	ports = json_array();
	cats = json_array();
	allow = json_array();
	types = json_array();
	for (unsigned i = 0; ports && i < p->n_ports; i++)
		json_array_append_new(ports, json_integer(p->ports[i]));
	for (unsigned i = 0; cats && i < p->url_filtering.n_block_categories; i++)
		json_array_append_new(cats, json_string(p->url_filtering.block_categories[i]));
	for (size_t i = 0; allow && i < p->url_filtering.n_allow_list; i++)
		json_array_append_new(allow, json_string(p->url_filtering.allow_list[i]));
	for (unsigned t = 0; types && t < FW_FT_COUNT; t++)
		if (p->sandboxing.file_types[t])
			json_array_append_new(types, json_string(fw_file_type_name((enum fw_file_type)t)));
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:{s:s, s:[]}, s:o, "
			"s:{s:o, s:s, s:s, s:o}, s:{s:s}, s:{s:b, s:o}, s:{s:s, s:b}, "
			"s:{s:s, s:s}, s:{s:b, s:b, s:b, s:s}}",
			"source", p->source, "card", p->card_id, "card_version", p->card_version,
			"schema_version", p->schema_version, "rule", p->rule, "rule_index", (int)p->rule_index,
			"action", fw_rule_action_name(p->action),
			"decryption", "mode", fw_decrypt_mode_name(p->decryption.mode), "exclusions",
			"ports", ports,
			"url_filtering", "block_categories", cats,
			"uncategorized_action", fw_profile_action_name(p->url_filtering.uncategorized_action),
			"credential_phishing", fw_profile_action_name(p->url_filtering.credential_phishing),
			"allow_list", allow,
			"antivirus", "action", fw_profile_action_name(p->antivirus.action),
			"sandboxing", "enabled", p->sandboxing.enabled, "file_types", types,
			"dns_security", "action", fw_profile_action_name(p->dns_security.action),
			"sinkhole", p->dns_security.sinkhole,
			"ips", "action", fw_profile_action_name(p->ips.action), "min_severity", p->ips.min_severity,
			"logging", "log_start", p->logging.log_start, "log_end", p->logging.log_end,
			"log_forwarding", p->logging.log_forwarding, "profile", p->logging.profile);
	/* json_pack steals the "o" references even on failure. */
	if (doc == NULL)
		return -1;
	if (json_dumpf(doc, out, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 && fputc('\n', out) != EOF)
		rc = 0;
	json_decref(doc);
	return rc;
}
