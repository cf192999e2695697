/* An LD_PRELOAD shim for the allocation-failure run (tests/torture/run.sh):
 * counts the process's allocations (malloc, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc; glibc's strdup, asprintf,
 * fopen... call these) and makes the Nth one fail with ENOMEM, as curl's
 * torture tests and SQLite's malloc tests do. Owns nothing else: it frees
 * through glibc and decides nothing about what a failure means.
 *
 *   FWGATE_FAILALLOC_N=N        fail allocation number N (1-based); 0 or
 *                               unset: fail none, only count
 *   FWGATE_FAILALLOC_REPORT=F   at exit, write the count (and whether the
 *                               failure was injected) to file F
 *   FWGATE_FAILALLOC_TRACE=F    write the stack of the failed allocation to
 *                               file F (backtrace_symbols_fd: the caller
 *                               that got NULL, whatever happens next)
 *
 * Both variables and LD_PRELOAD are removed from the environment at start,
 * so processes the test starts are not tortured themselves. */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static unsigned long long fail_at;  /* 0: none */
static unsigned long long counted;
static int injected;
static pid_t main_pid;
static char report[512];
static int trace_fd = -1;

/* 1 when this allocation is to fail. */
static int fail_now(void)
{
	unsigned long long n = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);

	if (fail_at == 0 || n != fail_at)
		return 0;
	__atomic_store_n(&injected, 1, __ATOMIC_RELAXED);
	if (trace_fd >= 0) {
		void *frames[48];
		int depth = backtrace(frames, 48);

		backtrace_symbols_fd(frames, depth, trace_fd);
	}
	errno = ENOMEM;
	return 1;
}

__attribute__((constructor)) static void failmalloc_init(void)
{
	const char *n = getenv("FWGATE_FAILALLOC_N"), *r = getenv("FWGATE_FAILALLOC_REPORT");
	const char *tr = getenv("FWGATE_FAILALLOC_TRACE");
	unsigned long long v = 0;
	void *warm[2];

	for (const char *p = n; p != NULL && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (unsigned long long)(*p - '0');
	if (r != NULL && strlen(r) < sizeof(report))
		memcpy(report, r, strlen(r) + 1);
	main_pid = getpid();
	if (tr != NULL) {
		trace_fd = open(tr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		/* backtrace loads libgcc_s (allocating) on its first call: now */
		(void)backtrace(warm, 2);
	}
	unsetenv("FWGATE_FAILALLOC_N");
	unsetenv("FWGATE_FAILALLOC_TRACE");
	unsetenv("FWGATE_FAILALLOC_REPORT");
	unsetenv("LD_PRELOAD");
	counted = 0;
	fail_at = v; /* armed last: the start-up above is not counted */
}

__attribute__((destructor)) static void failmalloc_fini(void)
{
	char line[96];
	int fd, len;

	if (report[0] == '\0' || getpid() != main_pid)
		return;
	len = snprintf(line, sizeof(line), "%llu %d\n", __atomic_load_n(&counted, __ATOMIC_RELAXED),
		       __atomic_load_n(&injected, __ATOMIC_RELAXED));
	fd = open(report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (len > 0 && write(fd, line, (size_t)len) < 0)
		len = 0;
	close(fd);
}

void *malloc(size_t size)
{
	return fail_now() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	/* realloc(p, 0) frees: not an allocation that can fail */
	if (p != NULL && size == 0)
		return __libc_realloc(p, size);
	return fail_now() ? NULL : __libc_realloc(p, size);
}

void *reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * size);
}

void free(void *p)
{
	__libc_free(p);
}

void *memalign(size_t align, size_t size)
{
	return fail_now() ? NULL : __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	p = memalign(align, size);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *valloc(size_t size)
{
	return memalign((size_t)sysconf(_SC_PAGESIZE), size);
}
