/* The YARA rules (scanner/yara_rules.h): compiling the configured files
 * or the shipped ones, checking what their meta asks for, and matching
 * them against a node. Compiled in the supervisor only; matching runs in
 * confined workers and needs no system call beyond mmap of the node
 * (libyara maps the descriptor it is given). Must not decide a verdict. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yara.h>

#include "scanner/scan_int.h"
#include "scanner/yara_rules.h"

struct scan_yara {
	YR_RULES *rules;
	unsigned count;
};

/* The compiler's first error, with its file and line. */
struct compile_state {
	struct fw_err *err;
	const char *label;  /* for rules given as text (the shipped ones) */
};

static void on_compile(int level, const char *file, int line, const YR_RULE *rule, const char *msg, void *arg)
{
	struct compile_state *c = arg;

	(void)rule;
	if (level != YARA_ERROR_LEVEL_ERROR)
		return;  /* warnings (slow strings) do not stop a rule set */
	fw_err_setc(c->err, FW_E_CONFIG, "%s:%d: %s", file != NULL ? file : c->label, line, msg);
}

static bool yara_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && ((n > 4 && strcmp(name + n - 4, ".yar") == 0) ||
				  (n > 5 && strcmp(name + n - 5, ".yara") == 0));
}

static int add_file(YR_COMPILER *c, const char *path, unsigned *files, struct fw_err *err)
{
	struct stat st;
	int fd, errors;

	if (++*files > SCAN_YARA_FILES_MAX)
		return fw_err_setc(err, FW_E_LIMIT, "more than %u YARA rule files", SCAN_YARA_FILES_MAX);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open the YARA rules %s", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > SCAN_YARA_FILE_MAX) {
		close(fd);
		return fw_err_setc(err, FW_E_LIMIT, "%s: not a regular file of at most %u bytes", path,
				   SCAN_YARA_FILE_MAX);
	}
	errors = yr_compiler_add_fd(c, fd, NULL, path);
	close(fd);
	if (errors > 0)
		return fw_err_setc(err, FW_E_CONFIG, "%s: the YARA rules do not compile", path);
	return 0;
}

/* A directory's rule files, in name order (the order is the rules'). */
static int add_dir(YR_COMPILER *c, const char *dir, unsigned *files, struct fw_err *err)
{
	struct dirent **names = NULL;
	char path[FW_PATH_MAX];
	unsigned before = *files;
	int n, rc = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return fw_err_sys(err, errno, "cannot list the YARA rule directory %s", dir);
	for (int i = 0; i < n; i++) {
		if (rc == 0 && yara_name(names[i]->d_name)) {
			if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >= (int)sizeof(path))
				rc = fw_err_setc(err, FW_E_LIMIT, "%s/%s: path too long", dir, names[i]->d_name);
			else
				rc = add_file(c, path, files, err);
		}
		free(names[i]);
	}
	free(names);
	/* An empty directory is a mistake (a wrong path, rules not yet
	 * copied), not an intent to match nothing. */
	if (rc == 0 && *files == before)
		return fw_err_setc(err, FW_E_CONFIG, "no *.yar or *.yara file in the YARA rule directory %s", dir);
	return rc;
}

/* A weight meta: an integer 0..1000, or for severity a word. */
static int meta_weight(const YR_META *m, unsigned *weight)
{
	static const struct {
		const char *word;
		unsigned weight;
	} words[] = { { "low", 10 }, { "medium", 25 }, { "high", 50 }, { "critical", 100 } };

	if (m->type == META_TYPE_INTEGER) {
		if (m->integer < 0 || m->integer > SCAN_YARA_WEIGHT_MAX)
			return -1;
		*weight = (unsigned)m->integer;
		return 0;
	}
	for (size_t i = 0; m->type == META_TYPE_STRING && i < FW_ARRAY_LEN(words); i++)
		if (strcasecmp(m->string, words[i].word) == 0) {
			*weight = words[i].weight;
			return 0;
		}
	return -1;
}

/* The effect and weight a rule's meta asks for; -1 with the reason when
 * it asks for something fwgate does not know (a typo must not quietly
 * downgrade a "malicious" rule to a listed one). */
static int rule_effect(const YR_RULE *rule, enum scan_yara_effect *effect, unsigned *weight, struct fw_err *err)
{
	const YR_META *m;
	bool scored = false;

	*effect = SCAN_YARA_WEIGHT;
	*weight = 0;
	yr_rule_metas_foreach(rule, m) {
		if (strcmp(m->identifier, "verdict") == 0) {
			if (m->type == META_TYPE_STRING && strcmp(m->string, "malicious") == 0)
				*effect = SCAN_YARA_MALICIOUS;
			else if (m->type == META_TYPE_STRING && strcmp(m->string, "suspicious") == 0)
				*effect = SCAN_YARA_SUSPICIOUS;
			else
				return fw_err_setc(err, FW_E_CONFIG, "YARA rule %s: meta verdict must be \"malicious\" "
						   "or \"suspicious\"", rule->identifier);
		} else if (strcmp(m->identifier, "score") == 0 || strcmp(m->identifier, "severity") == 0) {
			unsigned w = 0;

			if (meta_weight(m, &w) != 0)
				return fw_err_setc(err, FW_E_CONFIG, "YARA rule %s: meta %s must be an integer from 0 "
						   "to %d%s", rule->identifier, m->identifier, SCAN_YARA_WEIGHT_MAX,
						   m->identifier[1] == 'e' ? " or low, medium, high, critical" : "");
			/* score wins over severity, whichever comes first */
			if (!scored || m->identifier[1] == 'c')
				*weight = w;
			scored = scored || m->identifier[1] == 'c';
		}
	}
	return 0;
}

static int check_rules(struct scan_yara *y, struct fw_err *err)
{
	const YR_RULE *rule;

	yr_rules_foreach(y->rules, rule) {
		enum scan_yara_effect e;
		unsigned w;

		if (rule_effect(rule, &e, &w, err) != 0)
			return -1;
		y->count++;
	}
	return 0;
}

int scan_yara_load(struct scan_yara **out, const char (*paths)[FW_PATH_MAX], unsigned n_paths,
		   struct fw_err *err)
{
	struct compile_state cs = { .err = err, .label = "fwgate.yar (built in)" };
	YR_COMPILER *c = NULL;
	struct scan_yara *y;
	unsigned files = 0;
	struct stat st;
	int rc = -1;

	*out = NULL;
	if (yr_initialize() != ERROR_SUCCESS)
		return fw_err_set(err, "libyara cannot start");
	y = calloc(1, sizeof(*y));
	if (y == NULL) {
		yr_finalize();
		return fw_err_setc(err, FW_E_NOMEM, "out of memory compiling the YARA rules");
	}
	if (yr_compiler_create(&c) != ERROR_SUCCESS) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory compiling the YARA rules");
		goto out;
	}
	yr_compiler_set_callback(c, on_compile, &cs);
	if (n_paths == 0 && yr_compiler_add_string(c, (const char *)scan_embedded_yara, NULL) != 0) {
		fw_err_setc(err, FW_E_CONFIG, "the shipped YARA rules do not compile");
		goto out;
	}
	for (unsigned i = 0; i < n_paths; i++) {
		if (stat(paths[i], &st) != 0) {
			fw_err_sys(err, errno, "[scanner] yara_rules \"%s\"", paths[i]);
			goto out;
		}
		if ((S_ISDIR(st.st_mode) ? add_dir(c, paths[i], &files, err) : add_file(c, paths[i], &files, err)) != 0)
			goto out;
	}
	if (yr_compiler_get_rules(c, &y->rules) != ERROR_SUCCESS) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory compiling the YARA rules");
		goto out;
	}
	if (check_rules(y, err) != 0)
		goto out;
	*out = y;
	y = NULL;
	rc = 0;
out:
	if (c != NULL)
		yr_compiler_destroy(c);
	scan_yara_free(y);
	return rc;
}

void scan_yara_free(struct scan_yara *y)
{
	if (y == NULL)
		return;
	if (y->rules != NULL)
		yr_rules_destroy(y->rules);
	free(y);
	yr_finalize();  /* one per scan_yara_load: libyara counts them */
}

unsigned scan_yara_count(const struct scan_yara *y)
{
	return y->count;
}

const char *scan_yara_effect_name(enum scan_yara_effect e)
{
	switch (e) {
	case SCAN_YARA_MALICIOUS:
		return "malicious";
	case SCAN_YARA_SUSPICIOUS:
		return "suspicious";
	case SCAN_YARA_WEIGHT:
		break;
	}
	return "weight";
}

/* ------------------------------------------------------------ matching */

struct scan_state {
	scan_yara_cb cb;
	void *arg;
};

static void match_fill(YR_SCAN_CONTEXT *ctx, const YR_RULE *rule, struct scan_yara_match *m)
{
	const YR_STRING *s;
	const char *tag;
	size_t used = 0;
	bool found = false;

	memset(m, 0, sizeof(*m));
	snprintf(m->rule, sizeof(m->rule), "%s", rule->identifier);
	yr_rule_tags_foreach(rule, tag) {
		int n = snprintf(m->tags + used, sizeof(m->tags) - used, "%s%s", used ? "," : "", tag);

		if (n < 0 || (size_t)n >= sizeof(m->tags) - used) {
			m->tags[used] = '\0';
			break;
		}
		used += (size_t)n;
	}
	/* Checked at load: a rule whose meta does not parse never gets here. */
	if (rule_effect(rule, &m->effect, &m->weight, NULL) != 0)
		m->effect = SCAN_YARA_WEIGHT;
	/* libyara keeps its matches in a notebook that does not align them
	 * (yr_string_matches_foreach reads misaligned YR_MATCHes: undefined
	 * behaviour, which UBSan reports): each is copied out first. */
	yr_rule_strings_foreach(rule, s) {
		for (const YR_MATCH *at = ctx->matches[s->idx].head; at != NULL;) {
			YR_MATCH hit;
			uint64_t off;

			memcpy(&hit, at, sizeof(hit));
			at = hit.next;
			if (hit.is_private)
				continue;
			off = (uint64_t)(hit.base + hit.offset);
			if (!found || off < m->offset)
				m->offset = off;
			found = true;
		}
	}
}

static int on_scan(YR_SCAN_CONTEXT *ctx, int message, void *data, void *arg)
{
	struct scan_state *st = arg;
	struct scan_yara_match m;

	if (message == CALLBACK_MSG_RULE_MATCHING) {
		match_fill(ctx, data, &m);
		st->cb(st->arg, &m);
	}
	return CALLBACK_CONTINUE;
}

static int scan_result(int rc, unsigned timeout_s, struct fw_err *err)
{
	switch (rc) {
	case ERROR_SUCCESS:
		return 0;
	case ERROR_SCAN_TIMEOUT:
		return fw_err_setc(err, FW_E_TIMEOUT, "YARA did not finish within %u s", timeout_s);
	case ERROR_INSUFFICIENT_MEMORY:
		return fw_err_setc(err, FW_E_NOMEM, "YARA ran out of memory");
	case ERROR_COULD_NOT_MAP_FILE:
	case ERROR_COULD_NOT_OPEN_FILE:
		return fw_err_setc(err, FW_E_IO, "YARA cannot read the bytes (error %d)", rc);
	default:
		return fw_err_set(err, "YARA failed (libyara error %d)", rc);
	}
}

/* libyara takes its rules as non-const, but scanning only reads them:
 * that is what lets threads and forked workers share one set. */
static YR_RULES *rules_of(const struct scan_yara *y)
{
	return y->rules;
}

int scan_yara_fd(const struct scan_yara *y, int fd, unsigned timeout_s, scan_yara_cb cb, void *arg,
		 struct fw_err *err)
{
	struct scan_state st = { .cb = cb, .arg = arg };

	struct stat sb;

	if (timeout_s == 0)
		timeout_s = 1;  /* 0 would be no timeout at all */
	if (fstat(fd, &sb) != 0)
		return fw_err_sys(err, errno, "YARA cannot read the bytes");
	if (sb.st_size == 0)  /* libyara refuses to map an empty file; its rules still apply */
		return scan_result(yr_rules_scan_mem(rules_of(y), NULL, 0, 0, on_scan, &st, (int)timeout_s), timeout_s,
				   err);
	return scan_result(yr_rules_scan_fd(rules_of(y), fd, 0, on_scan, &st,
					    (int)timeout_s), timeout_s, err);
}

int scan_yara_mem(const struct scan_yara *y, const uint8_t *p, size_t len, unsigned timeout_s, scan_yara_cb cb,
		  void *arg, struct fw_err *err)
{
	struct scan_state st = { .cb = cb, .arg = arg };

	if (timeout_s == 0)
		timeout_s = 1;
	return scan_result(yr_rules_scan_mem(rules_of(y), p, len, 0, on_scan, &st, (int)timeout_s), timeout_s,
			   err);
}
