/* The ClamAV queue of a worker (clamq_*, not the sandbox job queue): threads
 * that run libclamav (all-match mode, heuristics for broken, encrypted and
 * over-limit content on), then the YARA rules, over the nodes the walker
 * hands them, and turn what they say into findings. ClamAV's "clean" only
 * means "no signature in what it read". Must not unpack archives itself:
 * fwgate's walker does, under its limits. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <clamav.h>
#include <openssl/crypto.h>

#include "scanner/scan_int.h"
#include "scanner/yara_rules.h"

#define QUEUE_MAX_THREADS 16
#define QUEUE_SLOTS_PER_THREAD 2

struct clamq_task {
	struct scan_report *rep;
	int fd;
	char *chain;
	json_t *node;
	char sha256[FW_SHA256_HEX_LEN + 1];
	unsigned flags;
	struct clamq_task *next;
};

struct clamq {
	const struct scan_engine *eng;
	pthread_t threads[QUEUE_MAX_THREADS];
	unsigned n_threads;
	pthread_mutex_t lock;
	pthread_cond_t more;       /* a task was queued, or stopping */
	pthread_cond_t room;       /* a slot was freed or a task finished */
	struct clamq_task *head, *tail;
	unsigned queued, running, slots;
	bool stopping;
};

static void on_virus(int fd, const char *virname, void *context)
{
	struct clamq_outcome *m = context;

	(void)fd;
	if (m == NULL || virname == NULL || m->n >= CLAMQ_MATCHES_MAX)
		return;
	/* ClamAV may report one signature twice for one file (raw and
	 * typed passes); a finding is listed once. */
	for (unsigned i = 0; i < m->n; i++)
		if (strcmp(m->names[i], virname) == 0)
			return;
	m->names[m->n++] = virname;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ClamAV's heuristic names say why it could not vouch for the bytes:
 * over a limit, encrypted or unparseable is "not vetted" (unscannable);
 * other heuristics are suspicious; everything else is a signature. */
static void record_match(struct scan_report *rep, json_t *node, const char *chain, const char *sha256,
			 const char *name)
{
	if (starts(name, "Heuristics.Limits.Exceeded"))
		scan_report_add(rep, node, FW_VERDICT_UNSCANNABLE, "ClamAV limit exceeded at %s (%s)", chain, name);
	else if (starts(name, "Heuristics.Encrypted"))
		scan_report_add(rep, node, FW_VERDICT_UNSCANNABLE, "encrypted member %s cannot be inspected (%s)",
				chain, name);
	else if (starts(name, "Heuristics.Broken"))
		scan_report_add(rep, node, FW_VERDICT_UNSCANNABLE, "ClamAV cannot parse %s (%s)", chain, name);
	else if (starts(name, "Heuristics."))
		scan_report_add(rep, node, FW_VERDICT_SUSPICIOUS, "heuristic %s in %s", name, chain);
	else
		scan_report_signature(rep, node, name, chain, sha256);
}

static void scan_options(unsigned flags, struct cl_scan_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->general = CL_SCAN_GENERAL_ALLMATCHES | CL_SCAN_GENERAL_HEURISTICS;
	opt->parse = ~0u;
	if (!(flags & CLAMQ_PARSE_ARCHIVE))
		opt->parse &= ~(unsigned)CL_SCAN_PARSE_ARCHIVE;
	opt->heuristic = CL_SCAN_HEURISTIC_BROKEN | CL_SCAN_HEURISTIC_EXCEEDS_MAX |
			 CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE | CL_SCAN_HEURISTIC_ENCRYPTED_DOC;
	if (flags & CLAMQ_EFI_IMAGE)
		opt->heuristic &= ~(unsigned)CL_SCAN_HEURISTIC_BROKEN;
}

static void outcome_from(struct clamq_outcome *o, cl_error_t rc, const char *virname)
{
	o->rc = (int)rc;
	if (rc == CL_VIRUS && o->n == 0 && virname != NULL)
		o->names[o->n++] = virname;
	if (rc != CL_CLEAN && rc != CL_VIRUS)
		snprintf(o->error, sizeof(o->error), "%s", cl_strerror(rc));
}

void clamq_scan_map(const struct scan_engine *eng, void *map, const char *name, unsigned flags,
		    struct clamq_outcome *out)
{
	struct cl_scan_options opt;
	const char *virname = NULL;
	unsigned long scanned = 0;

	*out = (struct clamq_outcome){ .n = 0 };
	scan_options(flags, &opt);
	outcome_from(out, cl_scanmap_callback(map, name, &virname, &scanned, eng->cl, &opt, out), virname);
}

bool clamq_outcome_limited(const struct clamq_outcome *o)
{
	if (o->rc != CL_CLEAN && o->rc != CL_VIRUS)
		return true;
	for (unsigned i = 0; i < o->n; i++)
		if (starts(o->names[i], "Heuristics.Limits.Exceeded"))
			return true;
	return false;
}

void clamq_outcome_apply(const struct clamq_outcome *o, struct scan_report *rep, json_t *node, const char *chain,
			 const char *sha256)
{
	if (o->rc == CL_VIRUS) {
		for (unsigned i = 0; i < o->n; i++)
			record_match(rep, node, chain, sha256, o->names[i]);
		if (o->n == 0)
			scan_report_add(rep, node, FW_VERDICT_INFECTED, "an unnamed signature in %s", chain);
	} else if (o->rc != CL_CLEAN) {
		scan_report_add(rep, node, FW_VERDICT_UNSCANNABLE, "ClamAV failed on %s: %s", chain, o->error);
	}
}

static void task_run(const struct scan_engine *eng, struct clamq_task *t)
{
	struct cl_scan_options opt;
	struct clamq_outcome o = { .n = 0 };
	const char *virname = NULL;
	unsigned long scanned = 0;

	scan_options(t->flags, &opt);
	outcome_from(&o, cl_scandesc_callback(t->fd, NULL, &virname, &scanned, eng->cl, &opt, &o), virname);
	clamq_outcome_apply(&o, t->rep, t->node, t->chain, t->sha256);
}

static void yara_match(void *arg, const struct scan_yara_match *m)
{
	struct clamq_task *t = arg;

	scan_report_yara(t->rep, t->node, t->chain, t->sha256, m);
}

/* The YARA rules over the same node, bounded by what is left of the
 * package's max_seconds: a timeout or an error leaves the node judged by
 * part of the rules only, so it is unscannable, never clean. */
static void task_yara(const struct scan_engine *eng, struct clamq_task *t)
{
	struct timespec now;
	struct fw_err err;
	int64_t left_ms;

	if (eng->yara == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left_ms = (int64_t)(t->rep->deadline.tv_sec - now.tv_sec) * 1000 +
		  (t->rep->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (left_ms <= 0) {
		scan_report_add(t->rep, t->node, FW_VERDICT_UNSCANNABLE,
				"no time left for the YARA rules at %s (max_seconds)", t->chain);
		return;
	}
	fw_err_clear(&err);
	if (scan_yara_fd(eng->yara, t->fd, (unsigned)((left_ms + 999) / 1000), yara_match, t, &err) != 0)
		scan_report_add(t->rep, t->node, FW_VERDICT_UNSCANNABLE, "%s at %s%s", fw_err_msg(&err), t->chain,
				fw_err_code(&err) == FW_E_TIMEOUT ? " (max_seconds)" : "");
}

static void task_free(struct clamq_task *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->chain);
	free(t);
}

static void *queue_thread(void *arg)
{
	struct clamq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct clamq_task *t;

		while (q->head == NULL && !q->stopping)
			pthread_cond_wait(&q->more, &q->lock);
		if (q->head == NULL)
			break;
		t = q->head;
		q->head = t->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->queued--;
		q->running++;
		pthread_mutex_unlock(&q->lock);
		if (!(t->flags & CLAMQ_ONLY_YARA))
			task_run(q->eng, t);
		if (!(t->flags & CLAMQ_ONLY_CLAMAV))
			task_yara(q->eng, t);
		task_free(t);
		pthread_mutex_lock(&q->lock);
		q->running--;
		pthread_cond_broadcast(&q->room);
	}
	pthread_mutex_unlock(&q->lock);
	/* libclamav hashes with OpenSSL on this thread, which gives it a
	 * thread-local error state. OpenSSL frees it from a thread-exit hook
	 * that its own atexit cleanup removes; a queue freed after that (from
	 * a later atexit handler) would leak it. Free it here, explicitly. */
	OPENSSL_thread_stop();
	return NULL;
}

/* ClamAV's own messages about hostile input ("decompress error") are
 * expected and already in the verdict as a reason when they matter; on a
 * gateway's stderr they would only be noise an attacker controls. */
static void quiet(enum cl_msg severity, const char *fullmsg, const char *msg, void *context)
{
	(void)severity;
	(void)fullmsg;
	(void)msg;
	(void)context;
}

int clamq_new(struct clamq **out, const struct scan_engine *eng, unsigned threads,
	      struct fw_err *err)
{
	struct clamq *q;

	*out = NULL;
	if (threads == 0)
		threads = 1;
	if (threads > QUEUE_MAX_THREADS)
		threads = QUEUE_MAX_THREADS;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return fw_err_set(err, "out of memory");
	q->eng = eng;
	q->slots = threads * QUEUE_SLOTS_PER_THREAD;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->more, NULL);
	pthread_cond_init(&q->room, NULL);
	cl_engine_set_clcb_virus_found(eng->cl, on_virus);
	cl_set_clcb_msg(quiet);
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&q->threads[i], NULL, queue_thread, q) != 0) {
			clamq_free(q);
			return fw_err_set(err, "cannot start the scan threads");
		}
		q->n_threads++;
	}
	*out = q;
	return 0;
}

void clamq_free(struct clamq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->more);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->n_threads; i++)
		pthread_join(q->threads[i], NULL);
	while (q->head != NULL) {
		struct clamq_task *t = q->head;

		q->head = t->next;
		task_free(t);
	}
	pthread_cond_destroy(&q->more);
	pthread_cond_destroy(&q->room);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void clamq_push(struct clamq *q, struct scan_report *rep, int fd, const char *chain,
		json_t *node, const char *sha256, unsigned flags)
{
	struct clamq_task *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->chain = strdup(chain)) == NULL) {
		free(t);
		close(fd);
		scan_report_add(rep, node, FW_VERDICT_UNSCANNABLE, "out of memory before scanning %s", chain);
		return;
	}
	t->rep = rep;
	t->fd = fd;
	t->node = node;
	t->flags = flags;
	snprintf(t->sha256, sizeof(t->sha256), "%s", sha256 ? sha256 : "");
	pthread_mutex_lock(&q->lock);
	while (q->queued + q->running >= q->slots)
		pthread_cond_wait(&q->room, &q->lock);
	if (q->tail != NULL)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	q->queued++;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
}

void clamq_drain(struct clamq *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->queued + q->running > 0)
		pthread_cond_wait(&q->room, &q->lock);
	pthread_mutex_unlock(&q->lock);
}
