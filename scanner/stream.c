/* A package judged while it is still being downloaded (the worker's side
 * of an overlapped fetch and scan). The gateway appends the download to
 * its spool file, writes a byte to a pipe after each write and closes the
 * pipe when the download ends, complete or not. Here:
 *   - waits, bounded, for the bytes a reader needs: the file's size, read
 *     again whenever the pipe says it grew;
 *   - runs ClamAV over the root on a thread of its own as the bytes arrive
 *     (cl_fmap_open_handle with a read callback that waits), with the
 *     flags the walk is expected to give the root;
 *   - hands its outcome to the walk, which adopts it only when the root
 *     turned out to be scanned with those flags, and scans the root again
 *     on the complete file when ClamAV stopped early (a limit, an error).
 * The rest of the walk (typing, unpacking, carving, the YARA rules) starts
 * only once every byte is there, so the verdict covers every byte exactly
 * as a scan of the finished file would. Must not judge anything itself. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <clamav.h>

#include "scanner/scan_int.h"

/* How long one wait for the pipe lasts before the size is read again. */
#define STREAM_POLL_MS 250

struct scan_stream {
	const struct scan_engine *eng;
	int fd;                   /* the package, read-only (not owned) */
	int progress;             /* the pipe's read end (not owned) */
	uint64_t length;          /* what the download will have: its Content-Length */
	struct timespec deadline; /* the gateway's bound on the download, and a margin */
	unsigned flags;           /* CLAMQ_* the streamed ClamAV runs with */
	char name[256];

	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t avail;           /* bytes in the file when last looked */
	bool eof;                 /* the pipe closed: the file has its final size */
	bool pumping;             /* a thread is reading the pipe; others wait on cond */
	bool cancelled;           /* the walk does not want the streamed scan */

	pthread_t thread;
	bool started;
	struct clamq_outcome outcome;
};

static int64_t ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* One turn of the pump, lock not held: a bounded wait on the pipe, its
 * bytes drained, the size read again. */
static void pump(struct scan_stream *st, uint64_t *size, bool *eof)
{
	struct pollfd p = { .fd = st->progress, .events = POLLIN };
	char buf[4096];
	struct stat sb;

	*eof = false;
	if (poll(&p, 1, STREAM_POLL_MS) > 0) {
		for (;;) {
			ssize_t n = read(st->progress, buf, sizeof(buf));

			if (n == 0)
				*eof = true;
			if (n < (ssize_t)sizeof(buf) && !(n < 0 && errno == EINTR))
				break;
		}
	}
	/* Read after the end was seen: the final size. */
	*size = fstat(st->fd, &sb) == 0 && sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
}

/* Waits until at least upto bytes are in the file (upto <= length), or,
 * with all, until the download ended. 0 when they are; -1 when the
 * download ended short, the wait ran past the deadline or the stream was
 * cancelled. */
static int stream_wait(struct scan_stream *st, uint64_t upto, bool all)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	for (;;) {
		uint64_t size;
		bool eof;

		if (st->cancelled) {
			rc = -1;
			break;
		}
		if (st->eof || (!all && st->avail >= upto)) {
			rc = st->avail >= upto ? 0 : -1;
			break;
		}
		if (ms_until(&st->deadline) <= 0) {
			rc = -1;
			break;
		}
		if (st->pumping) {
			pthread_cond_wait(&st->cond, &st->lock);
			continue;
		}
		st->pumping = true;
		pthread_mutex_unlock(&st->lock);
		pump(st, &size, &eof);
		pthread_mutex_lock(&st->lock);
		st->pumping = false;
		if (size > st->avail)
			st->avail = size;
		if (eof)
			st->eof = true;
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* libclamav's read callback: the bytes asked for, once they are there. */
static off_t stream_pread(void *handle, void *buf, size_t count, off_t offset)
{
	struct scan_stream *st = handle;
	uint64_t end, got = 0;

	if (offset < 0 || (uint64_t)offset >= st->length)
		return 0;
	end = (uint64_t)offset + count < st->length ? (uint64_t)offset + count : st->length;
	if (stream_wait(st, end, false) != 0)
		return -1;
	while ((uint64_t)offset + got < end) {
		ssize_t n = pread(st->fd, (char *)buf + got, (size_t)(end - (uint64_t)offset - got),
				  offset + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (uint64_t)n;
	}
	return (off_t)got;
}

static void *stream_clamav(void *arg)
{
	struct scan_stream *st = arg;
	cl_fmap_t *map = cl_fmap_open_handle(st, 0, (size_t)st->length, stream_pread, 1);

	if (map == NULL) {
		st->outcome = (struct clamq_outcome){ .rc = CL_EMEM, .error = "cannot map the download" };
		return NULL;
	}
	clamq_scan_map(st->eng, map, st->name, st->flags, &st->outcome);
	cl_fmap_close(map);
	return NULL;
}

int scan_stream_begin(struct scan_stream **out, const struct scan_engine *eng, int fd,
		      const struct scan_stream_src *src, const char *name)
{
	struct scan_stream *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (st == NULL)
		return -1;
	st->eng = eng;
	st->fd = fd;
	st->progress = src->progress;
	st->length = src->length;
	snprintf(st->name, sizeof(st->name), "%s", name);
	clock_gettime(CLOCK_MONOTONIC, &st->deadline);
	st->deadline.tv_sec += (time_t)src->wait_seconds + 5;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	/* Drained without blocking: the size is what counts, not the bytes. */
	if (fcntl(st->progress, F_SETFL, fcntl(st->progress, F_GETFL) | O_NONBLOCK) != 0) {
		scan_stream_free(st);
		return -1;
	}
	*out = st;
	return 0;
}

int scan_stream_head(struct scan_stream *st, uint64_t bytes)
{
	return stream_wait(st, bytes < st->length ? bytes : st->length, false);
}

int scan_stream_start_clamav(struct scan_stream *st, unsigned flags)
{
	st->flags = flags | CLAMQ_ONLY_CLAMAV;
	if (st->length == 0 || pthread_create(&st->thread, NULL, stream_clamav, st) != 0)
		return -1;
	st->started = true;
	return 0;
}

int scan_stream_wait_all(struct scan_stream *st, uint64_t *size)
{
	int rc = stream_wait(st, st->length, true);

	pthread_mutex_lock(&st->lock);
	*size = st->avail;
	if (rc == 0 && st->avail != st->length)
		rc = -1;
	pthread_mutex_unlock(&st->lock);
	return rc;
}

bool scan_stream_adopt(struct scan_stream *st, unsigned flags)
{
	if (st->started && (st->flags & ~CLAMQ_ONLY_CLAMAV) == flags)
		return true;
	/* The root is scanned otherwise: the streamed pass stops at its
	 * next read. */
	pthread_mutex_lock(&st->lock);
	st->cancelled = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return false;
}

void scan_stream_end(struct scan_stream *st, struct clamq_outcome *out)
{
	if (st->started)
		pthread_join(st->thread, NULL);
	st->started = false;
	*out = st->outcome;
}

void scan_stream_free(struct scan_stream *st)
{
	if (st == NULL)
		return;
	if (st->started) {
		pthread_mutex_lock(&st->lock);
		st->cancelled = true;
		pthread_cond_broadcast(&st->cond);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->thread, NULL);
	}
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
}
