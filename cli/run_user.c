/* The change of user of fwgate run (run_user.h): getpwnam, initgroups,
 * setresgid/setresuid, and capabilities through the raw capget/capset
 * system calls. Owns the state directory's ownership check; must not
 * open anything in the state directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli/run_user.h"

bool run_user_needs_bind_cap(const struct fw_config *cfg)
{
	const struct fw_listen_addr *one[] = { &cfg->console.listen, &cfg->mirror.listen, &cfg->mirror.http_listen };

	for (unsigned i = 0; i < cfg->proxy.n_listen; i++)
		if (cfg->proxy.listen[i].port > 0 && cfg->proxy.listen[i].port < 1024)
			return true;
	for (size_t i = 0; i < FW_ARRAY_LEN(one); i++)
		if (one[i]->port > 0 && one[i]->port < 1024)
			return true;
	return false;
}

/* Sets this thread's permitted and effective sets to bits (inheritable
 * empty), or reads them into *eff and *prm. */
static int caps_set(uint64_t bits)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)bits, .permitted = (uint32_t)bits, .inheritable = 0 },
		{ .effective = (uint32_t)(bits >> 32), .permitted = (uint32_t)(bits >> 32), .inheritable = 0 },
	};

	return (int)syscall(SYS_capset, &h, d);
}

static int caps_get(uint64_t *eff, uint64_t *prm)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	*eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	*prm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	return 0;
}

/* capset changes the calling thread only, and threads started between
 * the change of user and the bind (the scanner's watcher, the sandbox
 * runners, the proxy's and the console's) hold the bind capability too.
 * Each drops its own in a handler of this signal, as libcap's psx does.
 * The handler stays installed: a late signal must not end the process. */
#define CAPDROP_SIGNAL (SIGRTMIN + 4)
#define CAPDROP_ROUNDS 100
#define CAPDROP_ROUND_MS 10

static void capdrop_handler(int sig)
{
	int saved = errno;

	(void)sig;
	/* A failure shows in the caller's scan of /proc: the thread still
	 * holds the capability, and the start fails. */
	(void)caps_set(0);
	errno = saved;
}

/* The thread's permitted set from /proc/self/task/TID/status; -1 when
 * the thread has ended. */
static long long task_cap_prm(long tid)
{
	char path[64], line[128];
	long long prm = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", tid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "CapPrm:", 7) == 0)
			prm = strtoll(line + 7, NULL, 16);
	fclose(f);
	return prm;
}

/* Signals every other thread that still holds a capability, until none
 * does (new threads inherit from their creator: rounds until a scan finds
 * none), within CAPDROP_ROUNDS rounds. */
static int caps_drop_all_threads(struct fw_err *err)
{
	struct sigaction sa = { .sa_handler = capdrop_handler, .sa_flags = SA_RESTART };
	const struct timespec pause = { .tv_nsec = CAPDROP_ROUND_MS * 1000000L };
	pid_t self = (pid_t)syscall(SYS_gettid);
	unsigned left = 1;

	sigemptyset(&sa.sa_mask);
	if (sigaction(CAPDROP_SIGNAL, &sa, NULL) != 0)
		return fw_err_sys(err, errno, "cannot install the capability drop's signal handler");
	for (int round = 0; round < CAPDROP_ROUNDS && left > 0; round++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;

		if (d == NULL)
			return fw_err_sys(err, errno, "cannot list the gateway's threads");
		left = 0;
		while ((e = readdir(d)) != NULL) {
			long tid = strtol(e->d_name, NULL, 10);

			if (tid <= 0 || tid == (long)self || task_cap_prm(tid) <= 0)
				continue;
			left++;
			if (syscall(SYS_tgkill, getpid(), (pid_t)tid, CAPDROP_SIGNAL) != 0 && errno != ESRCH) {
				int saved = errno;

				closedir(d);
				return fw_err_sys(err, saved, "cannot signal thread %ld to drop its capabilities", tid);
			}
		}
		closedir(d);
		if (left > 0)
			nanosleep(&pause, NULL);
	}
	if (left > 0)
		return fw_err_set(err, "%u thread(s) still hold CAP_NET_BIND_SERVICE after %d ms", left,
				  CAPDROP_ROUNDS * CAPDROP_ROUND_MS);
	return 0;
}

/* The state directory must be the user's: created so when missing, else
 * it and each entry in it must be owned by the user already (a gateway
 * that ran as root before left root's files: the operator chowns them). */
static int state_dir_for(const char *dir, const struct passwd *pw, struct fw_err *err)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (mkdir(dir, 0700) == 0) {
		if (chown(dir, pw->pw_uid, pw->pw_gid) != 0)
			return fw_err_sys(err, errno, "cannot give the new state directory \"%s\" to %s", dir, pw->pw_name);
		return 0;
	}
	if (errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create the state directory \"%s\"", dir);
	if (lstat(dir, &st) != 0)
		return fw_err_sys(err, errno, "cannot use the state directory \"%s\"", dir);
	if (!S_ISDIR(st.st_mode))
		return fw_err_set(err, "the state directory \"%s\" is not a directory", dir);
	if (st.st_uid != pw->pw_uid)
		return fw_err_setc(err, FW_E_DENIED, "the state directory \"%s\" belongs to uid %ld, not to [run] user %s: "
				   "run `chown -R %s: %s` (or point [state] dir elsewhere)", dir, (long)st.st_uid,
				   pw->pw_name, pw->pw_name, dir);
	d = opendir(dir);
	if (d == NULL)
		return fw_err_sys(err, errno, "cannot read the state directory \"%s\"", dir);
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			rc = fw_err_sys(err, errno, "cannot check %s/%s", dir, e->d_name);
		else if (st.st_uid != pw->pw_uid)
			rc = fw_err_setc(err, FW_E_DENIED, "%s/%s in the state directory belongs to uid %ld, not to [run] "
					 "user %s: run `chown -R %s: %s`", dir, e->d_name, (long)st.st_uid, pw->pw_name,
					 pw->pw_name, dir);
	}
	if (rc == 0 && errno != 0)
		rc = fw_err_sys(err, errno, "cannot read the state directory \"%s\"", dir);
	closedir(d);
	return rc;
}

/* root → pw: groups first (they need root), then the user ids, all three,
 * so that nothing can return to root. */
static int switch_to(const struct passwd *pw, bool keep_bind, struct fw_err *err)
{
	uint64_t eff = 0, prm = 0, want = keep_bind ? 1ULL << CAP_NET_BIND_SERVICE : 0;

	if (keep_bind && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return fw_err_sys(err, errno, "cannot keep capabilities across the change of user");
	if (initgroups(pw->pw_name, pw->pw_gid) != 0)
		return fw_err_sys(err, errno, "cannot set the groups of %s", pw->pw_name);
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0)
		return fw_err_sys(err, errno, "cannot become group %ld", (long)pw->pw_gid);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		return fw_err_sys(err, errno, "cannot become user %s", pw->pw_name);
	/* Kept across the switch (KEEPCAPS) are all of root's permitted
	 * capabilities: only the bind one stays. */
	if (keep_bind && (caps_set(want) != 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0))
		return fw_err_sys(err, errno, "cannot keep only CAP_NET_BIND_SERVICE");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		return fw_err_sys(err, errno, "cannot clear the ambient capabilities");
	if (caps_get(&eff, &prm) != 0)
		return fw_err_sys(err, errno, "cannot read the capabilities");
	if (eff != want || prm != want)
		return fw_err_set(err, "capabilities left after the change of user: effective %#llx, permitted %#llx",
				  (unsigned long long)eff, (unsigned long long)prm);
	/* What must fail now: getting root back. */
	if (setuid(0) == 0)
		return fw_err_set(err, "could become root again after the change of user");
	return 0;
}

static void say_user(void)
{
	struct passwd *pw = getpwuid(geteuid());

	fprintf(stderr, "fwgate: running as user %s (uid %ld, gid %ld)\n", pw != NULL ? pw->pw_name : "?",
		(long)geteuid(), (long)getegid());
}

int run_user_become(const struct fw_config *cfg, struct run_user *ru, struct fw_err *err)
{
	struct passwd *pw;

	*ru = (struct run_user){ .uid = geteuid(), .gid = getegid() };
	if (cfg->run.user[0] == '\0') {
		say_user();
		return 0;
	}
	errno = 0;
	pw = getpwnam(cfg->run.user);
	if (pw == NULL)
		return errno != 0 ? fw_err_sys(err, errno, "[run] user %s: cannot look the user up", cfg->run.user)
				  : fw_err_setc(err, FW_E_CONFIG, "[run] user %s: no such user", cfg->run.user);
	if (pw->pw_uid == geteuid()) {
		say_user();
		return 0;
	}
	if (geteuid() != 0)
		return fw_err_setc(err, FW_E_DENIED, "[run] user is %s, but fwgate run was started as uid %ld, not as root: "
				   "start it as root (it becomes %s) or as %s", cfg->run.user, (long)geteuid(),
				   cfg->run.user, cfg->run.user);
	snprintf(ru->name, sizeof(ru->name), "%s", pw->pw_name);
	ru->uid = pw->pw_uid;
	ru->gid = pw->pw_gid;
	ru->kept_bind = run_user_needs_bind_cap(cfg);
	if (state_dir_for(cfg->state.dir, pw, err) != 0 || switch_to(pw, ru->kept_bind, err) != 0)
		return -1;
	ru->switched = true;
	say_user();
	if (ru->kept_bind)
		fprintf(stderr, "fwgate: keeping CAP_NET_BIND_SERVICE until the listeners are bound (a port below 1024)\n");
	return 0;
}

int run_user_bound(struct run_user *ru, struct fw_err *err)
{
	uint64_t eff = 0, prm = 0;

	if (!ru->kept_bind)
		return 0;
	if (caps_set(0) != 0)
		return fw_err_sys(err, errno, "cannot drop CAP_NET_BIND_SERVICE");
	if (caps_drop_all_threads(err) != 0)
		return -1;
	if (caps_get(&eff, &prm) != 0)
		return fw_err_sys(err, errno, "cannot read the capabilities");
	if (eff != 0 || prm != 0)
		return fw_err_set(err, "capabilities left after the listeners were bound: effective %#llx, permitted %#llx",
				  (unsigned long long)eff, (unsigned long long)prm);
	ru->kept_bind = false;
	fprintf(stderr, "fwgate: the listeners are bound: CAP_NET_BIND_SERVICE dropped by every thread\n");
	return 0;
}
