/* Import of URL category lists into fwgate.db: UT1 directories, hosts
 * files and plain lists, each import one transaction. Reads operator-
 * supplied files as hostile input: bounded lines, files and entry counts,
 * every malformed line reported and skipped. Must not decide anything. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "allowlist/categories.h"
#include "allowlist/host.h"
#include "fwgate/allowlist.h"
#include "fwgate/fileio.h"

/* Bounds on what one import reads. UT1's largest list (adult/domains) is
 * about 5 million lines and 100 MB. */
#define IMPORT_LINE_MAX 4096
#define IMPORT_CHUNK (64u * 1024u)
#define IMPORT_FILE_MAX_BYTES (2ull * 1024u * 1024u * 1024u)
#define IMPORT_ENTRIES_MAX 50000000ull
#define IMPORT_DIR_ENTRIES_MAX 4096u

enum imp_kind {
	IMP_DOMAINS, /* one name per line: list format, UT1 domains */
	IMP_URLS,    /* one host/path per line: UT1 urls */
	IMP_HOSTS,   /* ADDRESS NAME...: hosts format */
};

struct imp {
	sqlite3 *db;
	sqlite3_stmt *ins_domain;
	sqlite3_stmt *ins_url;
	const char *category; /* the one being imported */
	fw_cat_skip_fn skip;
	void *skip_ctx;
	struct fw_cat_import_stats *stats;
	uint64_t entries;
	struct fw_err *err;
};

static int imp_skip(struct imp *im, const char *file, uint64_t line, const char *why)
{
	im->stats->skipped++;
	if (im->skip != NULL)
		im->skip(im->skip_ctx, file, line, why);
	return 0;
}

/* Skips a line because of one of its names. */
static int imp_skip_name(struct imp *im, const char *file, uint64_t line, const char *s, size_t n,
			 const char *why)
{
	char shown[96], msg[384];

	allow_display(shown, sizeof(shown), s, n);
	snprintf(msg, sizeof(msg), "\"%s\" %s", shown, why);
	return imp_skip(im, file, line, msg);
}

static int imp_insert(struct imp *im, sqlite3_stmt *st, const char *key, uint64_t *counter)
{
	int rc = 0;

	if (++im->entries > IMPORT_ENTRIES_MAX)
		return fw_err_set(im->err, "more than %llu entries in one import: split the import",
				  IMPORT_ENTRIES_MAX);
	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, im->category, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		rc = fw_err_set(im->err, "cannot write the category database: %s", sqlite3_errmsg(im->db));
	else if (sqlite3_changes(im->db) > 0) /* not a row already there */
		(*counter)++;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One name of a domains line or a hosts line: 1 valid (name set), 0 skipped, -1 fatal. */
static int imp_name(struct imp *im, const char *file, uint64_t ln, const char *s, size_t n, char *name,
		    size_t name_len)
{
	const char *why;

	if (fw_host_is_ip(s, n))
		return imp_skip_name(im, file, ln, s, n,
				     "is an IP address, not a name (a CONNECT to an IP address is refused anyway)");
	if (fw_host_check(s, n, name, name_len, &why) != 0)
		return imp_skip_name(im, file, ln, s, n, why);
	return 1;
}

static int imp_domain_line(struct imp *im, const char *file, uint64_t ln, const char *s, size_t n)
{
	char name[FW_HOST_MAX];
	int r;

	for (size_t i = 0; i < n; i++)
		if (is_space(s[i]))
			return imp_skip(im, file, ln, "more than one field: one name per line");
	/* "*.example" and ".example" in a blocklist mean the domain and below,
	 * which is what a listed name already means here. */
	if (n > 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		n -= 2;
	} else if (n > 1 && s[0] == '.') {
		s++;
		n--;
	}
	r = imp_name(im, file, ln, s, n, name, sizeof(name));
	return r == 1 ? imp_insert(im, im->ins_domain, name, &im->stats->domains) : r;
}

static int imp_url_line(struct imp *im, const char *file, uint64_t ln, const char *s, size_t n)
{
	char name[FW_HOST_MAX], key[IMPORT_LINE_MAX + 1];
	const char *why;
	size_t h = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		if (is_space(s[i]))
			return imp_skip(im, file, ln, "more than one field: one URL per line");
	if (n >= 8 && strncasecmp(s, "https://", 8) == 0) {
		s += 8;
		n -= 8;
	} else if (n >= 7 && strncasecmp(s, "http://", 7) == 0) {
		s += 7;
		n -= 7;
	}
	while (h < n && s[h] != '/' && s[h] != '?')
		h++;
	if (h > 0 && s[0] != '[' && memchr(s, ':', h) != NULL && memchr(s, ':', h) == memrchr(s, ':', h))
		return imp_skip_name(im, file, ln, s, h, "names a port: list the host alone");
	r = imp_name(im, file, ln, s, h, name, sizeof(name));
	if (r != 1)
		return r;
	if (allow_url_key(name, s + h, n - h, key, sizeof(key), &why) != 0)
		return imp_skip_name(im, file, ln, s, n, why);
	if (strlen(key) == strlen(name)) /* "example.com/": the whole host */
		return imp_insert(im, im->ins_domain, key, &im->stats->domains);
	return imp_insert(im, im->ins_url, key, &im->stats->urls);
}

/* Names hosts files map to themselves, not listings. */
static bool hosts_local_name(const char *s, size_t n)
{
	static const char *const names[] = {
		"localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost",
		"ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters",
		"ip6-allhosts", "0.0.0.0", NULL,
	};

	for (const char *const *p = names; *p != NULL; p++)
		if (strlen(*p) == n && strncasecmp(*p, s, n) == 0)
			return true;
	return false;
}

static bool hosts_address(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *zone = memchr(s, '%', n);
	struct in6_addr a6;
	struct in_addr a4;

	if (zone != NULL) /* fe80::1%lo0 */
		n = (size_t)(zone - s);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1 || inet_pton(AF_INET6, buf, &a6) == 1;
}

/* Next whitespace-separated field of s[0..n) from *pos: its start, length in *len. */
static const char *next_field(const char *s, size_t n, size_t *pos, size_t *len)
{
	size_t i = *pos, start;

	while (i < n && is_space(s[i]))
		i++;
	start = i;
	while (i < n && !is_space(s[i]))
		i++;
	*pos = i;
	*len = i - start;
	return i > start ? s + start : NULL;
}

/* "0.0.0.0 name [name...]": a line with one bad name is skipped whole. */
static int imp_hosts_line(struct imp *im, const char *file, uint64_t ln, const char *s, size_t n)
{
	char name[FW_HOST_MAX];
	size_t pos = 0, len, names = 0, first;
	const char *f = next_field(s, n, &pos, &len), *why;
	int r;

	if (f == NULL || !hosts_address(f, len))
		return imp_skip(im, file, ln, "the first field is not an IP address (hosts format: ADDRESS NAME...)");
	first = pos;
	while ((f = next_field(s, n, &pos, &len)) != NULL) {
		names++;
		if (!hosts_local_name(f, len) && (r = imp_name(im, file, ln, f, len, name, sizeof(name))) != 1)
			return r;
	}
	if (names == 0)
		return imp_skip(im, file, ln, "an address without a name");
	pos = first;
	while ((f = next_field(s, n, &pos, &len)) != NULL) {
		if (hosts_local_name(f, len) || fw_host_check(f, len, name, sizeof(name), &why) != 0)
			continue;
		if (imp_insert(im, im->ins_domain, name, &im->stats->domains) != 0)
			return -1;
	}
	return 0;
}

/* One complete line: comments and blanks are not entries. */
static int imp_line(struct imp *im, const char *file, uint64_t ln, const char *s, size_t n,
		    enum imp_kind kind)
{
	const char *hash;

	if (memchr(s, '\0', n) != NULL)
		return imp_skip(im, file, ln, "contains a NUL byte");
	hash = memchr(s, '#', n);
	if (hash != NULL)
		n = (size_t)(hash - s);
	while (n > 0 && is_space(s[n - 1]))
		n--;
	while (n > 0 && is_space(s[0])) {
		s++;
		n--;
	}
	if (n == 0)
		return 0;
	switch (kind) {
	case IMP_DOMAINS:
		return imp_domain_line(im, file, ln, s, n);
	case IMP_URLS:
		return imp_url_line(im, file, ln, s, n);
	case IMP_HOSTS:
		return imp_hosts_line(im, file, ln, s, n);
	}
	return fw_err_set(im->err, "unknown list kind");
}

static int imp_open_file(const char *path, struct fw_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open \"%s\"", path);
	if (fstat(fd, &st) != 0)
		fw_err_sys(err, errno, "cannot stat \"%s\"", path);
	else if (!S_ISREG(st.st_mode))
		fw_err_set(err, "\"%s\" is not a regular file", path);
	else if ((uint64_t)st.st_size > IMPORT_FILE_MAX_BYTES)
		fw_err_set(err, "\"%s\" is over the limit of %llu bytes", path, IMPORT_FILE_MAX_BYTES);
	else
		return fd;
	close(fd);
	return -1;
}

/* The end of a line: an over-long one is skipped, never cut and read. */
static int imp_line_end(struct imp *im, const char *path, uint64_t ln, const char *line, size_t ll,
			bool overlong, enum imp_kind kind)
{
	if (overlong)
		return imp_skip(im, path, ln, "longer than 4096 bytes");
	return imp_line(im, path, ln, line, ll, kind);
}

/* Splits the file into lines of at most IMPORT_LINE_MAX bytes; a longer
 * line is skipped whole. */
static int imp_file(struct imp *im, const char *path, enum imp_kind kind)
{
	uint8_t *buf = malloc(IMPORT_CHUNK);
	char *line = malloc(IMPORT_LINE_MAX);
	uint64_t ln = 0, total = 0;
	size_t ll = 0;
	bool overlong = false;
	int fd = -1, rc = -1;

	if (buf == NULL || line == NULL) {
		fw_err_set(im->err, "out of memory reading \"%s\"", path);
		goto out;
	}
	if ((fd = imp_open_file(path, im->err)) < 0)
		goto out;
	for (;;) {
		ssize_t got = read(fd, buf, IMPORT_CHUNK);
		size_t pos = 0;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			fw_err_sys(im->err, errno, "cannot read \"%s\"", path);
			goto out;
		}
		if (got == 0)
			break;
		total += (uint64_t)got;
		if (total > IMPORT_FILE_MAX_BYTES) {
			fw_err_set(im->err, "\"%s\" is over the limit of %llu bytes", path, IMPORT_FILE_MAX_BYTES);
			goto out;
		}
		while (pos < (size_t)got) {
			const uint8_t *nl = memchr(buf + pos, '\n', (size_t)got - pos);
			size_t seg = nl != NULL ? (size_t)(nl - buf) - pos : (size_t)got - pos;

			if (!overlong && ll + seg <= IMPORT_LINE_MAX)
				memcpy(line + ll, buf + pos, seg);
			overlong = overlong || ll + seg > IMPORT_LINE_MAX;
			ll += overlong ? 0 : seg;
			pos += seg;
			if (nl == NULL)
				break;
			pos++;
			if (imp_line_end(im, path, ++ln, line, ll, overlong, kind) != 0)
				goto out;
			ll = 0;
			overlong = false;
		}
	}
	if ((ll > 0 || overlong) && imp_line_end(im, path, ++ln, line, ll, overlong, kind) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return rc;
}

/* DIR/<category>/domains and urls: 1 when either was imported, 0 when neither exists. */
static int imp_ut1_category(struct imp *im, const char *dir, const char *category)
{
	static const char *const files[] = { "domains", "urls" };
	char path[FW_PATH_MAX];
	struct stat st;
	int found = 0;

	im->category = category;
	for (size_t i = 0; i < FW_ARRAY_LEN(files); i++) {
		if (fw_path_join(path, sizeof(path), dir, files[i], im->err) != 0)
			return -1;
		if (stat(path, &st) != 0) {
			if (errno == ENOENT)
				continue;
			return fw_err_sys(im->err, errno, "cannot use \"%s\"", path);
		}
		if (imp_file(im, path, i == 0 ? IMP_DOMAINS : IMP_URLS) != 0)
			return -1;
		found = 1;
	}
	return found;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir (not "." files), at most IMPORT_DIR_ENTRIES_MAX. */
static int imp_dir_list(const char *dir, char ***out, size_t *n, struct fw_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (d == NULL)
		return fw_err_sys(err, errno, "cannot open the UT1 directory \"%s\"", dir);
	v = calloc(IMPORT_DIR_ENTRIES_MAX, sizeof(*v));
	if (v == NULL) {
		fw_err_set(err, "out of memory reading \"%s\"", dir);
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == IMPORT_DIR_ENTRIES_MAX) {
			fw_err_set(err, "\"%s\" has more than %u entries", dir, IMPORT_DIR_ENTRIES_MAX);
			goto out;
		}
		if ((v[*n] = strdup(e->d_name)) == NULL) {
			fw_err_set(err, "out of memory reading \"%s\"", dir);
			goto out;
		}
		(*n)++;
	}
	qsort(v, *n, sizeof(*v), cmp_names);
	*out = v;
	v = NULL;
	rc = 0;
out:
	for (size_t i = 0; v != NULL && i < *n; i++)
		free(v[i]);
	free(v);
	if (rc != 0)
		*n = 0;
	closedir(d);
	return rc;
}

/* One sub-directory of a UT1 tree: imported when it is a category. */
static int imp_ut1_entry(struct imp *im, const char *dir, const char *name)
{
	char path[FW_PATH_MAX], cat[ALLOW_CATEGORY_MAX];
	struct stat st;
	int r;

	if (fw_path_join(path, sizeof(path), dir, name, im->err) != 0)
		return -1;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0; /* README, LICENSE, global_usage: not categories */
	if (allow_category_check(name, strlen(name), cat) != 0) {
		if (im->skip != NULL)
			im->skip(im->skip_ctx, path, 0, "not a category name (a-z, 0-9, _ - ., up to 63): not imported");
		return 0;
	}
	r = imp_ut1_category(im, path, cat);
	if (r == 1)
		im->stats->categories++;
	return r < 0 ? -1 : 0;
}

static int imp_ut1(struct imp *im, const char *dir)
{
	struct stat st;
	char **names = NULL;
	size_t n = 0;
	int rc = -1;

	if (stat(dir, &st) != 0)
		return fw_err_sys(im->err, errno, "cannot use the UT1 directory \"%s\"", dir);
	if (!S_ISDIR(st.st_mode))
		return fw_err_set(im->err, "\"%s\" is not a directory: the ut1 format reads DIR/<category>/domains "
				  "and DIR/<category>/urls", dir);
	if (imp_dir_list(dir, &names, &n, im->err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (imp_ut1_entry(im, dir, names[i]) != 0)
			goto out;
	if (im->stats->categories == 0) {
		fw_err_set(im->err, "\"%s\" holds no UT1 category (DIR/<category>/domains or DIR/<category>/urls)",
			   dir);
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int imp_exec(struct imp *im, const char *sql, const char *path)
{
	if (sqlite3_exec(im->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fw_err_set(im->err, "category database \"%s\": %s", path, sqlite3_errmsg(im->db));
	return 0;
}

/* Opens (or creates) the database and starts the import's transaction. */
static int imp_db_begin(struct imp *im, const char *path)
{
	if (sqlite3_open_v2(path, &im->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return fw_err_set(im->err, "cannot open the category database \"%s\": %s", path,
				  im->db != NULL ? sqlite3_errmsg(im->db) : "out of memory");
	sqlite3_extended_result_codes(im->db, 1);
	if (sqlite3_busy_timeout(im->db, 10000) != SQLITE_OK ||
	    imp_exec(im, "PRAGMA journal_mode = WAL", path) != 0 ||
	    imp_exec(im, "BEGIN IMMEDIATE", path) != 0 ||
	    imp_exec(im, ALLOW_CATS_SCHEMA, path) != 0)
		return -1;
	if (sqlite3_prepare_v2(im->db, "INSERT OR IGNORE INTO category_domains (name, category) VALUES (?1, ?2)",
			       -1, &im->ins_domain, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(im->db, "INSERT OR IGNORE INTO category_urls (url, category) VALUES (?1, ?2)",
			       -1, &im->ins_url, NULL) != SQLITE_OK)
		return fw_err_set(im->err, "category database \"%s\": %s", path, sqlite3_errmsg(im->db));
	return 0;
}

static int imp_run(struct imp *im, enum fw_cat_format fmt, const char *path, const char *category)
{
	im->category = category;
	switch (fmt) {
	case FW_CAT_UT1:
		return imp_ut1(im, path);
	case FW_CAT_HOSTS:
	case FW_CAT_LIST:
		im->stats->categories = 1;
		return imp_file(im, path, fmt == FW_CAT_HOSTS ? IMP_HOSTS : IMP_DOMAINS);
	}
	return fw_err_set(im->err, "unknown category list format");
}

int fw_categories_import(const char *db_path, enum fw_cat_format fmt, const char *path,
			 const char *category, fw_cat_skip_fn skip, void *skip_ctx,
			 struct fw_cat_import_stats *stats, struct fw_err *err)
{
	struct imp im = { .skip = skip, .skip_ctx = skip_ctx, .stats = stats, .err = err };
	char cat[ALLOW_CATEGORY_MAX] = "";
	int rc = -1;

	memset(stats, 0, sizeof(*stats));
	if (fmt != FW_CAT_UT1 &&
	    (category == NULL || allow_category_check(category, strlen(category), cat) != 0))
		return fw_err_set(err, "the hosts and list formats need a category name "
				  "(a-z, 0-9, _ - ., up to 63 characters)");
	if (imp_db_begin(&im, db_path) != 0 || imp_run(&im, fmt, path, cat) != 0 ||
	    imp_exec(&im, "COMMIT", db_path) != 0)
		goto out;
	rc = 0;
out:
	/* All or nothing: whatever went wrong, nothing of this import stays. */
	if (rc != 0 && im.db != NULL && !sqlite3_get_autocommit(im.db))
		sqlite3_exec(im.db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(im.ins_domain);
	sqlite3_finalize(im.ins_url);
	if (im.db != NULL && sqlite3_close(im.db) != SQLITE_OK && rc == 0)
		rc = fw_err_set(err, "cannot close the category database \"%s\"", db_path);
	if (rc != 0)
		memset(stats, 0, sizeof(*stats));
	return rc;
}
