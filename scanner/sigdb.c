/* The signature databases of a directory as ClamAV would load them: their
 * .cvd/.cld headers (version, count, build time) and the age of the other
 * signature files, for reload events, the age warning and `fwgate status`.
 * Reads 512 bytes of a header and file times, never a database's body:
 * ClamAV's own load judges the rest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scanner/sigdb.h"

/* libclamav's CLI_DBEXT (readdb.h): the extensions cl_load takes from a
 * directory. */
static const char *const db_ext[] = {
	".db", ".db2", ".db3", ".hdb", ".hdu", ".fp", ".mdb", ".mdu", ".hsb", ".hsu", ".sfp", ".msb", ".msu",
	".ndb", ".ndu", ".ldb", ".ldu", ".sdb", ".zmd", ".rmd", ".pdb", ".gdb", ".wdb", ".cbc", ".ftm", ".cfg",
	".cvd", ".cld", ".cud", ".cdb", ".cat", ".crb", ".idb", ".ioc", ".yar", ".yara", ".pwdb", ".ign",
	".ign2", ".imp",
};

bool sigdb_name_loadable(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL || dot == name)
		return false;
	for (size_t i = 0; i < FW_ARRAY_LEN(db_ext); i++)
		if (strcmp(dot, db_ext[i]) == 0)
			return true;
	return false;
}

static bool is_cvd(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL && dot != name && (strcmp(dot, ".cvd") == 0 || strcmp(dot, ".cld") == 0);
}

/* A decimal field of at most max, nothing else in it. */
static int field_num(const char *f, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (f[i] < '0' || f[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(f[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(f[i] - '0');
	}
	*out = v;
	return 0;
}

int sigdb_header_parse(const uint8_t *p, size_t len, struct fw_sigdb *out, struct fw_err *err)
{
	static const char magic[] = "ClamAV-VDB:";
	const char *h = (const char *)p, *field[9];
	size_t flen[9], n = 0, end = SIGDB_HEADER_LEN, start = 0;
	uint64_t version, sigs, stime = 0;

	if (len < SIGDB_HEADER_LEN)
		return fw_err_set(err, "the database is shorter than its %u-byte header", SIGDB_HEADER_LEN);
	if (memcmp(h, magic, sizeof(magic) - 1) != 0)
		return fw_err_set(err, "not a ClamAV database (no ClamAV-VDB header)");
	/* The text is padded to 512 bytes with spaces. */
	while (end > 0 && (h[end - 1] == ' ' || h[end - 1] == '\0'))
		end--;
	for (size_t i = 0; i <= end && n < FW_ARRAY_LEN(field); i++) {
		if (i == end || h[i] == ':') {
			field[n] = h + start;
			flen[n++] = i - start;
			start = i + 1;
		} else if ((unsigned char)h[i] < 0x20 || (unsigned char)h[i] > 0x7e) {
			return fw_err_set(err, "the ClamAV database header holds a byte that is not printable text");
		}
	}
	/* Eight fields in every header; the build time (stime) came later. */
	if (n < 8)
		return fw_err_set(err, "the ClamAV database header has %zu fields, not 8 or 9", n);
	if (field_num(field[2], flen[2], UINT32_MAX, &version) != 0 || version == 0)
		return fw_err_set(err, "the ClamAV database header's version is not a number");
	if (field_num(field[3], flen[3], UINT32_MAX, &sigs) != 0)
		return fw_err_set(err, "the ClamAV database header's signature count is not a number");
	/* Up to the year 9999: a build time past it is garbage. */
	if (n == 9 && field_num(field[8], flen[8], 253402300799ull, &stime) != 0)
		return fw_err_set(err, "the ClamAV database header's build time is not a number");
	out->version = (uint32_t)version;
	out->signatures = (uint32_t)sigs;
	out->time = (int64_t)stime;
	return 0;
}

static int entry_new(struct fw_signature_info *si, enum fw_sigdb_kind kind, const char *name, size_t name_len,
		     const char *dir, struct fw_sigdb **out, struct fw_err *err)
{
	struct fw_sigdb *e;

	if (si->n_dbs >= FW_SIGDB_MAX)
		return fw_err_set(err, "more than %u signature databases are loaded: fwgate lists at most that many",
				  FW_SIGDB_MAX);
	if (name_len >= sizeof(e->name))
		return fw_err_set(err, "the signature database name \"%.*s\" is longer than %zu bytes", (int)name_len,
				  name, sizeof(e->name) - 1);
	e = &si->dbs[si->n_dbs];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	memcpy(e->name, name, name_len);
	if (snprintf(e->dir, sizeof(e->dir), "%s", dir) >= (int)sizeof(e->dir))
		return fw_err_set(err, "the signature directory path \"%s\" is too long", dir);
	e->files = kind == FW_SIGDB_LOCAL ? 0 : 1;
	si->n_dbs++;
	*out = e;
	return 0;
}

static int add_cvd(struct fw_signature_info *si, int dfd, const char *dir, const char *file, struct fw_err *err)
{
	uint8_t head[SIGDB_HEADER_LEN];
	struct fw_sigdb *e;
	struct stat st;
	ssize_t got = 0;
	int fd, rc = -1;

	fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open the signature database %s/%s", dir, file);
	if (fstat(fd, &st) != 0) {
		fw_err_sys(err, errno, "cannot read the signature database %s/%s", dir, file);
		goto out;
	}
	while ((size_t)got < sizeof(head)) {
		ssize_t r = pread(fd, head + got, sizeof(head) - (size_t)got, got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fw_err_sys(err, errno, "cannot read the signature database %s/%s", dir, file);
			goto out;
		}
		if (r == 0)
			break;
		got += r;
	}
	if (entry_new(si, FW_SIGDB_CVD, file, (size_t)(strrchr(file, '.') - file), dir, &e, err) != 0)
		goto out;
	if (sigdb_header_parse(head, (size_t)got, e, err) != 0) {
		si->n_dbs--;
		fw_err_prefix(err, "%s/%s", dir, file);
		goto out;
	}
	if (e->time == 0)
		e->time = (int64_t)st.st_mtime;
	rc = 0;
out:
	close(fd);
	return rc;
}

int sigdb_dir_add(struct fw_signature_info *si, const char *dir, struct fw_err *err)
{
	struct fw_sigdb *local = NULL;
	struct dirent *de;
	int rc = -1, dfd;
	DIR *d;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fw_err_sys(err, errno, "cannot open the signature directory \"%s\"", dir);
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return fw_err_sys(err, errno, "cannot read the signature directory \"%s\"", dir);
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (!sigdb_name_loadable(de->d_name))
			continue;
		if (is_cvd(de->d_name)) {
			if (add_cvd(si, dfd, dir, de->d_name, err) != 0)
				goto out;
			continue;
		}
		if (fstatat(dfd, de->d_name, &st, 0) != 0) {
			fw_err_sys(err, errno, "cannot read the signature file %s/%s", dir, de->d_name);
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (local == NULL && (entry_new(si, FW_SIGDB_LOCAL, "local", 5, dir, &local, err) != 0 || local == NULL))
			goto out;
		local->files++;
		if ((int64_t)st.st_mtime > local->time)
			local->time = (int64_t)st.st_mtime;
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}

int sigdb_add_bundled(struct fw_signature_info *si, struct fw_err *err)
{
	struct fw_sigdb *e;

	return entry_new(si, FW_SIGDB_BUNDLED, "bundled", 7, "", &e, err);
}

int64_t fw_signature_info_stalest(const struct fw_signature_info *si, unsigned *index)
{
	int64_t stalest = 0;
	unsigned n = si->n_dbs < FW_SIGDB_MAX ? si->n_dbs : FW_SIGDB_MAX;

	for (unsigned i = 0; i < n; i++) {
		const struct fw_sigdb *a = &si->dbs[i];
		unsigned newest = i;
		bool seen = false;

		if (a->kind == FW_SIGDB_BUNDLED || a->time <= 0)
			continue;
		/* Each directory once: at its first entry with a time. */
		for (unsigned j = 0; j < i && !seen; j++)
			seen = si->dbs[j].kind != FW_SIGDB_BUNDLED && si->dbs[j].time > 0 &&
			       strcmp(si->dbs[j].dir, a->dir) == 0;
		if (seen)
			continue;
		for (unsigned j = i + 1; j < n; j++)
			if (si->dbs[j].kind != FW_SIGDB_BUNDLED && strcmp(si->dbs[j].dir, a->dir) == 0 &&
			    si->dbs[j].time > si->dbs[newest].time)
				newest = j;
		if (stalest == 0 || si->dbs[newest].time < stalest) {
			stalest = si->dbs[newest].time;
			if (index != NULL)
				*index = newest;
		}
	}
	return stalest;
}

static const char *const kind_names[] = {
	[FW_SIGDB_CVD] = "cvd",
	[FW_SIGDB_LOCAL] = "local",
	[FW_SIGDB_BUNDLED] = "bundled",
};

json_t *fw_signature_info_json(const struct fw_signature_info *si, int64_t now)
{
	json_t *doc, *dbs = json_array();
	unsigned n = si->n_dbs < FW_SIGDB_MAX ? si->n_dbs : FW_SIGDB_MAX;

	doc = json_pack("{s:I, s:I, s:o}", "signatures", (json_int_t)si->signatures, "loaded_at",
			(json_int_t)si->loaded_at, "databases", dbs);
	for (unsigned i = 0; doc != NULL && i < n; i++) {
		const struct fw_sigdb *e = &si->dbs[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "kind", kind_names[e->kind], "name",
				      e->name, "dir", e->dir, "version", (json_int_t)e->version, "signatures",
				      (json_int_t)e->signatures, "files", (json_int_t)e->files, "time",
				      (json_int_t)e->time);

		if (o != NULL && now > 0 && e->time > 0 &&
		    json_object_set_new(o, "age_seconds", json_integer(now > e->time ? now - e->time : 0)) != 0) {
			json_decref(o);
			o = NULL;
		}
		if (o == NULL || json_array_append_new(dbs, o) != 0) {
			json_decref(doc);
			doc = NULL;
		}
	}
	return doc;
}

static int json_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int json_str(const json_t *o, const char *key, char *out, size_t len)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) >= len || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int sigdb_info_from_json(const json_t *doc, struct fw_signature_info *out, struct fw_err *err)
{
	const json_t *dbs = json_object_get(doc, "databases");
	uint64_t sigs, loaded;

	memset(out, 0, sizeof(*out));
	if (json_uint(doc, "signatures", UINT64_MAX >> 1, &sigs) != 0 ||
	    json_uint(doc, "loaded_at", INT64_MAX, &loaded) != 0 || !json_is_array(dbs) ||
	    json_array_size(dbs) > FW_SIGDB_MAX)
		return fw_err_set(err, "the scanner's list of signature databases does not validate");
	for (size_t i = 0; i < json_array_size(dbs); i++) {
		const json_t *o = json_array_get(dbs, i);
		struct fw_sigdb *e = &out->dbs[i];
		char kind[16];
		uint64_t version, count, files, t;
		bool known = false;

		if (json_str(o, "kind", kind, sizeof(kind)) != 0 || json_str(o, "name", e->name, sizeof(e->name)) != 0 ||
		    json_str(o, "dir", e->dir, sizeof(e->dir)) != 0 || json_uint(o, "version", UINT32_MAX, &version) != 0 ||
		    json_uint(o, "signatures", UINT32_MAX, &count) != 0 || json_uint(o, "files", UINT32_MAX, &files) != 0 ||
		    json_uint(o, "time", INT64_MAX, &t) != 0) {
			memset(out, 0, sizeof(*out));
			return fw_err_set(err, "signature database %zu of the scanner's list does not validate", i);
		}
		for (size_t k = 0; k < FW_ARRAY_LEN(kind_names) && !known; k++)
			if (strcmp(kind, kind_names[k]) == 0) {
				e->kind = (enum fw_sigdb_kind)k;
				known = true;
			}
		if (!known) {
			memset(out, 0, sizeof(*out));
			return fw_err_set(err, "signature database %zu of the scanner's list has no known kind", i);
		}
		e->version = (uint32_t)version;
		e->signatures = (uint32_t)count;
		e->files = (unsigned)files;
		e->time = (int64_t)t;
	}
	out->n_dbs = (unsigned)json_array_size(dbs);
	out->signatures = sigs;
	out->loaded_at = (int64_t)loaded;
	return 0;
}

/* "3 d", "5 h", "40 min", "12 s". */
static void age_words(int64_t s, char *out, size_t len)
{
	if (s >= 2 * 86400)
		snprintf(out, len, "%lld d", (long long)(s / 86400));
	else if (s >= 2 * 3600)
		snprintf(out, len, "%lld h", (long long)(s / 3600));
	else if (s >= 120)
		snprintf(out, len, "%lld min", (long long)(s / 60));
	else
		snprintf(out, len, "%lld s", (long long)(s > 0 ? s : 0));
}

const char *fw_signature_info_line(const struct fw_signature_info *si, int64_t now, char *out, size_t len)
{
	unsigned n = si->n_dbs < FW_SIGDB_MAX ? si->n_dbs : FW_SIGDB_MAX;
	size_t used = 0;

	if (len == 0)
		return out;
	out[0] = '\0';
	for (unsigned i = 0; i < n && used < len; i++) {
		const struct fw_sigdb *e = &si->dbs[i];
		char when[32] = "", age[32];
		struct tm tm;
		time_t t = (time_t)e->time;
		int w;

		age_words(now - e->time, age, sizeof(age));
		if (e->time > 0 && gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
		if (e->kind == FW_SIGDB_CVD)
			w = snprintf(out + used, len - used, "%s%s %u (%u signatures, built %s, %s old) in %s",
				     i ? "; " : "", e->name, e->version, e->signatures, when, age, e->dir);
		else if (e->kind == FW_SIGDB_LOCAL)
			w = snprintf(out + used, len - used, "%slocal: %u file%s (newest %s, %s old) in %s",
				     i ? "; " : "", e->files, e->files == 1 ? "" : "s", when, age, e->dir);
		else
			w = snprintf(out + used, len - used, "%sbundled", i ? "; " : "");
		if (w < 0)
			break;
		used += (size_t)w;
	}
	/* Cut: the line says so rather than end mid-word unmarked. */
	if (used >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
	return out;
}
