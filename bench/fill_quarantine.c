/* bench helper: fills a state directory's store with N quarantined
 * objects through the store's own commit (fw_store_commit: blob, object,
 * scan, URL), as a gateway that held N different downloads would have
 * left it, for bench/console.sh. Verdicts and hosts vary so that the
 * console's filters have something to filter. With --clean BYTES, N
 * approved objects of BYTES random 7-bit bytes each instead (as clean
 * downloads), for bench/bundle.sh.
 * Usage: fill_quarantine STATE_DIR N [--clean BYTES] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fwgate/config.h"
#include "fwgate/fileio.h"
#include "fwgate/store.h"

/* One approved object of size random 7-bit bytes. */
static int fill_clean(struct fw_store *st, const char *dir, unsigned i, uint64_t size, struct fw_err *err)
{
	char path[FW_PATH_MAX], url[256], sha[65];
	unsigned char md[32], buf[65536];
	unsigned int mdlen = 0;
	enum fw_object_state state;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t left = size;
	int64_t id;
	int fd, rc = -1;
	FILE *rnd = fopen("/dev/urandom", "rb");

	snprintf(path, sizeof(path), "%s/spool/bench-clean-%u", dir, i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ctx == NULL || rnd == NULL || fd < 0 || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fw_err_set(err, "cannot make %s", path);
		goto out;
	}
	while (left > 0) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		if (fread(buf, 1, n, rnd) != n) {
			fw_err_set(err, "cannot read /dev/urandom");
			goto out;
		}
		for (size_t k = 0; k < n; k++)
			buf[k] &= 0x7f;
		if (write(fd, buf, n) != (ssize_t)n || EVP_DigestUpdate(ctx, buf, n) != 1) {
			fw_err_set(err, "cannot write %s", path);
			goto out;
		}
		left -= n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		goto out;
	for (unsigned k = 0; k < 32; k++)
		snprintf(sha + 2 * k, 3, "%02x", md[k]);
	snprintf(url, sizeof(url), "https://vendor.example/fw/image-%u.bin", i);
	{
		const struct fw_store_commit c = { .url = url, .spool_fd = fd, .spool_path = path, .sha256 = sha,
						   .size = size, .verdict = FW_VERDICT_CLEAN, .reason = "",
						   .engine = "bench" };

		rc = fw_store_commit(st, &c, &state, &id, err);
	}
out:
	if (fd >= 0)
		close(fd);
	if (rnd != NULL)
		fclose(rnd);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int fill_one(struct fw_store *st, const char *dir, unsigned i, struct fw_err *err)
{
	static const enum fw_verdict verdicts[] = { FW_VERDICT_INFECTED, FW_VERDICT_SUSPICIOUS,
						    FW_VERDICT_UNSCANNABLE };
	char path[FW_PATH_MAX], url[256], body[128], sha[65], reason[128];
	unsigned char md[32];
	unsigned int mdlen = 0;
	enum fw_object_state state;
	int64_t id;
	int fd, n, rc;

	n = snprintf(body, sizeof(body), "fwgate bench object %u\n", i);
	if (EVP_Digest(body, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return fw_err_set(err, "sha-256 failed");
	for (unsigned k = 0; k < 32; k++)
		snprintf(sha + 2 * k, 3, "%02x", md[k]);
	snprintf(path, sizeof(path), "%s/spool/bench-%u", dir, i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, body, (size_t)n) != n)
		return fw_err_set(err, "cannot write %s", path);
	snprintf(url, sizeof(url), "https://vendor%u.example/fw/%u/package-%u.bin", i % 20, i / 100, i);
	snprintf(reason, sizeof(reason), "signature Bench.Sig.%u in package-%u.bin", i % 50, i);
	{
		const struct fw_store_commit c = { .url = url, .spool_fd = fd, .spool_path = path, .sha256 = sha,
						   .size = (uint64_t)n, .verdict = verdicts[i % 3], .reason = reason,
						   .engine = "bench" };

		rc = fw_store_commit(st, &c, &state, &id, err);
	}
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	struct fw_store *st = NULL;
	char spool[FW_PATH_MAX];
	struct fw_err err;
	unsigned n;

	uint64_t clean = 0;

	if ((argc != 3 && !(argc == 5 && strcmp(argv[3], "--clean") == 0)) ||
	    (n = (unsigned)strtoul(argv[2], NULL, 10)) == 0 ||
	    (argc == 5 && (clean = strtoull(argv[4], NULL, 10)) == 0)) {
		fprintf(stderr, "usage: fill_quarantine STATE_DIR N [--clean BYTES]\n");
		return 2;
	}
	fw_err_clear(&err);
	snprintf(spool, sizeof(spool), "%s/spool", argv[1]);
	if (fw_store_open(&st, argv[1], &err) != 0) {
		fprintf(stderr, "fill_quarantine: %s\n", fw_err_msg(&err));
		return 1;
	}
	(void)mkdir(spool, 0700);
	for (unsigned i = 0; i < n; i++)
		if ((clean > 0 ? fill_clean(st, argv[1], i, clean, &err) : fill_one(st, argv[1], i, &err)) != 0) {
			fprintf(stderr, "fill_quarantine: object %u: %s\n", i, fw_err_msg(&err));
			fw_store_close(st);
			return 1;
		}
	fw_store_close(st);
	return 0;
}
