/* The `local` sandbox backend: fwgate's static analyzer, run in a scanner
 * worker (never in the gateway process) on the private copy of a sample.
 * A leaf: it gets its environment, never the queue. */
#include "sandbox/sandbox_int.h"

int local_run(const struct sandbox_env *env, const struct fw_sandbox_job *job, int fd, int *score,
	      json_t **findings, struct fw_err *err)
{
	json_t *analysis = NULL;
	json_int_t s;

	if (fw_scanner_analyze_fd(env->scanner, fd, job->file_type, env->cfg->sandbox.timeout_seconds, &analysis,
				  err) != 0)
		return -1;
	s = json_integer_value(json_object_get(analysis, "score"));
	*score = s < 0 ? 0 : s > 100 ? 100 : (int)s;
	*findings = json_pack("{s:s, s:o}", "backend", "local", "analysis", analysis);
	if (*findings == NULL)
		return fw_err_set(err, "out of memory");
	return 0;
}
