/* The analyzer's YARA part (scanner/analyze.h): each rule that matches the
 * sample is a finding weighted by its meta. The rules are compiled by the
 * caller (scanner/yara_rules.c); this file only matches and weighs. */
#include <stdio.h>

#include "scanner/analyze_int.h"
#include "scanner/yara_rules.h"

static void an_yara_match(void *arg, const struct scan_yara_match *m)
{
	struct an *a = arg;
	unsigned w = m->weight;

	if (m->effect == SCAN_YARA_MALICIOUS)
		w = ANALYZE_SCORE_MAX;
	else if (m->effect == SCAN_YARA_SUSPICIOUS && w < ANALYZE_YARA_SUSPICIOUS)
		w = ANALYZE_YARA_SUSPICIOUS;
	an_add(a, AN_RULE, w, m->offset, "%s%s%s%s%s", m->rule, m->tags[0] ? " [" : "", m->tags,
	       m->tags[0] ? "]" : "", m->effect == SCAN_YARA_WEIGHT ? "" : m->effect == SCAN_YARA_MALICIOUS
									  ? " (verdict malicious)"
									  : " (verdict suspicious)");
}

int an_yara(struct an *a, const struct scan_yara *y, struct fw_err *err)
{
	if (scan_yara_mem(y, a->p, a->len, a->lim->yara_seconds, an_yara_match, a, err) != 0)
		return fw_err_prefix(err, "the YARA rules did not finish on the sample");
	return 0;
}
