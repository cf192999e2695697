/* Scanner worker file-system confinement with Landlock: after it, a worker
 * may create, read and remove files only in the scanner's temporary
 * directory and read /usr (libraries and charset modules that libarchive's
 * iconv loads late); it cannot open the CA key, the database, the
 * quarantine or anything else of the state directory. On kernels with
 * Landlock ABI 4+ TCP bind and connect are refused too, and on ABI 6+
 * signals and abstract sockets outside the worker. Complements the
 * seccomp filter (sandbox.c), which cannot filter paths. Must not open
 * anything but the directories it grants. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scanner/seccomp.h"
#include "scanner/scan_int.h"

/* Debian 12's <linux/landlock.h> stops at ABI 2; the kernel's ABI is
 * asked at run time and only what it knows is requested. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;    /* ABI 4 */
	uint64_t scoped;                /* ABI 6 */
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_REMOVE_DIR (1ull << 4)
#define LL_FS_REMOVE_FILE (1ull << 5)
#define LL_FS_MAKE_DIR (1ull << 7)
#define LL_FS_MAKE_REG (1ull << 8)
#define LL_FS_ALL_V1 ((1ull << 13) - 1)
#define LL_FS_REFER (1ull << 13)        /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)     /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)    /* ABI 5 */
#define LL_NET_BIND_TCP (1ull << 0)
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0)
#define LL_SCOPE_SIGNAL (1ull << 1)

int scan_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

const char *scan_landlock_why(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	if (abi >= 1)
		return "available";
	switch (errno) {
	case ENOSYS:
		return "this kernel has no Landlock";
	case EOPNOTSUPP:
		return "Landlock is disabled on this kernel (boot parameter lsm=)";
	case EPERM:
	case EACCES:
		return "Landlock is blocked by a seccomp filter (a container's, or a unit's SystemCallFilter)";
	default:
		return "Landlock is unavailable";
	}
}

static int add_dir(int ruleset, int dir_fd, uint64_t access, struct fw_err *err)
{
	struct ll_path_beneath pb = { .allowed_access = access, .parent_fd = dir_fd };

	if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) != 0)
		return fw_err_sys(err, errno, "Landlock refuses a rule");
	return 0;
}

int scan_landlock_enter(int tmp_dir_fd, int samples_dir_fd, struct fw_err *err)
{
	struct ll_ruleset_attr attr = { 0 };
	int abi = scan_landlock_abi(), ruleset = -1, usr = -1, rc = -1;
	uint64_t fs, tmp_rights, read_rights = LL_FS_READ_FILE | LL_FS_READ_DIR;
	size_t attr_len = sizeof(uint64_t);

	if (abi < 1)
		return 0; /* no Landlock: the supervisor warns once at start */
	fs = LL_FS_ALL_V1;
	if (abi >= 2)
		fs |= LL_FS_REFER;
	if (abi >= 3)
		fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LL_FS_IOCTL_DEV;
	attr.handled_access_fs = fs;
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		attr_len = 2 * sizeof(uint64_t);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		attr_len = sizeof(attr);
	}
	/* Members, ClamAV's temporary files and directories: everything but
	 * executing, links, devices, FIFOs and sockets. */
	tmp_rights = LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE |
		     LL_FS_MAKE_DIR | LL_FS_MAKE_REG | (abi >= 3 ? LL_FS_TRUNCATE : 0);
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_len, 0);
	if (ruleset < 0)
		return fw_err_sys(err, errno, "cannot create the Landlock ruleset");
	usr = open("/usr", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* Samples: new files, written, renamed into place (same directory). */
	if (samples_dir_fd >= 0 &&
	    add_dir(ruleset, samples_dir_fd, LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_REMOVE_FILE |
		    LL_FS_MAKE_REG | (abi >= 3 ? LL_FS_TRUNCATE : 0), err) != 0)
		goto out;
	if (add_dir(ruleset, tmp_dir_fd, tmp_rights, err) != 0 ||
	    (usr >= 0 && add_dir(ruleset, usr, read_rights, err) != 0))
		goto out;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fw_err_sys(err, errno, "cannot set no_new_privs");
		goto out;
	}
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
		fw_err_sys(err, errno, "cannot enter the Landlock domain");
		goto out;
	}
	rc = 0;
out:
	if (usr >= 0)
		close(usr);
	close(ruleset);
	return rc;
}
