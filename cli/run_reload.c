/* Signature reloads of `fwgate run`: one thread runs them one at a time,
 * whoever asks (SIGHUP, the signature watch), and says what each loaded;
 * it also warns when the signatures are older than [scanner]
 * max_signature_age_hours. Must not load signatures itself: the scanner
 * compiles the engine and keeps the old one when the new one fails. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/run_events.h"
#include "cli/run_reload.h"

/* How often the age is checked between reloads. */
#define AGE_CHECK_S 3600
#define WHAT_MAX 1200

struct run_reloader {
	struct run_reload_deps d;
	struct fw_sigwatch *watch;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;     /* guards what follows */
	pthread_cond_t cond;      /* a request, or stop */
	bool pending;
	bool stopping;
	enum run_reload_trigger trigger;
	char what[WHAT_MAX];
};

static const char *const trigger_names[] = {
	[RUN_RELOAD_SIGHUP] = "sighup",
	[RUN_RELOAD_WATCH] = "watch",
};

/* The fields every reload event carries: what the serving engine holds. */
struct sig_fields {
	char version[256];
	char line[FW_EVENT_FIELD_MAX];
	struct fw_event_field f[12];
	size_t n;
};

static void sig_fields_fill(struct sig_fields *sf, const struct fw_signature_info *si, int64_t now)
{
	/* Names are fixed keys: a database's own name never becomes a key. */
	static const char *const known[][3] = {
		{ "main", "fwgate.signatures.main.version", "fwgate.signatures.main.time" },
		{ "daily", "fwgate.signatures.daily.version", "fwgate.signatures.daily.time" },
		{ "bytecode", "fwgate.signatures.bytecode.version", "fwgate.signatures.bytecode.time" },
	};
	size_t used = 0;
	int64_t stalest = fw_signature_info_stalest(si, NULL);

	sf->n = 0;
	sf->version[0] = '\0';
	for (unsigned i = 0; i < si->n_dbs && i < FW_SIGDB_MAX; i++) {
		const struct fw_sigdb *e = &si->dbs[i];
		int w;

		if (e->kind != FW_SIGDB_CVD || used >= sizeof(sf->version))
			continue;
		w = snprintf(sf->version + used, sizeof(sf->version) - used, "%s%s:%u", used ? " " : "", e->name,
			     e->version);
		used += w > 0 ? (size_t)w : 0;
		for (size_t k = 0; k < FW_ARRAY_LEN(known); k++)
			if (strcmp(e->name, known[k][0]) == 0) {
				sf->f[sf->n++] = (struct fw_event_field){ .key = known[k][1], .num = e->version };
				sf->f[sf->n++] = (struct fw_event_field){ .key = known[k][2], .num = e->time };
			}
	}
	sf->f[sf->n++] = (struct fw_event_field){ .key = "fwgate.signatures.version",
						  .str = used ? sf->version : "none" };
	sf->f[sf->n++] = (struct fw_event_field){ .key = "fwgate.signatures.count", .num = (long long)si->signatures };
	sf->f[sf->n++] = (struct fw_event_field){ .key = "fwgate.signatures.databases",
						  .str = fw_signature_info_line(si, now, sf->line, sizeof(sf->line)) };
	if (stalest > 0)
		sf->f[sf->n++] = (struct fw_event_field){ .key = "fwgate.signatures.age_seconds",
							  .num = now > stalest ? now - stalest : 0 };
}

/* The age warning: when is "start", "reload" or "hourly". */
static void age_check(struct run_reloader *r, struct fw_signature_info *si, const char *when)
{
	uint64_t max = (uint64_t)r->d.cfg->scanner.max_signature_age_hours * 3600u;
	int64_t now = (int64_t)time(NULL), stalest;
	unsigned idx = 0;
	/* Sized for the longest directory and name: never cut. */
	char reason[FW_PATH_MAX + FW_SIGDB_NAME_MAX + 512], line[FW_EVENT_FIELD_MAX];
	const struct fw_sigdb *e;

	if (max == 0)
		return;
	fw_scanner_signature_info(r->d.scanner, si);
	stalest = fw_signature_info_stalest(si, &idx);
	if (stalest <= 0 || now <= stalest || (uint64_t)(now - stalest) <= max)
		return;
	e = &si->dbs[idx];
	snprintf(reason, sizeof(reason), "the signatures in %s are %lld h old (their newest: %s), older than "
		 "[scanner] max_signature_age_hours (%u h): is freshclam (or the mirror) updating them?", e->dir,
		 (long long)((now - stalest) / 3600), e->kind == FW_SIGDB_LOCAL ? "the local signature files" : e->name,
		 r->d.cfg->scanner.max_signature_age_hours);
	fprintf(stderr, "fwgate: warning: %s\n", reason);
	{
		const struct fw_event_field more[] = {
			{ .key = "fwgate.signatures.age_seconds", .num = now - stalest },
			{ .key = "fwgate.signatures.max_age_seconds", .num = (long long)max },
			{ .key = "fwgate.signatures.directory", .str = e->dir },
			{ .key = "fwgate.signatures.database", .str = e->name },
			{ .key = "fwgate.signatures.check", .str = when },
			{ .key = "fwgate.signatures.databases", .str = fw_signature_info_line(si, now, line, sizeof(line)) },
		};

		emit_lifecycle_extra(r->d.log, "fwgate-signatures-outdated", FW_OUTCOME_FAILURE, r->d.cfg, r->d.pol,
				     reason, more, FW_ARRAY_LEN(more));
	}
}

/* One reload: a new engine, workers rolled onto it; a failed reload keeps
 * the old engine serving, and its event lists the old engine's databases. */
static void reload_once(struct run_reloader *r, struct fw_signature_info *si, enum run_reload_trigger t,
			const char *what)
{
	struct sig_fields sf;
	char summary[FW_SCANNER_SUMMARY_MAX];
	struct fw_event_field more[16];
	struct fw_err err;
	size_t n = 0;
	int rc;

	fw_err_clear(&err);
	run_notify_reloading(r->d.notify, t == RUN_RELOAD_WATCH ? "reloading the signatures (a database changed)"
							       : "reloading the signatures (SIGHUP)");
	rc = fw_scanner_reload(r->d.scanner, &err);
	fw_scanner_signature_info(r->d.scanner, si);
	sig_fields_fill(&sf, si, (int64_t)time(NULL));
	more[n++] = (struct fw_event_field){ .key = "fwgate.reload.trigger", .str = trigger_names[t] };
	if (what[0] != '\0')
		more[n++] = (struct fw_event_field){ .key = "fwgate.reload.change", .str = what };
	for (size_t i = 0; i < sf.n && n < FW_ARRAY_LEN(more); i++)
		more[n++] = sf.f[i];
	if (rc != 0) {
		fprintf(stderr, "fwgate: signature reload (%s) failed, the old signatures stay: %s\n", trigger_names[t],
			fw_err_msg(&err));
		emit_lifecycle_extra(r->d.log, "fwgate-reload-failed", FW_OUTCOME_FAILURE, r->d.cfg, r->d.pol,
				     fw_err_msg(&err), more, n);
		run_notify_ready(r->d.notify, "serving; the signature reload failed, the old signatures stay");
	} else {
		fw_scanner_summary(r->d.scanner, summary, sizeof(summary));
		fprintf(stderr, "fwgate: signatures reloaded (%s%s%s): %s\n", trigger_names[t], what[0] ? ": " : "",
			what, summary);
		emit_lifecycle_extra(r->d.log, "fwgate-reload", FW_OUTCOME_SUCCESS, r->d.cfg, r->d.pol, summary, more,
				     n);
		run_notify_ready(r->d.notify, "serving; signatures reloaded");
	}
	age_check(r, si, "reload");
}

static void *reload_main(void *arg)
{
	struct run_reloader *r = arg;
	struct fw_signature_info *si = malloc(sizeof(*si));
	struct timespec next;
	char what[WHAT_MAX];

	if (si == NULL) {
		fprintf(stderr, "fwgate: out of memory: signature reloads are off\n");
		return NULL;
	}
	age_check(r, si, "start");
	clock_gettime(CLOCK_MONOTONIC, &next);
	next.tv_sec += AGE_CHECK_S;
	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		enum run_reload_trigger t;

		if (!r->pending) {
			if (pthread_cond_timedwait(&r->cond, &r->lock, &next) == ETIMEDOUT) {
				pthread_mutex_unlock(&r->lock);
				age_check(r, si, "hourly");
				pthread_mutex_lock(&r->lock);
				next.tv_sec += AGE_CHECK_S;
			}
			continue;
		}
		r->pending = false;
		t = r->trigger;
		memcpy(what, r->what, sizeof(what));
		pthread_mutex_unlock(&r->lock);
		reload_once(r, si, t, what);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	free(si);
	return NULL;
}

void run_reloader_request(struct run_reloader *r, enum run_reload_trigger trigger, const char *what)
{
	pthread_mutex_lock(&r->lock);
	if (r->pending)
		fprintf(stderr, "fwgate: %s: a signature reload is queued already\n", trigger_names[trigger]);
	/* The latest request names the queued reload. */
	r->pending = true;
	r->trigger = trigger;
	snprintf(r->what, sizeof(r->what), "%s", what != NULL ? what : "");
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void watch_event(void *arg, enum fw_sigwatch_event ev, const char *reason)
{
	struct run_reloader *r = arg;

	if (ev == FW_SIGWATCH_CHANGED) {
		run_reloader_request(r, RUN_RELOAD_WATCH, reason);
		return;
	}
	fprintf(stderr, "fwgate: warning: %s\n", reason);
	emit_lifecycle_extra(r->d.log, "fwgate-signature-watch-failed", FW_OUTCOME_FAILURE, r->d.cfg, r->d.pol,
			     reason, NULL, 0);
}

int run_reloader_start(struct run_reloader **out, const struct run_reload_deps *d, struct fw_err *err)
{
	struct run_reloader *r;
	pthread_condattr_t ca;
	struct fw_err werr;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return fw_err_set(err, "out of memory");
	r->d = *d;
	pthread_mutex_init(&r->lock, NULL);
	/* The hourly check counts monotonic time: a clock set back must not
	 * hold it off. */
	if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&r->cond, &ca) != 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return fw_err_set(err, "cannot set up the signature reload thread's clock");
	}
	pthread_condattr_destroy(&ca);
	if (pthread_create(&r->thread, NULL, reload_main, r) != 0) {
		run_reloader_stop(r);
		return fw_err_set(err, "cannot start the signature reload thread");
	}
	r->started = true;
	fw_err_clear(&werr);
	if (!d->cfg->scanner.watch_signatures) {
		fprintf(stderr, "fwgate: the signature directories are not watched ([scanner] watch_signatures = "
			"false): signatures reload on SIGHUP or fwgate reload\n");
	} else if (fw_sigwatch_start(&r->watch, d->cfg, watch_event, r, &werr) != 0) {
		fw_err_prefix(&werr, "the signature directories are not watched, signatures reload on SIGHUP or "
			      "fwgate reload only");
		fprintf(stderr, "fwgate: warning: %s\n", fw_err_msg(&werr));
		emit_lifecycle_extra(d->log, "fwgate-signature-watch-failed", FW_OUTCOME_FAILURE, d->cfg, d->pol,
				     fw_err_msg(&werr), NULL, 0);
	} else {
		fprintf(stderr, "fwgate: watching the signature directories: a changed database reloads after %u s "
			"of quiet\n", d->cfg->scanner.reload_debounce_seconds);
	}
	*out = r;
	return 0;
}

void run_reloader_stop(struct run_reloader *r)
{
	if (r == NULL)
		return;
	/* The watch first: it may still ask for a reload. */
	fw_sigwatch_stop(r->watch);
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		r->stopping = true;
		pthread_cond_signal(&r->cond);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
