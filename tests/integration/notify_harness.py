#!/usr/bin/env python3
"""systemd's side of sd_notify, for status.sh: binds a UNIX datagram
socket, runs COMMAND with NOTIFY_SOCKET set to it (and WATCHDOG_USEC,
WATCHDOG_PID = the command's own pid, as systemd sets them), and writes
each datagram received as one line (newlines shown as '|') to LOG, with
the command's pid in LOG.pid. Ends when the command does, with its exit
status.
Usage: notify_harness.py SOCKET LOG WATCHDOG_USEC -- COMMAND..."""
import os
import select
import socket
import sys


def main():
    sock_path, log_path, wd_usec = sys.argv[1:4]
    cmd = sys.argv[5:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    os.chmod(sock_path, 0o666)  # a gateway that changed user sends too
    pid = os.fork()
    if pid == 0:
        s.close()
        os.environ["NOTIFY_SOCKET"] = sock_path
        os.environ["WATCHDOG_USEC"] = wd_usec
        os.environ["WATCHDOG_PID"] = str(os.getpid())
        os.execvp(cmd[0], cmd)
    with open(log_path + ".pid", "w") as f:
        f.write("%d\n" % pid)
    with open(log_path, "a", buffering=1) as log:
        while True:
            r, _, _ = select.select([s], [], [], 0.2)
            if r:
                data = s.recv(4096).decode("utf-8", "replace")
                log.write(data.replace("\n", "|") + "\n")
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                # What arrived just before the end.
                while select.select([s], [], [], 0)[0]:
                    log.write(s.recv(4096).decode("utf-8", "replace").replace("\n", "|") + "\n")
                sys.exit(os.waitstatus_to_exitcode(status))


main()
