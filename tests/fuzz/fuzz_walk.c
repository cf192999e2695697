/* libFuzzer target: the unpack walk (libarchive over every format fwgate
 * reads, the zip directory check, name escaping, limits) and libmagic
 * typing on arbitrary bytes, with a small ClamAV engine and YARA rules
 * that run the pe, elf, math and hash modules on every node. Properties: no
 * crash, no leak, and a verdict document that validates, where clean
 * carries no reason and anything else carries one. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fwgate/config.h"
#include "scanner/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	bool ready;
	char dir[256];
	struct fw_config cfg;
	struct scan_engine *eng;
	struct scan_typer *typer;
	struct clamq *queue;
	struct scan_walk_ctx ctx;
} fz;

static void fuzz_cleanup(void)
{
	clamq_free(fz.queue);
	scan_typer_free(fz.typer);
	scan_engine_free(fz.eng);
	if (fz.ctx.tmp_dir_fd >= 0)
		close(fz.ctx.tmp_dir_fd);
	rmdir(fz.dir);
}

static void fuzz_init(void)
{
	static const char sig[] = "Fuzz.Test:0:*:4649524d57415245\n"; /* "FIRMWARE" */
	static const char rules[] =
		"import \"pe\"\nimport \"elf\"\nimport \"math\"\nimport \"hash\"\n"
		"rule fz_pe { meta: verdict = \"suspicious\" condition: pe.is_pe and pe.number_of_sections > 2 }\n"
		"rule fz_elf { meta: score = 5 condition: elf.number_of_segments > 1 }\n"
		"rule fz_math : t1 t2 { meta: severity = \"low\" condition: math.entropy(0, filesize) > 7.5 }\n"
		"rule fz_hash { meta: verdict = \"malicious\" condition: hash.md5(0, 16) == \"00000000000000000000000000000000\" }\n"
		"rule fz_str { meta: score = 1 strings: $a = \"FIRM\" $b = { 4D 5A ?? 00 } condition: any of them }\n";
	const char *tmp = getenv("TMPDIR");
	char path[512], yar[512];
	struct fw_err err;
	FILE *f;

	fw_err_clear(&err);
	/* OpenSSL registers its atexit cleanup when it initializes: do that
	 * first, so that it runs after fuzz_cleanup (atexit is LIFO) and not
	 * before the queue's thread is joined, whichever thread hashes first. */
	if (OPENSSL_init_crypto(0, NULL) != 1)
		abort();
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	if (snprintf(fz.dir, sizeof(fz.dir), "%s/fwgate-fuzz-walk-XXXXXX", tmp) >= (int)sizeof(fz.dir) ||
	    mkdtemp(fz.dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/fuzz.ndb", fz.dir);
	f = fopen(path, "w");
	if (f == NULL || fputs(sig, f) < 0 || fclose(f) != 0)
		abort();
	snprintf(yar, sizeof(yar), "%s/fuzz.yar", fz.dir);
	f = fopen(yar, "w");
	if (f == NULL || fputs(rules, f) < 0 || fclose(f) != 0)
		abort();
	fw_config_default(&fz.cfg);
	snprintf(fz.cfg.scanner.signatures[0], sizeof(fz.cfg.scanner.signatures[0]), "%s", fz.dir);
	fz.cfg.scanner.n_signatures = 1;
	snprintf(fz.cfg.scanner.yara_rules[0], sizeof(fz.cfg.scanner.yara_rules[0]), "%s", yar);
	fz.cfg.scanner.n_yara_rules = 1;
	if (scan_engine_load(&fz.eng, &fz.cfg, fz.dir, &err) != 0 || scan_typer_new(&fz.typer, &err) != 0 ||
	    clamq_new(&fz.queue, fz.eng, 1, &err) != 0) {
		fprintf(stderr, "fuzz_walk: %s\n", fw_err_msg(&err));
		abort();
	}
	unlink(path);
	unlink(yar);
	fz.ctx.typer = fz.typer;
	fz.ctx.queue = fz.queue;
	fz.ctx.tmp_dir_fd = open(fz.dir, O_RDONLY | O_DIRECTORY);
	fz.ctx.samples_dir_fd = -1;
	scan_limits_from_config(&fz.ctx.limits, &fz.cfg);
	/* Small limits, so that bombs the mutations make stay cheap. */
	fz.ctx.limits.max_members = 2000;
	fz.ctx.limits.max_total_bytes = 64u * 1024 * 1024;
	fz.ctx.limits.max_member_bytes = 16u * 1024 * 1024;
	fz.ctx.limits.max_seconds = 10;
	atexit(fuzz_cleanup);
	fz.ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fw_scan_result res = { 0 };
	json_t *doc;
	int fd;

	if (!fz.ready)
		fuzz_init();
	fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	doc = scan_walk(&fz.ctx, fd, "input.bin", NULL, NULL);
	close(fd);
	if (doc == NULL)
		abort();
	scan_result_from_doc(&res, doc);
	if (res.doc == NULL)
		abort(); /* the walk made a document that does not validate */
	if ((res.verdict == FW_VERDICT_CLEAN) != (res.reason[0] == '\0'))
		abort();
	fw_scan_result_clear(&res);
	return 0;
}
