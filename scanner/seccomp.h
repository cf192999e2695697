/* Module-private to scanner/: the seccomp-bpf confinement a scanner worker
 * enters before it reads its first hostile byte. Not part of the scanner
 * contract in include/fwgate/scanner.h; only the worker code calls it. */
#ifndef FWGATE_SCANNER_SECCOMP_H
#define FWGATE_SCANNER_SECCOMP_H

#include "fwgate/err.h"

/* Confines the calling process, all of its threads included, for the rest
 * of its life: no network sockets, connect, bind, listen or accept; no
 * exec, fork or namespaces; no ptrace or access to other processes'
 * memory; no privilege change, kernel modules, mounts, bpf, io_uring.
 * Also makes the process non-dumpable so that no other process of the
 * same user can ptrace it or open its /proc/<pid>/mem.
 * Files, mmap, threads, poll and sendmsg/recvmsg with SCM_RIGHTS on the
 * already-open socketpair keep working.
 *
 * Hostile attempts (execve, ptrace, process_vm_*, module loading, mount,
 * bpf, userfaultfd, ...) kill the whole process with SIGSYS, which the
 * supervisor should record as a sandbox violation; calls a library may
 * merely probe (socket, connect, fork, setuid, ...) fail with EPERM.
 *
 * Irreversible. Returns 0, or -1 with err filled; on failure the process
 * may be partly confined and must exit without reading hostile input.
 * Call it after every library is loaded and initialised (libclamav engine
 * compiled, libmagic database loaded) and before the first read of a job.
 * Thread-safety: call once, from any one thread of the worker. */
int scan_seccomp_enter(struct fw_err *err);

#endif
