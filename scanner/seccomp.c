/* Scanner worker confinement (scanner/seccomp.h): one seccomp-bpf filter,
 * built with libseccomp and loaded before the worker reads hostile bytes.
 * Owns only the calling process's confinement; must not open, read or
 * close any descriptor, and cannot be undone once loaded.
 *
 * Why a deny list on a default-allow filter, and not an allow list as in
 * OpenSSH's sandbox-seccomp-filter.c: the worker runs glibc, libclamav
 * (with its Rust parsers), libarchive with a dozen decompressors, libmagic
 * and, in test builds, ASan. Each of them gains syscalls from release to
 * release (rseq, clone3, statx, close_range, newfstatat, getrandom, ...);
 * an allow list that misses one kills a worker on a clean file after the
 * next library update. What a parser exploit must not get is a short and
 * stable list: the network, exec, new processes and namespaces, other
 * processes' memory, privilege changes and the kernel's rarely used attack
 * surface. Those syscalls are named below, each group with its reason.
 * The residual risk is a future syscall this libseccomp does not know. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "fwgate/attrib.h"
#include "scanner/seccomp.h"

/* A syscall argument declared int or unsigned int in the kernel is
 * truncated to 32 bits there, but seccomp sees the whole 64-bit register:
 * a rule "deny when arg == X" must compare only the low half, or X with a
 * high bit set slips past it (the bubblewrap TIOCSTI bypass, CVE-2017-5226).
 * Rules of the form "deny when arg != X" need no mask: garbage in the high
 * half makes them deny more, not less. */
#define SANDBOX_LOW32 0xffffffffULL

/* clone(2)'s flags are its first argument except on s390, whose kernel
 * takes the stack pointer first (CLONE_BACKWARDS2). */
#if defined(__s390__) || defined(__s390x__)
#define SANDBOX_CLONE_FLAGS_ARG 1
#else
#define SANDBOX_CLONE_FLAGS_ARG 0
#endif

/* Namespace flags refused on clone(2); unshare and setns are refused
 * whole. CLONE_NEWTIME is absent: it shares its bit with the exit signal
 * in clone(2) and exists only through clone3 and unshare, both refused. */
static const uint64_t clone_ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
};

/* Killed with SIGSYS: no library the worker links ever makes these calls,
 * so an attempt is an exploit at work and the supervisor should see it. */
static const char *const kill_list[] = {
	/* Running another program is the usual next step of an exploit. */
	"execve", "execveat",
	/* Debugging or reading other processes: the proxy holds the CA key,
	 * the other workers hold other users' downloads. */
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
	/* Loading code into, or replacing, the kernel. */
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"bpf",
	/* Changing the file system view, old and new mount API. */
	"mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount",
	"fspick", "move_mount", "open_tree", "mount_setattr",
	/* Machine-wide effects. */
	"reboot", "swapon", "swapoff", "iopl", "ioperm",
	/* Kernel exploit helpers: userfaultfd stalls the kernel mid-copy to win
	 * races; perf_event_open is a large, often vulnerable interface. */
	"userfaultfd", "perf_event_open",
};

/* Fail with EPERM: harmless for a library that merely tries (glibc's
 * syslog() and nscd client connect; system() forks), fatal for none. */
static const char *const eperm_list[] = {
	/* The network. socket() is filtered by family below; a worker never
	 * connects, binds, listens or accepts, not even on AF_UNIX: its one
	 * socket is the socketpair it inherited, and a connect to a local
	 * daemon's socket (a Docker or D-Bus socket) is as bad as the Internet. */
	"connect", "bind", "listen", "accept", "accept4",
	/* New processes: a worker is a fixed set of threads. fork is clone
	 * without CLONE_THREAD, filtered below. */
	"fork", "vfork",
	/* Namespaces would give an unprivileged process root inside them and
	 * with it much more of the kernel to attack. */
	"unshare", "setns",
	/* Privilege changes; as a rule they fail already, never let them work. */
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setfsuid", "setfsgid", "setgroups", "capset", "chroot",
	/* Kernel keyrings hold other programs' secrets and much buggy code. */
	"keyctl", "add_key", "request_key",
	/* personality can re-enable READ_IMPLIES_EXEC and address-space
	 * layouts that weaken ASLR for what the worker maps next. */
	"personality",
	/* io_uring performs socket, connect and openat inside the kernel where
	 * seccomp never sees them: it would bypass every rule here. */
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	/* Signals to other processes; kill and friends are filtered below so
	 * that the worker can still signal itself (abort, raise). */
	"tkill", "pidfd_open", "pidfd_send_signal",
	/* Bypassing path permissions by file handle (the "shocker" escape),
	 * the kernel log, process accounting, LDT games. */
	"open_by_handle_at", "name_to_handle_at", "syslog", "acct", "modify_ldt",
	"vhangup", "quotactl",
};

/* Adds one rule; a syscall this libseccomp has never heard of does not
 * exist on this architecture and is skipped. A rule that libseccomp knows
 * but cannot add is an error: a deny list with a silent hole is worse than
 * no worker at all. */
static int filter_add(scmp_filter_ctx ctx, uint32_t action, const char *name,
		       unsigned n_cmp, const struct scmp_arg_cmp *cmp, struct fw_err *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	int rc;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	rc = seccomp_rule_add_array(ctx, action, nr, n_cmp, cmp);
	if (rc < 0)
		return fw_err_sys(err, -rc, "cannot add the sandbox rule for %s()", name);
	return 0;
}

static int filter_add_lists(scmp_filter_ctx ctx, uint32_t act_kill, struct fw_err *err)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(kill_list); i++)
		if (filter_add(ctx, act_kill, kill_list[i], 0, NULL, err) != 0)
			return -1;
	for (size_t i = 0; i < FW_ARRAY_LEN(eperm_list); i++)
		if (filter_add(ctx, SCMP_ACT_ERRNO(EPERM), eperm_list[i], 0, NULL, err) != 0)
			return -1;
	return 0;
}

/* Sockets: AF_UNIX only, so glibc's syslog() and nscd client still get a
 * socket (and then EPERM on connect). Every other family is refused:
 * inet and inet6 are the network; netlink, packet and the rest are kernel
 * attack surface and raw access to the wire. socketpair stays AF_UNIX. */
static int filter_add_sockets(scmp_filter_ctx ctx, struct fw_err *err)
{
	const struct scmp_arg_cmp not_unix = { .arg = 0, .op = SCMP_CMP_NE, .datum_a = AF_UNIX, .datum_b = 0 };

	if (filter_add(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &not_unix, err) != 0)
		return -1;
	return filter_add(ctx, SCMP_ACT_ERRNO(EPERM), "socketpair", 1, &not_unix, err);
}

/* Threads yes, processes and namespaces no. clone3 passes its flags in a
 * struct in memory, which seccomp cannot read, so it is answered ENOSYS: glibc
 * (2.34 and later) then falls back to clone(2) for pthread_create, and
 * clone(2) keeps its flags in a register, where they are checked. */
static int filter_add_clone(scmp_filter_ctx ctx, struct fw_err *err)
{
	const unsigned a = SANDBOX_CLONE_FLAGS_ARG;
	struct scmp_arg_cmp cmp = SCMP_CMP(a, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);

	if (filter_add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err) != 0)
		return -1;
	if (filter_add(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &cmp, err) != 0)
		return -1;
	for (size_t i = 0; i < FW_ARRAY_LEN(clone_ns_flags); i++) {
		uint64_t f = clone_ns_flags[i];

		cmp = SCMP_CMP(a, SCMP_CMP_MASKED_EQ, f, f);
		if (filter_add(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &cmp, err) != 0)
			return -1;
	}
	return 0;
}

/* The rest of the argument rules: signals only to the worker itself (a
 * compromised worker must not kill the proxy or its process group); no way
 * back to dumpable; no TIOCSTI, which pushes keystrokes into a terminal the
 * worker may have inherited on stderr and so into its parent's shell. */
static int filter_add_misc(scmp_filter_ctx ctx, struct fw_err *err)
{
	const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	const struct scmp_arg_cmp other = { .arg = 0, .op = SCMP_CMP_NE, .datum_a = (uint64_t)getpid(), .datum_b = 0 };
	const struct scmp_arg_cmp dumpable =
		SCMP_A0(SCMP_CMP_MASKED_EQ, SANDBOX_LOW32, PR_SET_DUMPABLE);
	const struct scmp_arg_cmp tiocsti = SCMP_A1(SCMP_CMP_MASKED_EQ, SANDBOX_LOW32, TIOCSTI);

	if (filter_add(ctx, eperm, "kill", 1, &other, err) != 0 ||
	    filter_add(ctx, eperm, "tgkill", 1, &other, err) != 0 ||
	    filter_add(ctx, eperm, "rt_sigqueueinfo", 1, &other, err) != 0 ||
	    filter_add(ctx, eperm, "rt_tgsigqueueinfo", 1, &other, err) != 0 ||
	    filter_add(ctx, eperm, "prctl", 1, &dumpable, err) != 0 ||
	    filter_add(ctx, eperm, "ioctl", 1, &tiocsti, err) != 0)
		return -1;
	return 0;
}

/* The filter's own settings. Only the native architecture is in the
 * filter: a call through another ABI (int 0x80 on x86-64, or an x32
 * number with __X32_SYSCALL_BIT) would carry other syscall numbers past
 * every rule, so libseccomp sends it to the bad-architecture action,
 * which kills. TSYNC applies the filter to threads that already exist
 * (libraries may have started some); without it they stay unconfined. */
static int filter_set_attrs(scmp_filter_ctx ctx, uint32_t act_kill, struct fw_err *err)
{
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, act_kill);

	if (rc < 0)
		return fw_err_sys(err, -rc, "cannot set the sandbox's bad-architecture action");
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc < 0)
		return fw_err_sys(err, -rc, "cannot make the sandbox cover every thread");
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (rc < 0)
		return fw_err_sys(err, -rc, "cannot set no_new_privs for the sandbox");
	return 0;
}

int scan_seccomp_enter(struct fw_err *err)
{
	scmp_filter_ctx ctx = NULL;
	uint32_t act_kill;
	int rc = -1, ret;

	/* Non-dumpable first: from here on no process of our user can ptrace
	 * us or open /proc/<pid>/mem, even before the filter is in. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return fw_err_sys(err, errno, "cannot make the scanner worker non-dumpable");
	/* Required for an unprivileged filter, and it stops setuid binaries
	 * from gaining privileges should exec ever become possible. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fw_err_sys(err, errno, "cannot set no_new_privs on the scanner worker");
	/* Kill the whole process, not the one thread (API level 3, Linux
	 * 4.14); without it a refusal is the next best thing. */
	act_kill = seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM);
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return fw_err_set(err, "cannot create the scanner sandbox filter");
	if (filter_set_attrs(ctx, act_kill, err) != 0 ||
	    filter_add_lists(ctx, act_kill, err) != 0 ||
	    filter_add_sockets(ctx, err) != 0 ||
	    filter_add_clone(ctx, err) != 0 ||
	    filter_add_misc(ctx, err) != 0)
		goto out;
	/* ESRCH here means a thread that TSYNC could not bring in. */
	ret = seccomp_load(ctx);
	if (ret < 0) {
		fw_err_sys(err, -ret, "cannot load the scanner sandbox");
		goto out;
	}
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}
