/* libFuzzer target: what the supervisor checks of a worker's answer (a
 * worker may be compromised) and what a worker makes of a CAPE report.
 * The first byte picks the kind: 0 a verdict document, 1 an analysis,
 * 2 a report summary, 3 a CAPE report through scan_cape_summary.
 * Properties: no crash; whatever scan_answer_check passes on is within
 * SCAN_RESULT_MAX and re-validates; a report summary always validates. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scanner/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void passes_on(const struct scan_job_hdr *job, json_t *doc)
{
	struct fw_err err;
	char *text = NULL;
	size_t len = 0;
	json_t *again;

	fw_err_clear(&err);
	if (scan_answer_encode(job, doc, SCAN_RESULT_MAX, &text, &len, &err) != 0)
		abort();
	again = scan_answer_check(job, text + sizeof(struct scan_answer_hdr), len - sizeof(struct scan_answer_hdr),
				  &err);
	if (again == NULL)
		abort();
	json_decref(again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t kinds[] = { 0, SCAN_JOB_ANALYZE, SCAN_JOB_CAPE_REPORT };
	struct scan_job_hdr job = { .job_id = 1 };
	struct fw_err err;
	json_t *doc;

	if (size < 1 || size > 256 * 1024)
		return 0;
	fw_err_clear(&err);
	if (data[0] % 4 == 3) {
		int fd = memfd_create("fuzz-report", MFD_CLOEXEC);

		if (fd < 0)
			return 0;
		if (write(fd, data + 1, size - 1) == (ssize_t)(size - 1)) {
			doc = scan_cape_summary(fd);
			job.flags = SCAN_JOB_CAPE_REPORT;
			if (doc == NULL)
				abort();
			passes_on(&job, doc);
			json_decref(doc);
		}
		close(fd);
		return 0;
	}
	job.flags = kinds[data[0] % 4];
	doc = scan_answer_check(&job, (const char *)data + 1, size - 1, &err);
	if (doc != NULL) {
		passes_on(&job, doc);
		if (job.flags == 0) {
			struct fw_scan_result res = { 0 };

			scan_result_from_doc(&res, json_incref(doc));
			fw_scan_result_clear(&res);
		}
		json_decref(doc);
	}
	return 0;
}
