/* Unit tests for scanner/: member-name escaping, file types, the wire
 * format (round trip with a descriptor, and every refusal before a payload
 * byte is read), verdict documents (worst wins, fail closed on garbage),
 * and the unpack walk under each limit, in process, with a real ClamAV
 * engine and archives written by libarchive. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "fwgate/config.h"
#include "fwgate/policy.h"
#include "fwgate/scanner.h"
#include "scanner/scan_int.h"
#include "testutil.h"

static const char eicar[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/* ------------------------------------------------------------ names, types */

static void test_name_escape(void **state)
{
	char out[1100], longname[600];

	(void)state;
	scan_name_escape("fw/bios.bin", out, sizeof(out));
	assert_string_equal(out, "fw/bios.bin");
	scan_name_escape("a!b\\c", out, sizeof(out));
	assert_string_equal(out, "a\\x21b\\x5cc");
	scan_name_escape("evil\r\n\x1b[31m\x7f", out, sizeof(out));
	assert_string_equal(out, "evil\\x0d\\x0a\\x1b[31m\\x7f");
	scan_name_escape("caf\xc3\xa9 \xff\xc3(", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \\xff\\xc3(");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	scan_name_escape(longname, out, sizeof(out));
	assert_int_equal(strlen(out), 255 + 3);
	assert_string_equal(out + 255, "...");
}

static void test_file_types(void **state)
{
	(void)state;
	assert_string_equal(scan_file_type("application/x-fwgate-firmware-uefi-capsule"), "firmware_image");
	assert_string_equal(scan_file_type("application/x-dosexec"), "pe");
	assert_string_equal(scan_file_type("application/zip"), "archive");
	assert_string_equal(scan_file_type("application/x-7z-compressed"), "archive");
	assert_string_equal(scan_file_type("text/plain"), "other");
	assert_true(scan_mime_is_archive("application/gzip"));
	assert_false(scan_mime_is_archive("application/pdf"));
}

/* ------------------------------------------------------------ wire */

static void test_wire_round_trip(void **state)
{
	struct scan_msg m;
	struct fw_err err;
	int sv[2], pfd[2];
	char buf[8] = "";

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(scan_wire_send(sv[0], SCAN_MSG_RESULT, "{\"a\":1}", 7, &pfd[0], 1, 1000, &err), 0);
	assert_int_equal(scan_wire_recv(sv[1], &m, SCAN_WIRE_MAX, 1000, &err), 0);
	assert_int_equal(m.type, SCAN_MSG_RESULT);
	assert_int_equal(m.len, 7);
	assert_string_equal(m.payload, "{\"a\":1}");
	assert_int_equal(m.n_fds, 1);
	/* The descriptor received is the pipe's read end. */
	assert_int_equal(write(pfd[1], "hi", 2), 2);
	assert_int_equal(read(m.fds[0], buf, 2), 2);
	assert_memory_equal(buf, "hi", 2);
	scan_msg_release(&m);
	/* A clean end of stream: -1 with no sentence. */
	close(sv[0]);
	fw_err_clear(&err);
	assert_int_equal(scan_wire_recv(sv[1], &m, SCAN_WIRE_MAX, 1000, &err), -1);
	assert_false(fw_err_isset(&err));
	close(sv[1]);
	close(pfd[0]);
	close(pfd[1]);
}

static void recv_refused(const void *bytes, size_t len, const char *want)
{
	struct scan_msg m;
	struct fw_err err;
	int sv[2];

	fw_err_clear(&err);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], bytes, len), (ssize_t)len);
	close(sv[0]);
	assert_int_equal(scan_wire_recv(sv[1], &m, SCAN_WIRE_MAX, 1000, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), want));
	close(sv[1]);
}

static void test_wire_refusals(void **state)
{
	uint32_t h[3];

	(void)state;
	/* Wrong magic. */
	h[0] = 0x12345678u;
	h[1] = SCAN_WIRE_VERSION | ((uint32_t)SCAN_MSG_RESULT << 16);
	h[2] = 4;
	recv_refused(h, sizeof(h), "bad header");
	/* Unknown type. */
	h[0] = SCAN_WIRE_MAGIC;
	h[1] = SCAN_WIRE_VERSION | (99u << 16);
	recv_refused(h, sizeof(h), "bad header");
	/* Over the maximum: refused before any payload is read or allocated. */
	h[1] = SCAN_WIRE_VERSION | ((uint32_t)SCAN_MSG_RESULT << 16);
	h[2] = SCAN_WIRE_MAX + 1;
	recv_refused(h, sizeof(h), "bad header");
	/* Over the receiver's own bound (a client takes at most
	 * SCAN_RESULT_MAX): refused before any payload is read. */
	{
		struct scan_msg m;
		struct fw_err err;
		int sv[2];

		h[2] = SCAN_RESULT_MAX + 100;
		fw_err_clear(&err);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(write(sv[0], h, sizeof(h)), (ssize_t)sizeof(h));
		assert_int_equal(scan_wire_recv(sv[1], &m, SCAN_RESULT_MAX, 1000, &err), -1);
		assert_non_null(strstr(fw_err_msg(&err), "bad header"));
		close(sv[0]);
		close(sv[1]);
	}
	/* Truncated payload. */
	h[2] = 100;
	recv_refused(h, sizeof(h), "in the middle of a message");
	/* Truncated header. */
	recv_refused(h, 5, "in the middle of a message");
}

static void test_wire_send_bounds(void **state)
{
	struct fw_err err;
	int sv[2], fds[SCAN_WIRE_MAX_FDS + 1] = { 0 };

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(scan_wire_send(sv[0], SCAN_MSG_RESULT, "x", 1, fds, SCAN_WIRE_MAX_FDS + 1, 1000, &err), -1);
	close(sv[0]);
	close(sv[1]);
}

/* ------------------------------------------------------------ documents */

static void test_result_from_doc(void **state)
{
	struct fw_scan_result res = { 0 };

	(void)state;
	scan_result_from_doc(&res, json_pack("{s:s, s:[], s:[], s:[]}", "verdict", "clean", "reasons", "signatures",
					     "members"));
	assert_int_equal(res.verdict, FW_VERDICT_CLEAN);
	assert_non_null(res.doc);
	scan_result_from_doc(&res, json_pack("{s:s, s:[s], s:[{s:s, s:s, s:s}], s:[]}", "verdict", "infected",
					     "reasons", "signature X in a.zip!b", "signatures", "name", "X", "member",
					     "a.zip!b", "member_sha256", "ab", "members"));
	assert_int_equal(res.verdict, FW_VERDICT_INFECTED);
	assert_string_equal(res.signature, "X");
	assert_string_equal(res.member, "a.zip!b");
	assert_string_equal(res.reason, "signature X in a.zip!b");
	/* Garbage fails closed. */
	scan_result_from_doc(&res, json_pack("{s:s}", "verdict", "clean"));
	assert_int_equal(res.verdict, FW_VERDICT_UNSCANNABLE);
	assert_null(res.doc);
	scan_result_from_doc(&res, json_pack("{s:s, s:[], s:[], s:[]}", "verdict", "approved", "reasons",
					     "signatures", "members"));
	assert_int_equal(res.verdict, FW_VERDICT_UNSCANNABLE);
	scan_result_from_doc(&res, json_pack("[]"));
	assert_int_equal(res.verdict, FW_VERDICT_UNSCANNABLE);
	/* A verdict other than clean without its reason. */
	scan_result_from_doc(&res, json_pack("{s:s, s:[], s:[], s:[]}", "verdict", "infected", "reasons",
					     "signatures", "members"));
	assert_int_equal(res.verdict, FW_VERDICT_UNSCANNABLE);
	assert_non_null(strstr(res.reason, "without a reason"));
	fw_scan_result_clear(&res);
}

static void test_report_worst_wins(void **state)
{
	struct scan_report r;
	json_t *m, *doc;

	(void)state;
	assert_int_equal(scan_report_init(&r, "pkg.zip"), 0);
	m = scan_report_member(&r, "pkg.zip!a", 1, 3, "00", "text/plain", "other");
	assert_non_null(m);
	scan_report_add(&r, m, FW_VERDICT_SUSPICIOUS, "first");
	scan_report_signature(&r, m, "Sig", "pkg.zip!a", "00");
	scan_report_add(&r, m, FW_VERDICT_UNSCANNABLE, "later");
	doc = scan_report_take(&r);
	assert_string_equal(json_string_value(json_object_get(doc, "verdict")), "infected");
	assert_string_equal(json_string_value(json_object_get(m, "verdict")), "infected");
	assert_int_equal(json_array_size(json_object_get(doc, "reasons")), 3);
	assert_int_equal(json_integer_value(json_object_get(doc, "members_total")), 1);
	json_decref(doc);
	scan_report_release(&r);
}

/* ------------------------------------------------------------ walk */

struct walk_fixture {
	char dir[512];
	struct fw_config cfg;
	struct scan_engine *eng;
	struct scan_typer *typer;
	struct clamq *queue;
	struct scan_walk_ctx ctx;
};

static int walk_setup(void **state)
{
	struct walk_fixture *f = calloc(1, sizeof(*f));
	char sig[256], path[1024];
	struct fw_err err;
	size_t n = 0;

	assert_non_null(f);
	fw_err_clear(&err);
	assert_non_null(f);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	n = (size_t)snprintf(sig, sizeof(sig), "Unit.Test.EICAR:0:*:");
	for (size_t i = 0; eicar[i] != '\0'; i++)
		n += (size_t)snprintf(sig + n, sizeof(sig) - n, "%02x", (unsigned char)eicar[i]);
	n += (size_t)snprintf(sig + n, sizeof(sig) - n, "\n");
	tu_write(f->dir, "unit.ndb", sig, n, path, sizeof(path));
	fw_config_default(&f->cfg);
	snprintf(f->cfg.scanner.signatures[0], sizeof(f->cfg.scanner.signatures[0]), "%s", f->dir);
	f->cfg.scanner.n_signatures = 1;
	assert_int_equal(scan_engine_load(&f->eng, &f->cfg, f->dir, &err), 0);
	assert_int_equal(f->eng->signatures, 1);
	assert_int_equal(scan_typer_new(&f->typer, &err), 0);
	assert_int_equal(clamq_new(&f->queue, f->eng, 2, &err), 0);
	f->ctx.typer = f->typer;
	f->ctx.queue = f->queue;
	f->ctx.tmp_dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->ctx.tmp_dir_fd >= 0);
	f->ctx.samples_dir_fd = -1;
	scan_limits_from_config(&f->ctx.limits, &f->cfg);
	*state = f;
	return 0;
}

static int walk_teardown(void **state)
{
	struct walk_fixture *f = *state;

	clamq_free(f->queue);
	scan_typer_free(f->typer);
	scan_engine_free(f->eng);
	close(f->ctx.tmp_dir_fd);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

struct member {
	const char *name;
	const void *data;
	size_t len;
	mode_t type;          /* 0 = regular file */
	const char *link;     /* symlink target */
};

/* Writes an archive of the given format and filter into memory. */
static size_t make_archive(int format, int filter, const struct member *m, size_t n, void *out, size_t cap)
{
	struct archive *a = archive_write_new();
	size_t used = 0;

	assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_filetype(e, m[i].type ? m[i].type : AE_IFREG);
		archive_entry_set_perm(e, 0644);
		if (m[i].link != NULL)
			archive_entry_set_symlink(e, m[i].link);
		archive_entry_set_size(e, (la_int64_t)m[i].len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (m[i].len > 0)
			assert_int_equal(archive_write_data(a, m[i].data, m[i].len), (la_ssize_t)m[i].len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return used;
}

/* Walks bytes as a package named name; returns the document. */
static json_t *walk_bytes(struct walk_fixture *f, const char *name, const void *p, size_t len)
{
	char path[1024];
	json_t *doc;
	int fd;

	tu_write(f->dir, "pkg", p, len, path, sizeof(path));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	doc = scan_walk(&f->ctx, fd, name, NULL, NULL);
	close(fd);
	unlink(path);
	assert_non_null(doc);
	return doc;
}

static const char *verdict_of(json_t *doc)
{
	return json_string_value(json_object_get(doc, "verdict"));
}

/* True when some reason contains want. */
static bool has_reason(json_t *doc, const char *want)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(doc, "reasons"), i, v)
		if (strstr(json_string_value(v), want) != NULL)
			return true;
	return false;
}

/* ------------------------------------------------------------ streams */

/* A download as the gateway makes it: bytes appended in chunks with a
 * poke on the pipe after each, a pause between chunks, the pipe closed at
 * the end (after upto bytes: fewer than the whole for a cut download). */
struct trickle {
	int fd, pipe_w;
	const unsigned char *data;
	size_t upto, chunk;
};

static void *trickle_main(void *arg)
{
	struct trickle *t = arg;
	const struct timespec pause = { .tv_nsec = 2 * 1000 * 1000 };

	for (size_t off = 0; off < t->upto; off += t->chunk) {
		size_t n = t->upto - off < t->chunk ? t->upto - off : t->chunk;

		assert_int_equal(write(t->fd, t->data + off, n), (ssize_t)n);
		assert_int_equal(write(t->pipe_w, "x", 1), 1);
		nanosleep(&pause, NULL);
	}
	close(t->pipe_w);
	return NULL;
}

/* Walks data as a download of len bytes that arrives while the walk runs;
 * only upto bytes ever come. */
static json_t *walk_stream(struct walk_fixture *f, const char *name, const void *data, size_t len, size_t upto)
{
	char path[1024];
	struct trickle t = { .data = data, .upto = upto, .chunk = len / 40 + 1 };
	struct scan_stream_src src = { .length = len, .wait_seconds = 30 };
	int p[2], ro;
	pthread_t th;
	json_t *doc;

	tu_write(f->dir, "dl", "", 0, path, sizeof(path));
	t.fd = open(path, O_WRONLY | O_APPEND);
	ro = open(path, O_RDONLY);
	assert_true(t.fd >= 0 && ro >= 0);
	assert_int_equal(pipe(p), 0);
	t.pipe_w = p[1];
	src.progress = p[0];
	f->ctx.eng = f->eng;
	assert_int_equal(pthread_create(&th, NULL, trickle_main, &t), 0);
	doc = scan_walk(&f->ctx, ro, name, NULL, &src);
	pthread_join(th, NULL);
	close(p[0]);
	close(ro);
	close(t.fd);
	unlink(path);
	assert_non_null(doc);
	return doc;
}

static void test_walk_stream(void **state)
{
	struct walk_fixture *f = *state;
	size_t len = 3u * 1024 * 1024;
	unsigned char *big = malloc(len), zbuf[64 * 1024];
	struct member m[] = { { "fw/tool.bin", eicar, strlen(eicar), 0, NULL } };
	size_t zlen;
	json_t *doc, *sig;

	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (unsigned char)((i * 2654435761u) >> 13) & 0x7f;
	/* A clean leaf: judged when every byte is in, its size the whole. */
	doc = walk_stream(f, "clean.bin", big, len, len);
	assert_string_equal(verdict_of(doc), "clean");
	assert_int_equal(json_integer_value(json_object_get(doc, "size")), (json_int_t)len);
	json_decref(doc);
	/* EICAR in the last bytes, which arrive last: infected, the root's
	 * signature without a hash (the client fills in the download's). */
	memcpy(big + len - strlen(eicar), eicar, strlen(eicar));
	doc = walk_stream(f, "late.bin", big, len, len);
	assert_string_equal(verdict_of(doc), "infected");
	sig = json_array_get(json_object_get(doc, "signatures"), 0);
	assert_true(strncmp(json_string_value(json_object_get(sig, "name")), "Unit.Test.EICAR", 15) == 0);
	assert_string_equal(json_string_value(json_object_get(sig, "member_sha256")), "");
	json_decref(doc);
	/* A container streamed: its members are fwgate's to unpack, and
	 * EICAR in one is found and named by its chain. */
	zlen = make_archive(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, m, 1, zbuf, sizeof(zbuf));
	doc = walk_stream(f, "pkg.zip", zbuf, zlen, zlen);
	assert_string_equal(verdict_of(doc), "infected");
	sig = json_array_get(json_object_get(doc, "signatures"), 0);
	assert_string_equal(json_string_value(json_object_get(sig, "member")), "pkg.zip!fw/tool.bin");
	json_decref(doc);
	/* Cut short: never judged on part of the bytes. */
	doc = walk_stream(f, "cut.bin", big, len, len / 2);
	assert_string_equal(verdict_of(doc), "unscannable");
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(doc, "reasons"), 0)),
			       "the download ended at"));
	json_decref(doc);
	free(big);
}

static void test_walk_clean_and_infected(void **state)
{
	struct walk_fixture *f = *state;
	static unsigned char buf[1 << 20], inner[1 << 16];
	const struct member clean[] = { { "fw/bios.bin", "firmware bytes", 14, 0, NULL } };
	struct member nested[2];
	size_t n, ni;
	json_t *doc;

	n = make_archive(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, clean, 1, buf, sizeof(buf));
	doc = walk_bytes(f, "/some/dir/pkg.zip", buf, n);
	assert_string_equal(verdict_of(doc), "clean");
	assert_string_equal(json_string_value(json_object_get(doc, "file_type")), "archive");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "members"), 0),
							       "path")), "pkg.zip!fw/bios.bin");
	json_decref(doc);

	/* EICAR in a zip inside a tar.gz: the chain names both levels. */
	nested[0] = (struct member){ "eicar.com", eicar, strlen(eicar), 0, NULL };
	ni = make_archive(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, nested, 1, inner, sizeof(inner));
	nested[0] = (struct member){ "readme.txt", "hello", 5, 0, NULL };
	nested[1] = (struct member){ "inner.zip", inner, ni, 0, NULL };
	n = make_archive(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_GZIP, nested, 2, buf, sizeof(buf));
	doc = walk_bytes(f, "pkg.tar.gz", buf, n);
	assert_string_equal(verdict_of(doc), "infected");
	assert_true(has_reason(doc, "signature Unit.Test.EICAR"));
	assert_true(has_reason(doc, "in pkg.tar.gz!inner.zip!eicar.com"));
	json_decref(doc);
}

static unsigned count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Members of the types the sandbox judges are listed in sandbox[] (the
 * package too) and kept as samples named by their hash (not the package:
 * its caller keeps it); other types are not. */
static void test_walk_sandbox_samples(void **state)
{
	struct walk_fixture *f = *state;
	static unsigned char buf[1 << 16], inner[1 << 14];
	const struct member in[] = { { "fw.bin", "firmware bytes", 14, 0, NULL } };
	struct member outer[2];
	char sdir[1024], sample[1200];
	const char *sha;
	json_t *doc, *sb;
	struct stat st;
	size_t n, ni;

	snprintf(sdir, sizeof(sdir), "%s/samples", f->dir);
	assert_int_equal(mkdir(sdir, 0700), 0);
	f->ctx.samples_dir_fd = open(sdir, O_RDONLY | O_DIRECTORY);
	assert_true(f->ctx.samples_dir_fd >= 0);
	f->ctx.sandbox_types = 1u << FW_FT_ARCHIVE;
	ni = make_archive(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, in, 1, inner, sizeof(inner));
	outer[0] = (struct member){ "readme.txt", "hello", 5, 0, NULL };
	outer[1] = (struct member){ "inner.zip", inner, ni, 0, NULL };
	n = make_archive(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE, outer, 2, buf, sizeof(buf));
	doc = walk_bytes(f, "pkg.tar", buf, n);
	assert_string_equal(verdict_of(doc), "clean");
	sb = json_object_get(doc, "sandbox");
	assert_int_equal(json_array_size(sb), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sb, 0), "path")), "pkg.tar");
	assert_string_equal(json_string_value(json_object_get(json_array_get(sb, 1), "path")), "pkg.tar!inner.zip");
	assert_string_equal(json_string_value(json_object_get(json_array_get(sb, 1), "file_type")), "archive");
	sha = json_string_value(json_object_get(json_array_get(sb, 1), "sha256"));
	snprintf(sample, sizeof(sample), "%s/%s", sdir, sha);
	assert_int_equal(stat(sample, &st), 0);
	assert_int_equal((size_t)st.st_size, ni);
	/* Only that one: the root is not copied, readme and fw.bin are other. */
	assert_int_equal(count_entries(sdir), 1);
	json_decref(doc);
	/* No types asked for: nothing listed. */
	f->ctx.sandbox_types = 0;
	doc = walk_bytes(f, "pkg.tar", buf, n);
	assert_int_equal(json_array_size(json_object_get(doc, "sandbox")), 0);
	json_decref(doc);
	close(f->ctx.samples_dir_fd);
	f->ctx.samples_dir_fd = -1;
	unlink(sample);
	rmdir(sdir);
}

static void test_walk_limits(void **state)
{
	struct walk_fixture *f = *state;
	static unsigned char buf[1 << 20], zeros[4 << 20], mid[1 << 20];
	static struct member many[50];
	struct member m[1];
	size_t n;
	json_t *doc;

	/* Expansion ratio: 4 MiB of zeros in a few KiB. */
	m[0] = (struct member){ "zeros.bin", zeros, sizeof(zeros), 0, NULL };
	n = make_archive(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, m, 1, buf, sizeof(buf));
	f->ctx.limits.max_ratio = 100;
	doc = walk_bytes(f, "bomb.zip", buf, n);
	assert_string_equal(verdict_of(doc), "unscannable");
	assert_true(has_reason(doc, "exceeds 1:100 at bomb.zip!zeros.bin"));
	json_decref(doc);
	scan_limits_from_config(&f->ctx.limits, &f->cfg);

	/* Member size and total bytes. */
	f->ctx.limits.max_member_bytes = 1024 * 1024;
	doc = walk_bytes(f, "big.zip", buf, n);
	assert_true(has_reason(doc, "member size exceeds the limit of 1048576 bytes at big.zip!zeros.bin"));
	json_decref(doc);
	scan_limits_from_config(&f->ctx.limits, &f->cfg);
	f->ctx.limits.max_total_bytes = 2 * 1024 * 1024;
	doc = walk_bytes(f, "big.zip", buf, n);
	assert_true(has_reason(doc, "unpacked bytes exceed the limit of 2097152 at big.zip!zeros.bin"));
	json_decref(doc);
	scan_limits_from_config(&f->ctx.limits, &f->cfg);

	/* Member count. */
	for (size_t i = 0; i < FW_ARRAY_LEN(many); i++)
		many[i] = (struct member){ "empty", "", 0, 0, NULL };
	n = make_archive(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE, many, FW_ARRAY_LEN(many), buf,
			 sizeof(buf));
	f->ctx.limits.max_members = 49;
	doc = walk_bytes(f, "many.tar", buf, n);
	assert_string_equal(verdict_of(doc), "unscannable");
	assert_true(has_reason(doc, "member count exceeds the limit of 49 at many.tar"));
	json_decref(doc);
	f->ctx.limits.max_members = 50;
	doc = walk_bytes(f, "many.tar", buf, n);
	assert_string_equal(verdict_of(doc), "clean");
	json_decref(doc);
	scan_limits_from_config(&f->ctx.limits, &f->cfg);

	/* Depth: a tar in a tar with max_depth 1. */
	m[0] = (struct member){ "x.bin", "x", 1, 0, NULL };
	n = make_archive(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE, m, 1, mid, sizeof(mid));
	m[0] = (struct member){ "inner.tar", mid, n, 0, NULL };
	n = make_archive(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE, m, 1, buf, sizeof(buf));
	f->ctx.limits.max_depth = 1;
	doc = walk_bytes(f, "outer.tar", buf, n);
	assert_string_equal(verdict_of(doc), "unscannable");
	assert_true(has_reason(doc, "nesting depth 2 exceeds the limit of 1 at outer.tar!inner.tar"));
	json_decref(doc);
	scan_limits_from_config(&f->ctx.limits, &f->cfg);

	/* Wall time: a deadline already past. */
	f->ctx.limits.max_seconds = 0;
	doc = walk_bytes(f, "outer.tar", buf, n);
	assert_true(has_reason(doc, "inspection time exceeds the limit of 0 s"));
	json_decref(doc);
	scan_limits_from_config(&f->ctx.limits, &f->cfg);
}

static void test_walk_hostile_names_and_corruption(void **state)
{
	struct walk_fixture *f = *state;
	static unsigned char buf[1 << 20];
	const struct member bad[] = {
		{ "../../etc/cron.d/x", "a", 1, 0, NULL },
		{ "/etc/passwd", "b", 1, 0, NULL },
		{ "dir/link", NULL, 0, AE_IFLNK, "../../../root/.ssh" },
		{ "dir/ok-link", NULL, 0, AE_IFLNK, "../fw.bin" },
	};
	static unsigned char noise[64 * 1024];
	const struct member good[] = {
		{ "a.bin", noise, sizeof(noise), 0, NULL },
		{ "b.bin", noise, sizeof(noise) / 2, 0, NULL },
	};
	size_t n;
	json_t *doc;

	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char)(i * 7919u >> 3);
	n = make_archive(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE, bad, FW_ARRAY_LEN(bad), buf,
			 sizeof(buf));
	doc = walk_bytes(f, "evil.tar", buf, n);
	assert_string_equal(verdict_of(doc), "suspicious");
	assert_true(has_reason(doc, "unsafe member name at evil.tar!../../etc/cron.d/x: path traversal"));
	assert_true(has_reason(doc, "unsafe member name at evil.tar!/etc/passwd: absolute path"));
	assert_true(has_reason(doc, "unsafe link at evil.tar!dir/link"));
	assert_false(has_reason(doc, "dir/ok-link"));
	json_decref(doc);

	/* A truncated zip is never a clean leaf, even when only its central
	 * directory is cut. */
	n = make_archive(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, bad, 2, buf, sizeof(buf));
	doc = walk_bytes(f, "cutdir.zip", buf, n - 30);
	assert_string_equal(verdict_of(doc), "unscannable");
	assert_true(has_reason(doc, "corrupt or truncated archive at cutdir.zip"));
	json_decref(doc);
	n = make_archive(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, good, FW_ARRAY_LEN(good), buf, sizeof(buf));
	doc = walk_bytes(f, "cut.zip", buf, n / 2);
	if (strcmp(verdict_of(doc), "unscannable") != 0)
		json_dumpf(doc, stderr, JSON_INDENT(1));
	assert_string_equal(verdict_of(doc), "unscannable");
	assert_true(has_reason(doc, "corrupt or truncated archive at cut.zip"));
	json_decref(doc);

	/* An empty file is clean; a plain file is a leaf. */
	doc = walk_bytes(f, "empty.bin", "", 0);
	assert_string_equal(verdict_of(doc), "clean");
	json_decref(doc);
	doc = walk_bytes(f, "eicar.com", eicar, strlen(eicar));
	assert_string_equal(verdict_of(doc), "infected");
	assert_true(has_reason(doc, "signature Unit.Test.EICAR"));
	json_decref(doc);
}

/* Landlock in a child (irreversible): the state directory's secrets are
 * out of reach, the scanner's temporary directory works. */
static void test_landlock(void **state)
{
	char dir[512];
	pid_t pid;
	int st = 0;

	(void)state;
	if (scan_landlock_abi() < 1) {
		skip();
		return;
	}
	tu_mkdtemp(dir, sizeof(dir));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fw_err err;
		int tmp = open(dir, O_RDONLY | O_DIRECTORY), fd;

		fw_err_clear(&err);
		if (tmp < 0 || scan_landlock_enter(tmp, -1, &err) != 0)
			_exit(10);
		if (open("/etc/passwd", O_RDONLY) >= 0 || errno != EACCES)
			_exit(11);
		if (open("/", O_RDONLY | O_DIRECTORY) >= 0)
			_exit(12);
		fd = openat(tmp, ".", O_TMPFILE | O_RDWR, 0600);
		if (fd < 0 || write(fd, "x", 1) != 1)
			_exit(13);
		fd = openat(tmp, "named", O_CREAT | O_RDWR, 0600);
		if (fd < 0 || unlinkat(tmp, "named", 0) != 0)
			_exit(14);
		if (open("/usr/lib/os-release", O_RDONLY) < 0 && errno == EACCES)
			_exit(15);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_escape),
		cmocka_unit_test(test_file_types),
		cmocka_unit_test(test_wire_round_trip),
		cmocka_unit_test(test_wire_refusals),
		cmocka_unit_test(test_wire_send_bounds),
		cmocka_unit_test(test_result_from_doc),
		cmocka_unit_test(test_report_worst_wins),
		cmocka_unit_test(test_landlock),
		cmocka_unit_test_setup_teardown(test_walk_clean_and_infected, walk_setup, walk_teardown),
		cmocka_unit_test_setup_teardown(test_walk_stream, walk_setup, walk_teardown),
		cmocka_unit_test_setup_teardown(test_walk_limits, walk_setup, walk_teardown),
		cmocka_unit_test_setup_teardown(test_walk_sandbox_samples, walk_setup, walk_teardown),
		cmocka_unit_test_setup_teardown(test_walk_hostile_names_and_corruption, walk_setup, walk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
