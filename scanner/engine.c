/* The ClamAV engine: which signature databases are loaded, ClamAV's own
 * limits set at or above fwgate's (so ClamAV never stops reading before
 * fwgate does), and compilation. Loaded once in the scanner supervisor,
 * shared copy-on-write by the workers. Must not scan or decide verdicts. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clamav.h>

#include "fwgate/fileio.h"
#include "scanner/scan_int.h"


#define SYSTEM_DB_DIR "/var/lib/clamav"

void scan_limits_from_config(struct scan_limits *l, const struct fw_config *cfg)
{
	l->max_depth = cfg->scanner.max_depth;
	l->max_members = cfg->scanner.max_members;
	l->max_member_bytes = cfg->scanner.max_member_bytes;
	l->max_total_bytes = cfg->scanner.max_total_bytes;
	l->max_ratio = cfg->scanner.max_ratio;
	l->max_seconds = cfg->scanner.max_seconds;
}

/* True for the names of ClamAV's full databases (main, daily, bytecode as
 * .cvd or .cld): without one, only test-grade signatures are loaded. */
static bool is_full_db(const char *name)
{
	static const char *const full[] = { "main.cvd", "main.cld", "daily.cvd", "daily.cld" };

	for (size_t i = 0; i < FW_ARRAY_LEN(full); i++)
		if (strcmp(name, full[i]) == 0)
			return true;
	return false;
}

/* Appends "LABEL (N signatures); " to the summary, or the total when
 * label is NULL. */
/* True when dir holds a file ClamAV would load (by its extension). The
 * clamav package makes /var/lib/clamav before freshclam fills it. */
static bool dir_has_db(const char *dir)
{
	static const char *const ext[] = { ".cvd", ".cld", ".cud", ".hdb", ".hsb", ".mdb", ".msb", ".ndb",
					   ".ldb", ".cdb", ".ign2", ".yar", ".yara", ".cbc" };
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(dir);

	if (d == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		const char *dot = strrchr(de->d_name, '.');

		for (size_t i = 0; dot != NULL && i < FW_ARRAY_LEN(ext) && !found; i++)
			found = strcmp(dot, ext[i]) == 0;
	}
	closedir(d);
	return found;
}

static void summary_add(struct scan_engine *e, const char *label, unsigned n)
{
	size_t used = strlen(e->summary);

	if (used >= sizeof(e->summary))
		return;
	if (label != NULL)
		snprintf(e->summary + used, sizeof(e->summary) - used, "%s (%u signatures); ", label, n);
	else
		snprintf(e->summary + used, sizeof(e->summary) - used, "%u signatures in all", n);
}

/* The version and build time of a ClamAV database named NAME.cvd or
 * NAME.cld (main, daily, bytecode), from its header, for the metrics. A
 * header that does not parse is left out: ClamAV's own load judges it. */
static void db_header(struct scan_engine *e, const char *dir, const char *file)
{
	const char *dot = strrchr(file, '.');
	char path[FW_PATH_MAX + 256];
	struct cl_cvd *cvd;

	if (dot == NULL || (strcmp(dot, ".cvd") != 0 && strcmp(dot, ".cld") != 0))
		return;
	for (unsigned i = 0; i < FW_METRICS_DB_COUNT; i++) {
		const char *name = fw_metrics_db_name((enum fw_metrics_db)i);

		if (strlen(name) != (size_t)(dot - file) || strncmp(file, name, (size_t)(dot - file)) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path) ||
		    (cvd = cl_cvdhead(path)) == NULL)
			return;
		if (cvd->version >= e->db_version[i]) {
			e->db_version[i] = cvd->version;
			e->db_time[i] = cvd->stime;
		}
		cl_cvdfree(cvd);
		return;
	}
}

json_t *scan_engine_databases(const struct scan_engine *e)
{
	json_t *dbs = json_object();

	for (unsigned i = 0; dbs != NULL && i < FW_METRICS_DB_COUNT; i++)
		if (e->db_version[i] != 0 &&
		    json_object_set_new(dbs, fw_metrics_db_name((enum fw_metrics_db)i),
					json_pack("{s:I, s:I}", "version", (json_int_t)e->db_version[i], "time",
						  (json_int_t)e->db_time[i])) != 0) {
			json_decref(dbs);
			dbs = NULL;
		}
	return dbs;
}

static int load_dir(struct scan_engine *e, const char *dir, const char *label, struct fw_err *err)
{
	unsigned before = e->signatures;
	struct dirent *de;
	cl_error_t rc;
	DIR *d;

	d = opendir(dir);
	if (d == NULL)
		return fw_err_sys(err, errno, "cannot open the signature directory \"%s\"", dir);
	while ((de = readdir(d)) != NULL) {
		if (is_full_db(de->d_name))
			e->full_db = true;
		db_header(e, dir, de->d_name);
	}
	closedir(d);
	rc = cl_load(dir, e->cl, &e->signatures, CL_DB_STDOPT);
	if (rc != CL_SUCCESS)
		return fw_err_set(err, "ClamAV cannot load the signatures in \"%s\": %s", dir, cl_strerror(rc));
	summary_add(e, label, e->signatures - before);
	return 0;
}

/* The bundled signatures live in the binary; ClamAV loads from paths, so
 * they pass through a private temporary directory removed right after. */
static int load_bundled(struct scan_engine *e, const char *tmp_dir, struct fw_err *err)
{
	char dir[FW_PATH_MAX], file[FW_PATH_MAX + 32];
	size_t off = 0;
	FILE *f;
	int rc = -1;

	if (snprintf(dir, sizeof(dir), "%s/fwgate-sigs-XXXXXX", tmp_dir) >= (int)sizeof(dir))
		return fw_err_set(err, "the scanner's temporary directory path is too long");
	if (mkdtemp(dir) == NULL)
		return fw_err_sys(err, errno, "cannot create a temporary directory in %s", tmp_dir);
	snprintf(file, sizeof(file), "%s/fwgate.ndb", dir);
	f = fopen(file, "wbx");
	if (f == NULL) {
		fw_err_sys(err, errno, "cannot write %s", file);
		goto out;
	}
	off = fwrite(scan_embedded_signatures, 1, scan_embedded_signatures_len, f);
	if (fclose(f) != 0 || off != scan_embedded_signatures_len) {
		fw_err_set(err, "cannot write %s", file);
		goto out;
	}
	rc = load_dir(e, dir, "bundled", err);
out:
	unlink(file);
	rmdir(dir);
	return rc;
}

static int set_num(struct scan_engine *e, enum cl_engine_field f, long long v, const char *what,
		   struct fw_err *err)
{
	cl_error_t rc = cl_engine_set_num(e->cl, f, v);

	if (rc != CL_SUCCESS)
		return fw_err_set(err, "ClamAV refuses its %s limit %lld: %s", what, v, cl_strerror(rc));
	return 0;
}

static long long cap(uint64_t v, long long max)
{
	return v > (uint64_t)max ? max : (long long)v;
}

/* ClamAV's own limits at or above fwgate's: fwgate refuses first and says
 * why; a ClamAV limit that still triggers raises Heuristics.Limits.Exceeded
 * (CL_SCAN_HEURISTIC_EXCEEDS_MAX), which fwgate maps to unscannable.
 * ClamAV 1.x reads at most INT_MAX bytes of one file, whatever is asked:
 * a larger member is therefore unscannable, never passed. */
static int set_limits(struct scan_engine *e, const struct fw_config *cfg, const char *tmp_dir,
		      struct fw_err *err)
{
	const uint64_t member = cfg->scanner.max_member_bytes, total = cfg->scanner.max_total_bytes;
	cl_error_t rc;

	if (set_num(e, CL_ENGINE_MAX_FILESIZE, cap(member, INT_MAX), "file size", err) != 0 ||
	    set_num(e, CL_ENGINE_MAX_SCANSIZE, cap(total > member ? total : member, INT_MAX), "scan size",
		    err) != 0 ||
	    set_num(e, CL_ENGINE_MAX_RECURSION, cap(cfg->scanner.max_depth + 1u, 4096), "recursion", err) != 0 ||
	    set_num(e, CL_ENGINE_MAX_FILES, cap(cfg->scanner.max_members, UINT32_MAX >> 1), "file count",
		    err) != 0 ||
	    set_num(e, CL_ENGINE_MAX_SCANTIME, cap((uint64_t)cfg->scanner.max_seconds * 1000u, INT_MAX),
		    "scan time", err) != 0)
		return -1;
	/* ClamAV's clean-file cache hashes every node with MD5 before
	 * scanning it, and answers a repeat from memory: a verdict cache
	 * belongs to fwgate's own store (by SHA-256, under its control),
	 * and benchmarks of cold downloads must not hit this one. */
	if (set_num(e, CL_ENGINE_DISABLE_CACHE, 1, "cache", err) != 0)
		return -1;
	rc = cl_engine_set_str(e->cl, CL_ENGINE_TMPDIR, tmp_dir);
	if (rc != CL_SUCCESS)
		return fw_err_set(err, "ClamAV refuses the temporary directory %s: %s", tmp_dir, cl_strerror(rc));
	return 0;
}

int scan_engine_load(struct scan_engine **out, const struct fw_config *cfg, const char *tmp_dir,
		     struct fw_err *err)
{
	struct scan_engine *e;
	struct stat st;
	cl_error_t rc;
	int ret = -1;

	*out = NULL;
	rc = cl_init(CL_INIT_DEFAULT);
	if (rc != CL_SUCCESS)
		return fw_err_set(err, "ClamAV cannot start: %s", cl_strerror(rc));
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return fw_err_set(err, "out of memory");
	e->cl = cl_engine_new();
	if (e->cl == NULL) {
		fw_err_set(err, "ClamAV cannot create an engine (out of memory?)");
		goto out;
	}
	if (set_limits(e, cfg, tmp_dir, err) != 0)
		goto out;
	if (cfg->scanner.n_signatures == 0) {
		if (load_bundled(e, tmp_dir, err) != 0)
			goto out;
		if (stat(SYSTEM_DB_DIR, &st) == 0 && S_ISDIR(st.st_mode) && dir_has_db(SYSTEM_DB_DIR) &&
		    load_dir(e, SYSTEM_DB_DIR, SYSTEM_DB_DIR, err) != 0)
			goto out;
	}
	for (unsigned i = 0; i < cfg->scanner.n_signatures; i++)
		if (load_dir(e, cfg->scanner.signatures[i], cfg->scanner.signatures[i], err) != 0)
			goto out;
	if (e->signatures == 0) {
		fw_err_set(err, "no ClamAV signature was loaded ([scanner] signatures): refusing to scan "
			   "with an empty engine");
		goto out;
	}
	rc = cl_engine_compile(e->cl);
	if (rc != CL_SUCCESS) {
		fw_err_set(err, "ClamAV cannot compile its engine: %s", cl_strerror(rc));
		goto out;
	}
	summary_add(e, NULL, e->signatures);
	if (!e->full_db)
		snprintf(e->warning, sizeof(e->warning),
			 "WARNING: no full ClamAV database (main/daily .cvd or .cld) is loaded: only the "
			 "signatures listed above are active, which detect test files, not real malware; "
			 "install ClamAV's databases (freshclam, or a mirror) and list their directory in "
			 "[scanner] signatures");
	*out = e;
	e = NULL;
	ret = 0;
out:
	scan_engine_free(e);
	return ret;
}

void scan_engine_free(struct scan_engine *e)
{
	if (e == NULL)
		return;
	if (e->cl != NULL)
		cl_engine_free(e->cl);
	free(e);
}
