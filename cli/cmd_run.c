/* fwgate run: checks the configuration and the policy, prepares the state
 * directory and the event log, then serves until SIGINT or SIGTERM.
 * Start-up is all-or-nothing: any error stops it before anything runs. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "cli/run_control.h"
#include "cli/run_events.h"
#include "cli/run_notify.h"
#include "cli/run_reload.h"
#include "cli/run_user.h"
#include "fwgate/allowlist.h"
#include "fwgate/console.h"
#include "fwgate/event.h"
#include "fwgate/fileio.h"
#include "fwgate/proxy.h"
#include "fwgate/sandbox.h"
#include "fwgate/scanner.h"
#include "fwgate/store.h"
#include "fwgate_build.h"

/* One gateway per state directory: a second `fwgate run` on it would
 * empty the first one's spool and scanner directories at its start. The
 * lock lives as long as the returned descriptor. */
static int state_dir_lock(const char *dir, int *fd_out, struct fw_err *err)
{
	char path[FW_PATH_MAX];
	int fd;

	*fd_out = -1;
	if (fw_path_join(path, sizeof(path), dir, "fwgate.lock", err) != 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK)
			return fw_err_set(err, "another fwgate run is using the state directory \"%s\" (its pid is in "
					  "fwgate.pid there)", dir);
		return fw_err_sys(err, e, "cannot lock %s", path);
	}
	*fd_out = fd;
	return 0;
}

/* Creates the state directory (0700: it will hold the CA key and
 * quarantined blobs) or checks the existing one. */
static int state_dir_prepare(const char *dir, struct fw_err *err)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create the state directory \"%s\"", dir);
	if (stat(dir, &st) != 0)
		return fw_err_sys(err, errno, "cannot use the state directory \"%s\"", dir);
	if (!S_ISDIR(st.st_mode))
		return fw_err_set(err, "the state directory \"%s\" is not a directory", dir);
	if ((st.st_mode & 0077) != 0 && chmod(dir, st.st_mode & 0700) != 0)
		return fw_err_sys(err, errno, "cannot restrict the state directory \"%s\" to 0700", dir);
	return 0;
}

static void emit_lifecycle(struct fw_evlog *log, const char *action, enum fw_outcome outcome,
			   const struct fw_config *cfg, const struct fw_policy *pol, const char *reason)
{
	emit_lifecycle_extra(log, action, outcome, cfg, pol, reason, NULL, 0);
}

/* Blocks the signals the gateway handles, so that every thread started
 * later inherits the mask and only the main thread's sigwait sees them. */
static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	return pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* What the signal loop needs; the reloads themselves run on their own
 * thread (cli/run_reload.c): compiling a full database takes tens of
 * seconds, and SIGTERM must be heard meanwhile. */
struct reloader {
	struct fw_evlog *log;
	const struct fw_config *cfg;
	const struct fw_policy *pol;
	struct run_reloader *r;
	struct run_notify *notify;    /* told STOPPING at SIGINT or SIGTERM */
	atomic_uint_fast64_t beat_ms; /* the signal loop's last turn (monotonic), for the watchdog */
};

/* The signal loop turns at least this often; the watchdog takes a loop
 * or an accept thread that has not turned for HEALTH_STALE_MS for hung. */
#define SIGNAL_TICK_S 1
#define HEALTH_STALE_MS 5000

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int serve_until_signal(struct reloader *r, const sigset_t *set)
{
	const struct timespec tick = { .tv_sec = SIGNAL_TICK_S };

	for (;;) {
		struct fw_err err;
		int sig;

		atomic_store(&r->beat_ms, mono_ms());
		sig = sigtimedwait(set, NULL, &tick);
		if (sig < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (sig < 0)
			return -1;
		if (sig != SIGHUP) {
			run_notify_stopping(r->notify, sig == SIGINT ? "stopping (SIGINT)" : "stopping (SIGTERM)");
			emit_lifecycle(r->log, "fwgate-stop", FW_OUTCOME_SUCCESS, r->cfg, r->pol,
				       sig == SIGINT ? "SIGINT" : "SIGTERM");
			return 0;
		}
		fw_err_clear(&err);
		if (fw_evlog_reopen(r->log, &err) != 0)
			fprintf(stderr, "fwgate: %s\n", fw_err_msg(&err));
		emit_lifecycle(r->log, "fwgate-reopen-log", FW_OUTCOME_SUCCESS, r->cfg, r->pol, "SIGHUP");
		run_reloader_request(r->r, RUN_RELOAD_SIGHUP, NULL);
	}
}

static void pid_file_write(const struct fw_config *cfg)
{
	char path[FW_PATH_MAX];
	struct fw_err err;
	FILE *f;

	fw_err_clear(&err);
	if (cli_pid_path(cfg, path, sizeof(path), &err) != 0)
		return;
	f = fopen(path, "w");
	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0)
		fprintf(stderr, "fwgate: warning: cannot write %s: fwgate reload will not find this gateway\n", path);
}

static void pid_file_remove(const struct fw_config *cfg)
{
	char path[FW_PATH_MAX];
	struct fw_err err;

	fw_err_clear(&err);
	if (cli_pid_path(cfg, path, sizeof(path), &err) == 0)
		unlink(path);
}

/* What the gateway opens at start, in order; released in reverse. */
struct run_state {
	const struct fw_config *cfg;
	struct fw_scanner *scanner;
	struct fw_store *store;
	struct fw_policy *pol;
	struct fw_evlog *log;
	struct fw_allowlist *allow;
	struct fw_sandbox *sandbox;
	struct fw_proxy *proxy;
	struct fw_console *console;
	struct reloader reloader;
	struct run_control *control;
	struct run_notify *notify;
	struct run_user user;
	int lock_fd;              /* holds the state directory for this run */
	char samples[FW_PATH_MAX];
	/* What a killed run left, removed at start (crash-only start-up). */
	struct fw_dir_empty_stats spool_left, tmp_left, samples_left;
	unsigned store_diffs;
};

static int open_event_log(const struct fw_config *cfg, struct run_state *rs, char *path, size_t len,
			  struct fw_err *err)
{
	if (cfg->log.file[0] == '\0') {
		if (fw_path_join(path, len, cfg->state.dir, "events.log", err) != 0)
			return -1;
	} else if (snprintf(path, len, "%s", cfg->log.file) >= (int)len) {
		return fw_err_set(err, "the event log path is too long");
	}
	if (fw_evlog_open(&rs->log, path, cfg->log.syslog, cfg->log.syslog_facility, err) != 0)
		return -1;
	return fw_evlog_forward(rs->log, cfg, rs->pol->logging.log_forwarding, rs->pol->logging.profile, stderr, err);
}

/* One line on stderr for what start-up removed from one scratch area. */
static void report_leftovers(const char *what, const struct fw_dir_empty_stats *st)
{
	if (st->files + st->dirs > 0)
		fprintf(stderr, "fwgate: removed what an earlier run left in the %s: %u file(s), %u directory(ies)\n",
			what, st->files, st->dirs);
	if (st->left > 0)
		fprintf(stderr, "fwgate: warning: %u leftover(s) in the %s could not be removed (%s)\n", st->left,
			what, st->why);
}

/* The scanner supervisor's life, as events: it died, it is back, a
 * restart failed. Called on the scanner's watcher thread. */
static void scanner_notify(void *arg, enum fw_scanner_event ev, const char *reason, unsigned restarts)
{
	/* Each event's action and outcome, side by side: the outcome is data,
	 * never read back from the action's words. */
	static const struct {
		const char *action;
		enum fw_outcome outcome;
	} events[] = {
		[FW_SCANNER_DOWN] = { "fwgate-scanner-down", FW_OUTCOME_FAILURE },
		[FW_SCANNER_RESTARTED] = { "fwgate-scanner-restarted", FW_OUTCOME_SUCCESS },
		[FW_SCANNER_RESTART_FAILED] = { "fwgate-scanner-restart-failed", FW_OUTCOME_FAILURE },
	};
	const struct run_state *rs = arg;
	const struct fw_event_field more[] = { { .key = "fwgate.scanner.restarts", .num = restarts } };

	if ((size_t)ev >= FW_ARRAY_LEN(events) || events[ev].action == NULL)
		return;
	fprintf(stderr, "fwgate: scanner: %s: %s\n", events[ev].action, reason);
	emit_lifecycle_extra(rs->log, events[ev].action, events[ev].outcome, rs->cfg, rs->pol, reason, more,
			     FW_ARRAY_LEN(more));
}

/* State directory, leftovers, event log, scanner, store, allow-list and
 * categories, CA. The scanner's supervisor is a fresh exec of this binary
 * (it inherits no descriptor and no memory of the gateway), and it is
 * started before the CA key is loaded all the same. Leftovers of a killed
 * run in the spool, the scanner's temporary directory and the samples are
 * removed, never a reason to refuse the start. */
static int run_prepare(const struct fw_config *cfg, struct run_state *rs, char *log_path, size_t len,
		       struct fw_err *err)
{
	char db[FW_PATH_MAX], host[256], tmp[FW_PATH_MAX];
	bool created = false;
	struct fw_scanner_opts so = {
		.exe = "/proc/self/exe", .tmp_dir = tmp, .samples_dir = rs->samples, .info = stderr, .watch = true,
		.notify = scanner_notify, .notify_arg = rs,
	};

	if (state_dir_prepare(cfg->state.dir, err) != 0 || state_dir_lock(cfg->state.dir, &rs->lock_fd, err) != 0 ||
	    fw_spool_dir_prepare(cfg->state.dir, &rs->spool_left, err) != 0 ||
	    fw_scan_tmp_prepare(cfg->state.dir, tmp, sizeof(tmp), &rs->tmp_left, err) != 0 ||
	    fw_sandbox_samples_prepare(cfg->state.dir, rs->samples, sizeof(rs->samples), &rs->samples_left, err) != 0 ||
	    open_event_log(cfg, rs, log_path, len, err) != 0 ||
	    fw_scanner_start(&rs->scanner, cfg, &so, err) != 0 ||
	    fw_store_open(&rs->store, cfg->state.dir, err) != 0 ||
	    fw_store_reconcile(rs->store, stderr, &rs->store_diffs, err) != 0 ||
	    fw_path_join(db, sizeof(db), cfg->state.dir, "fwgate.db", err) != 0 ||
	    fw_allowlist_open(&rs->allow, rs->pol, cfg->policy.allowlist, db, err) != 0)
		return -1;
	report_leftovers("spool", &rs->spool_left);
	report_leftovers("scanner's temporary directory", &rs->tmp_left);
	report_leftovers("sandbox samples", &rs->samples_left);
	if (rs->store_diffs > 0)
		fprintf(stderr, "fwgate: the store and its database differed in %u place(s), listed above and "
			"repaired (fwgate store verify re-hashes every blob)\n", rs->store_diffs);
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "%s", "unnamed deployment");
	host[sizeof(host) - 1] = '\0';
	if (fw_ca_ensure(cfg->state.dir, host, &created, err) != 0)
		return -1;
	if (created)
		fprintf(stderr, "fwgate: created the interception CA %s/ca/ca.crt: clients must trust it "
			"(fwgate ca show)\n", cfg->state.dir);
	if (fw_allowlist_count(rs->allow) == 0)
		fprintf(stderr, "fwgate: warning: no domain is allow-listed ([policy] allowlist): "
			"every destination will be refused\n");
	if (rs->pol->url_filtering.n_block_categories > 0 && fw_allowlist_category_count(rs->allow) == 0)
		fprintf(stderr, "fwgate: warning: the category database is empty: blocked categories "
			"cannot match (fwgate categories import)\n");
	return 0;
}

/* The start event, with what start-up found and repaired. */
static void emit_start(const struct run_state *rs, const struct fw_config *cfg)
{
	char summary[FW_SCANNER_SUMMARY_MAX];
	const struct fw_event_field more[] = {
		{ .key = "fwgate.start.removed.spool", .num = rs->spool_left.files + rs->spool_left.dirs },
		{ .key = "fwgate.start.removed.tmp", .num = rs->tmp_left.files + rs->tmp_left.dirs },
		{ .key = "fwgate.start.removed.samples", .num = rs->samples_left.files + rs->samples_left.dirs },
		{ .key = "fwgate.start.left", .num = rs->spool_left.left + rs->tmp_left.left + rs->samples_left.left },
		{ .key = "fwgate.start.store_repairs", .num = rs->store_diffs },
	};

	emit_lifecycle_extra(rs->log, "fwgate-start", FW_OUTCOME_SUCCESS, cfg, rs->pol,
			     fw_scanner_summary(rs->scanner, summary, sizeof(summary)), more, FW_ARRAY_LEN(more));
}

static void run_release(struct run_state *rs)
{
	/* Stop accepting and wake every connection; tell the sandbox runners
	 * to stop; shut the scanner so that every job waited on returns at
	 * once (an analysis left running is taken up at the next start). Then
	 * every thread is joined, and only then is anything freed. The
	 * watchdog's probe reads the proxy: it stops first. */
	run_notify_quiesce(rs->notify);
	run_control_stop(rs->control);
	fw_console_stop(rs->console);
	fw_proxy_quiesce(rs->proxy);
	fw_sandbox_quiesce(rs->sandbox);
	fw_scanner_cancel(rs->scanner);
	run_reloader_stop(rs->reloader.r);
	fw_proxy_stop(rs->proxy);
	fw_sandbox_stop(rs->sandbox);
	fw_scanner_stop(rs->scanner);
	fw_store_close(rs->store);
	fw_allowlist_free(rs->allow);
	fw_evlog_close(rs->log);
	fw_policy_free(rs->pol);
	if (rs->lock_fd >= 0)
		close(rs->lock_fd);
	run_notify_stop(rs->notify);
}

/* The watchdog's probe: the signal loop and the proxy's accept loop have
 * turned lately (each turns every second when idle). Called only after
 * READY, when rs->proxy is set. */
static bool run_healthy(void *arg, char *why, size_t len)
{
	struct run_state *rs = arg;
	uint64_t now = mono_ms(), beat = atomic_load(&rs->reloader.beat_ms);
	struct fw_proxy_status ps;

	if (now > beat && now - beat > HEALTH_STALE_MS) {
		snprintf(why, len, "the signal loop has not turned for %llu ms", (unsigned long long)(now - beat));
		return false;
	}
	fw_proxy_status(rs->proxy, &ps);
	if (ps.accept_idle_ms > HEALTH_STALE_MS) {
		snprintf(why, len, "the proxy's accept loop has not turned for %llu ms",
			 (unsigned long long)ps.accept_idle_ms);
		return false;
	}
	return true;
}

/* Descriptors: a connection holds its socket, its vendor connection and a
 * spool file at least; refusals and the store hold more. The soft limit
 * is raised to the hard one, and a hard limit too low for max_clients is
 * said at start rather than found as EMFILE under load. */
static void raise_fd_limit(const struct fw_config *cfg)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg->proxy.max_clients * 4 + 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		fprintf(stderr, "fwgate: warning: the descriptor limit is %llu, below the %llu that %u clients may "
			"need (raise LimitNOFILE / ulimit -n, or lower [proxy] max_clients)\n",
			(unsigned long long)rl.rlim_cur, (unsigned long long)want, cfg->proxy.max_clients);
}

/* systemd's notifications and watchdog (a no-op outside systemd); the
 * reloader's beat, which the watchdog's probe reads, is set first. Call
 * with the signals blocked: the watchdog thread inherits the mask. */
static int run_notify_begin(struct run_state *rs, struct fw_err *err)
{
	rs->reloader = (struct reloader){ .cfg = rs->cfg, .pol = rs->pol };
	atomic_init(&rs->reloader.beat_ms, mono_ms());
	if (run_notify_start(&rs->notify, run_healthy, rs, err) != 0)
		return -1;
	rs->reloader.notify = rs->notify;
	run_notify_status(rs->notify, "starting: state directory, signatures, store");
	return 0;
}

/* The listeners are up: the control socket, the start event, the reloads
 * (SIGHUP and the signature watch), the pid file, the line on stderr,
 * READY for systemd. */
static int run_announce(struct cli_ctx *ctx, struct run_state *rs, const char *log_path, struct fw_err *err)
{
	const struct run_control_deps ctl = { .cfg = ctx->cfg, .scanner = rs->scanner, .sandbox = rs->sandbox,
					      .store = rs->store, .proxy = rs->proxy, .started = time(NULL) };
	const struct run_reload_deps rd = { .log = rs->log, .scanner = rs->scanner, .cfg = ctx->cfg, .pol = rs->pol,
					    .notify = rs->notify };
	char addr[96], caddr[96], status[256];

	if (run_user_bound(&rs->user, err) != 0 || run_control_start(&rs->control, &ctl, err) != 0)
		return -1;
	emit_start(rs, ctx->cfg);
	if (run_reloader_start(&rs->reloader.r, &rd, err) != 0)
		return -1;
	pid_file_write(ctx->cfg);
	fprintf(stderr, "fwgate %s: serving on %s (pid %ld); console %s; config %s; policy %s, rule %s; state %s; "
		"events %s\n",
		FWGATE_VERSION, fw_listen_addr_str(&ctx->cfg->proxy.listen[0], addr, sizeof(addr)),
		(long)getpid(), fw_listen_addr_str(&ctx->cfg->console.listen, caddr, sizeof(caddr)),
		ctx->cfg->path[0] ? ctx->cfg->path : "embedded default", rs->pol->source,
		rs->pol->rule, ctx->cfg->state.dir, log_path);
	snprintf(status, sizeof(status), "serving on %s; console %s", addr, caddr);
	run_notify_ready(rs->notify, status);
	return 0;
}

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
	struct run_state rs = { .cfg = NULL, .lock_fd = -1 };
	struct fw_proxy_deps deps;
	char log_path[FW_PATH_MAX];
	struct fw_err err;
	sigset_t set;
	int rc;

	fw_err_clear(&err);
	if (argc > 1)
		return cli_is_option(argv[1]) ? cli_usage_error("run", "unknown option \"%s\"", argv[1])
					      : cli_usage_error("run", "takes no arguments");
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	rs.cfg = ctx->cfg;
	rc = cli_load_policy(ctx->cfg, NULL, NULL, &rs.pol);
	if (rc != CLI_OK)
		return rc;
	rc = CLI_ERROR;
	if (fw_sandbox_check(ctx->cfg, rs.pol, &err) != 0)
		goto fail;
	/* [run] user before anything touches the state directory or starts
	 * the scanner, while this is the only thread. */
	if (run_user_become(ctx->cfg, &rs.user, &err) != 0)
		goto fail;
	/* No process of the same user may ptrace the gateway or read its
	 * memory (the CA key) through /proc: a compromised scanner worker
	 * included. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fw_err_sys(&err, errno, "cannot make the gateway non-dumpable");
		goto fail;
	}
	raise_fd_limit(ctx->cfg);
	if (block_signals(&set) != 0) {
		fw_err_set(&err, "cannot block signals");
		goto fail;
	}
	if (run_notify_begin(&rs, &err) != 0)
		goto fail;
	if (run_prepare(ctx->cfg, &rs, log_path, sizeof(log_path), &err) != 0)
		goto fail;
	{
		const struct fw_sandbox_deps sd = { .cfg = ctx->cfg, .pol = rs.pol, .store = rs.store,
						    .scanner = rs.scanner, .log = rs.log, .samples_dir = rs.samples };

		if (fw_sandbox_start(&rs.sandbox, &sd, &err) != 0)
			goto fail;
	}
	deps = (struct fw_proxy_deps){ .cfg = ctx->cfg, .pol = rs.pol, .allow = rs.allow, .log = rs.log,
				      .scanner = rs.scanner, .store = rs.store, .sandbox = rs.sandbox };
	if (fw_proxy_start(&rs.proxy, &deps, &err) != 0)
		goto fail;
	{
		const struct fw_console_deps cd = { .cfg = ctx->cfg, .pol = rs.pol, .store = rs.store, .log = rs.log,
						    .log_path = log_path, .scanner = rs.scanner, .sandbox = rs.sandbox };

		if (fw_console_start(&rs.console, &cd, &err) != 0)
			goto fail;
	}
	rs.reloader.log = rs.log;
	if (run_announce(ctx, &rs, log_path, &err) != 0)
		goto fail;
	if (serve_until_signal(&rs.reloader, &set) != 0) {
		fw_err_sys(&err, errno, "waiting for signals failed");
		goto fail;
	}
	pid_file_remove(ctx->cfg);
	rc = CLI_OK;
	goto out;
fail:
	fprintf(stderr, "fwgate: %s\n", fw_err_msg(&err));
	run_notify_stopping(rs.notify, "start-up failed");
out:
	run_release(&rs);
	return rc;
}
