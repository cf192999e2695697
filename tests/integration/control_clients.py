#!/usr/bin/env python3
"""Hostile clients of the gateway's control socket, for status.sh.
  control_clients.py SOCKET silent N HOLD_S  N connections that send nothing;
      prints CONNECTED once all are open, then for each how many seconds
      passed until the gateway closed it (or "open" after HOLD_S)
  control_clients.py SOCKET garbage          sends a line that is no request;
      prints the answer
  control_clients.py SOCKET flood            sends 1 MiB without a newline;
      prints the answer (possibly empty: the gateway may reset)"""
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def read_all(s):
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (ConnectionResetError, BrokenPipeError):
        pass
    return out


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "silent":
        n, hold = int(sys.argv[3]), float(sys.argv[4])
        socks = [connect(path) for _ in range(n)]
        t0 = time.monotonic()
        print("CONNECTED", flush=True)
        for s in socks:
            s.settimeout(max(0.1, hold - (time.monotonic() - t0)))
            try:
                got = s.recv(1)
                print("closed %.1f %r" % (time.monotonic() - t0, got), flush=True)
            except socket.timeout:
                print("open", flush=True)
    elif mode == "garbage":
        s = connect(path)
        s.sendall(b"GET / HTTP/1.1\r\n")
        print(read_all(s).decode("ascii", "replace"), end="")
    elif mode == "flood":
        s = connect(path)
        try:
            s.sendall(b"x" * (1024 * 1024))
        except (ConnectionResetError, BrokenPipeError):
            pass
        print(read_all(s).decode("ascii", "replace"), end="")


main()
