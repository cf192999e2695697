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
#include <time.h>
#include <unistd.h>

#include <clamav.h>

#include "fwgate/fileio.h"
#include "scanner/scan_int.h"
#include "scanner/sigdb.h"
#include "scanner/yara_rules.h"


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

/* True when dir holds a file ClamAV would load (by its extension). The
 * clamav package makes /var/lib/clamav before freshclam fills it. */
static bool dir_has_db(const char *dir)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(dir);

	if (d == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL)
		found = sigdb_name_loadable(de->d_name);
	closedir(d);
	return found;
}

/* Appends "LABEL (N signatures); " to the summary, or the total when
 * label is NULL. */
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

/* "; YARA: N rules (FILES)" after the signatures. */
static void yara_summary(struct scan_engine *e, const struct fw_config *cfg)
{
	size_t used = strlen(e->summary);

	if (used < sizeof(e->summary))
		snprintf(e->summary + used, sizeof(e->summary) - used, "; YARA: %u rules (%.300s%s)",
			 scan_yara_count(e->yara), cfg->scanner.n_yara_rules ? cfg->scanner.yara_rules[0] : "shipped",
			 cfg->scanner.n_yara_rules > 1 ? ", ..." : "");
}

/* The versions and build times of main, daily and bytecode (.cvd or
 * .cld) for the metrics, from the databases' headers read at load. */
static void db_versions(struct scan_engine *e)
{
	for (unsigned k = 0; k < e->sig.n_dbs; k++) {
		const struct fw_sigdb *db = &e->sig.dbs[k];

		for (unsigned i = 0; db->kind == FW_SIGDB_CVD && i < FW_METRICS_DB_COUNT; i++)
			if (strcmp(db->name, fw_metrics_db_name((enum fw_metrics_db)i)) == 0 &&
			    db->version >= e->db_version[i]) {
				e->db_version[i] = db->version;
				e->db_time[i] = db->time;
			}
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

/* label: the directory as the summary names it; NULL for the bundled
 * signatures' temporary directory (listed as "bundled", without an age). */
static int load_dir(struct scan_engine *e, const char *dir, const char *label, struct fw_err *err)
{
	unsigned before = e->signatures;
	struct dirent *de;
	cl_error_t rc;
	DIR *d;

	d = opendir(dir);
	if (d == NULL)
		return fw_err_sys(err, errno, "cannot open the signature directory \"%s\"", dir);
	while ((de = readdir(d)) != NULL)
		if (is_full_db(de->d_name))
			e->full_db = true;
	closedir(d);
	/* Versions and ages, before ClamAV reads the bodies: a header that
	 * does not parse fails the load here, with the file's name. */
	if (label != NULL && sigdb_dir_add(&e->sig, dir, err) != 0)
		return -1;
	rc = cl_load(dir, e->cl, &e->signatures, CL_DB_STDOPT);
	if (rc != CL_SUCCESS)
		return fw_err_set(err, "ClamAV cannot load the signatures in \"%s\": %s", dir, cl_strerror(rc));
	summary_add(e, label != NULL ? label : "bundled", e->signatures - before);
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
	rc = load_dir(e, dir, NULL, err);
	if (rc == 0)
		rc = sigdb_add_bundled(&e->sig, err);
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
	/* The rules first: a mistake in them is the operator's, and cheaper
	 * to report than a signature load. */
	if (scan_yara_load(&e->yara, cfg->scanner.yara_rules, cfg->scanner.n_yara_rules, err) != 0)
		goto out;
	if (set_limits(e, cfg, tmp_dir, err) != 0)
		goto out;
	if (cfg->scanner.n_signatures == 0) {
		if (load_bundled(e, tmp_dir, err) != 0)
			goto out;
		if (stat(SCAN_SYSTEM_DB_DIR, &st) == 0 && S_ISDIR(st.st_mode) && dir_has_db(SCAN_SYSTEM_DB_DIR) &&
		    load_dir(e, SCAN_SYSTEM_DB_DIR, SCAN_SYSTEM_DB_DIR, err) != 0)
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
	yara_summary(e, cfg);
	db_versions(e);
	e->sig.signatures = e->signatures;
	e->sig.loaded_at = (int64_t)time(NULL);
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
	scan_yara_free(e->yara);
	free(e);
}
