/* The signature watch: inotify on the signature directories (or their
 * parents while they are missing), debounced (sigwatch_debounce.c), says
 * when a reload is due. Owns its thread and its descriptors; must not
 * reload by itself or talk to the supervisor: the caller reloads, one at a
 * time, on the same path as SIGHUP. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "scanner/scan_int.h"
#include "scanner/sigdb.h"

/* What freshclam and people do to a database: write and close it, rename
 * it into place (freshclam: a temporary file, then rename), delete it,
 * change its mode. The directory itself may go away or be replaced. */
#define DIR_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_CREATE | IN_MOVED_FROM | IN_ATTRIB | \
		  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_MASK_ADD)
/* A missing directory is awaited in its parent. IN_MASK_ADD: the parent
 * may be watched as a signature directory of its own. */
#define PARENT_MASK (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD)
/* A burst of changes reloads at the latest this many debounce periods
 * after its first change. */
#define MAX_WAIT_FACTOR 10
#define EVENT_BUF (64 * 1024)

struct watched_dir {
	char path[FW_PATH_MAX];
	char parent[FW_PATH_MAX];
	const char *base;         /* the last component, inside path */
	int wd;                   /* the directory's watch; -1 while it is missing */
	int parent_wd;            /* its parent's, while it is missing; else -1 */
};

struct fw_sigwatch {
	int ifd;                  /* inotify */
	int wake;                 /* eventfd: stop */
	pthread_t thread;
	bool started;
	fw_sigwatch_fn fn;
	void *arg;
	/* The thread's own from here on. */
	struct sigwatch_debounce deb;
	char first_change[FW_PATH_MAX + 64];
	unsigned n_dirs;
	struct watched_dir dirs[FW_SIGDIR_MAX];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dir_init(struct watched_dir *d, const char *path, struct fw_err *err)
{
	size_t len = strlen(path);
	const char *slash;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= sizeof(d->path))
		return fw_err_set(err, "the signature directory path \"%s\" is too long", path);
	memcpy(d->path, path, len);
	d->path[len] = '\0';
	slash = strrchr(d->path, '/');
	if (slash == NULL) {
		snprintf(d->parent, sizeof(d->parent), ".");
		d->base = d->path;
	} else {
		size_t plen = slash == d->path ? 1 : (size_t)(slash - d->path);

		memcpy(d->parent, d->path, plen);
		d->parent[plen] = '\0';
		d->base = slash + 1;
	}
	d->wd = d->parent_wd = -1;
	return 0;
}

/* Whether another role still uses wd (inotify gives one watch per inode:
 * a directory and the parent of another may share it). */
static bool wd_in_use(const struct fw_sigwatch *w, int wd)
{
	for (unsigned i = 0; i < w->n_dirs; i++)
		if (w->dirs[i].wd == wd || w->dirs[i].parent_wd == wd)
			return true;
	return false;
}

static void wd_release(struct fw_sigwatch *w, int *wd)
{
	int old = *wd;

	*wd = -1;
	if (old >= 0 && !wd_in_use(w, old))
		(void)inotify_rm_watch(w->ifd, old); /* gone already when its directory was deleted */
}

/* Watches the directory, or its parent while it is missing. Returns 1 when
 * the directory itself is watched, 0 when its parent is, -1 with err. */
static int dir_arm(struct fw_sigwatch *w, struct watched_dir *d, struct fw_err *err)
{
	int wd;

	for (int attempt = 0; attempt < 2; attempt++) {
		wd = inotify_add_watch(w->ifd, d->path, DIR_MASK);
		if (wd >= 0) {
			d->wd = wd;
			wd_release(w, &d->parent_wd);
			return 1;
		}
		if (errno != ENOENT && errno != ENOTDIR)
			return fw_err_sys(err, errno, "cannot watch the signature directory \"%s\"%s", d->path,
					  errno == ENOSPC ? " (fs.inotify.max_user_watches)" : "");
		if (d->parent_wd >= 0)
			return 0;
		wd = inotify_add_watch(w->ifd, d->parent, PARENT_MASK);
		if (wd < 0)
			return fw_err_sys(err, errno, "the signature directory \"%s\" is missing and its parent \"%s\" "
					  "cannot be watched for it", d->path, d->parent);
		d->parent_wd = wd;
		/* It may have appeared between the two calls: look once more. */
	}
	return 0;
}

static void changed(struct fw_sigwatch *w, const char *dir, const char *what)
{
	if (w->deb.state == SIGWATCH_IDLE)
		snprintf(w->first_change, sizeof(w->first_change), "%s in %s", what, dir);
	(void)sigwatch_debounce_step(&w->deb, SIGWATCH_CHANGE, mono_ms());
}

static void lost(struct fw_sigwatch *w, const struct fw_err *err)
{
	w->fn(w->arg, FW_SIGWATCH_LOST, fw_err_msg(err));
}

static void on_event(struct fw_sigwatch *w, const struct inotify_event *ev)
{
	struct fw_err err;

	if (ev->mask & IN_Q_OVERFLOW) {
		changed(w, "every signature directory", "the kernel's event queue overflowed");
		return;
	}
	for (unsigned i = 0; i < w->n_dirs; i++) {
		struct watched_dir *d = &w->dirs[i];

		fw_err_clear(&err);
		if (ev->wd == d->wd && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))) {
			/* Deleted or moved away: what takes its name later is
			 * watched instead, and the reload finds out what is left. */
			wd_release(w, &d->wd);
			if (dir_arm(w, d, &err) < 0)
				lost(w, &err);
			changed(w, d->path, "the directory was deleted or moved");
		} else if (ev->wd == d->wd && ev->len > 0 && !(ev->mask & IN_ISDIR) &&
			   sigdb_name_loadable(ev->name)) {
			changed(w, d->path, ev->name);
		} else if (ev->wd == d->parent_wd && ev->len > 0 && (ev->mask & IN_ISDIR) &&
			   strcmp(ev->name, d->base) == 0) {
			int armed = dir_arm(w, d, &err);

			if (armed < 0)
				lost(w, &err);
			else if (armed == 1)
				changed(w, d->path, "the directory appeared");
		}
	}
}

/* Reads what inotify has; false when the descriptor failed. */
static bool drain(struct fw_sigwatch *w, char *buf)
{
	ssize_t n = read(w->ifd, buf, EVENT_BUF);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
		const struct inotify_event *ev = (const struct inotify_event *)(const void *)(buf + off);

		if (off + (ssize_t)sizeof(*ev) + (ssize_t)ev->len > n)
			break;
		on_event(w, ev);
		off += (ssize_t)sizeof(*ev) + (ssize_t)ev->len;
	}
	return true;
}

static void *watch_main(void *arg)
{
	struct fw_sigwatch *w = arg;
	/* inotify_event is aligned for its int members. */
	static _Thread_local char buf[EVENT_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct fw_err err;

	for (;;) {
		struct pollfd p[2] = { { .fd = w->ifd, .events = POLLIN }, { .fd = w->wake, .events = POLLIN } };
		int64_t wait = sigwatch_debounce_wait_ms(&w->deb, mono_ms());
		int rc = poll(p, 2, wait < 0 ? -1 : wait > INT_MAX ? INT_MAX : (int)wait);

		if (rc < 0 && errno != EINTR)
			break;
		if (p[1].revents != 0)
			break;
		if ((p[0].revents & POLLIN) && !drain(w, buf)) {
			fw_err_sys(&err, errno, "the signature watch failed; signatures reload on SIGHUP only");
			lost(w, &err);
			break;
		}
		if (sigwatch_debounce_step(&w->deb, SIGWATCH_TICK, mono_ms()))
			w->fn(w->arg, FW_SIGWATCH_CHANGED, w->first_change);
	}
	return NULL;
}

int fw_sigwatch_start(struct fw_sigwatch **out, const struct fw_config *cfg, fw_sigwatch_fn fn, void *arg,
		      struct fw_err *err)
{
	struct fw_sigwatch *w;
	int64_t quiet_ms = (int64_t)cfg->scanner.reload_debounce_seconds * 1000;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return fw_err_set(err, "out of memory");
	w->wake = -1;
	w->fn = fn;
	w->arg = arg;
	sigwatch_debounce_init(&w->deb, quiet_ms, quiet_ms * MAX_WAIT_FACTOR);
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0) {
		fw_err_sys(err, errno, "cannot start inotify for the signature watch%s",
			   errno == EMFILE ? " (fs.inotify.max_user_instances)" : "");
		goto fail;
	}
	w->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wake < 0) {
		fw_err_sys(err, errno, "cannot create the signature watch's wake-up descriptor");
		goto fail;
	}
	if (cfg->scanner.n_signatures == 0) {
		if (dir_init(&w->dirs[w->n_dirs++], SCAN_SYSTEM_DB_DIR, err) != 0)
			goto fail;
	}
	for (unsigned i = 0; i < cfg->scanner.n_signatures && i < FW_SIGDIR_MAX; i++)
		if (dir_init(&w->dirs[w->n_dirs++], cfg->scanner.signatures[i], err) != 0)
			goto fail;
	for (unsigned i = 0; i < w->n_dirs; i++)
		if (dir_arm(w, &w->dirs[i], err) < 0)
			goto fail;
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		fw_err_set(err, "cannot start the signature watch's thread");
		goto fail;
	}
	w->started = true;
	*out = w;
	return 0;
fail:
	fw_sigwatch_stop(w);
	return -1;
}

void fw_sigwatch_stop(struct fw_sigwatch *w)
{
	uint64_t one = 1;

	if (w == NULL)
		return;
	if (w->started) {
		if (write(w->wake, &one, sizeof(one)) != (ssize_t)sizeof(one))
			fprintf(stderr, "fwgate: cannot wake the signature watch to stop it\n");
		pthread_join(w->thread, NULL);
	}
	if (w->wake >= 0)
		close(w->wake);
	if (w->ifd >= 0)
		close(w->ifd);
	free(w);
}
