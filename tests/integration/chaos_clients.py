#!/usr/bin/env python3
"""Hostile and broken clients for chaos.sh (python3 stdlib only).

Usage: chaos_clients.py MODE --proxy PORT [options]

Modes:
  resets      clients that vanish (TCP reset) at every stage of a request:
              after the CONNECT, in the middle of the ClientHello, after the
              ServerHello, in the middle of the request head, while the
              download is fetched and vetted, and during the delivery; --count
              of each, in a shuffled order. Prints "resets N" when done.
  hold        --count connections from --source (or, with --spread, each
              from its own 127.1.x.y) that trickle a CONNECT one byte every
              --gap seconds (slowloris) or, with --idle, send nothing; prints
              "HOLDING open=N refused=M" once all are made, then holds them
              until stdin closes or --hold seconds pass.
  smuggle     request-smuggling shapes inside one tunnel each; prints one
              "NAME STATUS" line per shape.
  pipeline    two GETs written at once inside a tunnel; prints the two
              status lines and bodies' first line, in the order they came.
  giveup      GET --url through the proxy and disconnect after --after
              seconds, before any response byte; prints "gave-up".

Every network operation is bounded in time; only 127.0.0.0/8 is used.
"""

import argparse
import random
import socket
import ssl
import struct
import sys
import time

TIMEOUT = 15


def connect(args, source=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", args.proxy))
    return s


def reset(s):
    """Close with a TCP reset: SO_LINGER on, timeout 0."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def connect_tunnel(args, source=None):
    s = connect(args, source)
    auth = ""
    if args.user:
        import base64
        auth = "Proxy-Authorization: Basic %s\r\n" % base64.b64encode(args.user.encode()).decode()
    s.sendall(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n" %
               (args.host, args.port, args.host, args.port, auth)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("the proxy closed during CONNECT")
        head += chunk
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        raise ConnectionError("CONNECT refused: %r" % status)
    return s


def tls_context(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def client_hello(args):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = tls_context(args).wrap_bio(inc, out, server_hostname=args.host)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def tunnel(args, source=None):
    s = connect_tunnel(args, source)
    return tls_context(args).wrap_socket(s, server_hostname=args.host)


def request(args, path, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n" % (path, args.host, args.port, extra)).encode()


# --- resets at every stage

def after_connect(args):
    reset(connect_tunnel(args))


def mid_client_hello(args):
    s = connect_tunnel(args)
    hello = client_hello(args)
    s.sendall(hello[: max(1, len(hello) // 2)])
    reset(s)


def after_server_hello(args):
    s = connect_tunnel(args)
    s.sendall(client_hello(args))
    s.recv(1024)  # the ServerHello (and more) arrives; the client vanishes
    reset(s)


def mid_request(args):
    t = tunnel(args)
    t.sendall(request(args, args.url)[:20])
    reset(t)


def during_vetting(args):
    t = tunnel(args)
    t.sendall(request(args, args.slow_url))
    time.sleep(random.uniform(0.05, 0.4))
    reset(t)


def during_delivery(args):
    t = tunnel(args)
    t.sendall(request(args, args.big_url))
    got = 0
    while got < 200000:
        chunk = t.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    reset(t)


def mode_resets(args):
    kinds = [after_connect, mid_client_hello, after_server_hello, mid_request, during_vetting, during_delivery]
    plan = [k for k in kinds for _ in range(args.count)]
    random.shuffle(plan)
    errors = 0
    for k in plan:
        try:
            k(args)
        except (OSError, ssl.SSLError, ConnectionError) as e:
            errors += 1
            sys.stderr.write("%s: %s\n" % (k.__name__, e))
    print("resets %d errors %d" % (len(plan), errors))


# --- slow and idle connections

def mode_hold(args):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks, refused = [], 0
    for i in range(args.count):
        # --spread: one source address per connection (127.1.x.y).
        source = "127.1.%d.%d" % (i // 250, i % 250 + 1) if args.spread else args.source
        try:
            socks.append(connect(args, source))
        except OSError:
            refused += 1
    line = ("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (args.host, args.port, args.host, args.port)).encode()
    open_now = 0
    for s in socks:
        s.setblocking(False)
    print("HOLDING open=%d refused=%d" % (len(socks), refused), flush=True)
    deadline = time.time() + args.hold
    pos = 0
    import select
    while time.time() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], 0 if args.idle else args.gap)
        if r and not sys.stdin.readline():
            break
        if args.idle:
            time.sleep(0.2)
            continue
        # One more byte of the CONNECT on every connection still open.
        if pos < len(line):
            for s in socks:
                try:
                    s.send(line[pos:pos + 1])
                except OSError:
                    pass
            pos += 1
    for s in socks:
        try:
            if s.recv(1, socket.MSG_DONTWAIT) == b"":
                pass
            else:
                open_now += 1
        except BlockingIOError:
            open_now += 1
        except OSError:
            pass
        s.close()
    print("HELD open_at_end=%d" % open_now, flush=True)


# --- smuggling shapes and pipelining inside the tunnel

def status_of(t):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = t.recv(4096)
        if not chunk:
            break
        head += chunk
    return head.split(b"\r\n", 1)[0].decode(errors="replace"), head


def mode_smuggle(args):
    shapes = {
        "cl-and-te": "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "two-cl": "Content-Length: 0\r\nContent-Length: 5\r\n",
        "unknown-coding": "Transfer-Encoding: gzip, chunked\r\n",
        "space-before-colon": "Content-Length : 0\r\n",
        "te-chunked": "Transfer-Encoding: chunked\r\n",
    }
    for name, extra in shapes.items():
        t = tunnel(args)
        t.sendall(request(args, args.url, extra) + b"0\r\n\r\n")
        line, _ = status_of(t)
        print(name, line.split(" ")[1] if " " in line else "none")
        t.close()


def read_response(t, buf):
    while b"\r\n\r\n" not in buf:
        chunk = t.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = t.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        rest += chunk
    return head.split(b"\r\n", 1)[0].decode(), rest[:length], rest[length:]


def mode_pipeline(args):
    t = tunnel(args)
    t.sendall(request(args, args.url) + request(args, args.url2))
    buf = b""
    for _ in range(2):
        status, body, buf = read_response(t, buf)
        print(status, body.split(b"\n", 1)[0].decode(errors="replace"))
    t.close()


def mode_giveup(args):
    t = tunnel(args)
    t.sendall(request(args, args.url))
    time.sleep(args.after)
    reset(t)
    print("gave-up")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["resets", "hold", "smuggle", "pipeline", "giveup"])
    ap.add_argument("--proxy", type=int, required=True)
    ap.add_argument("--host", default="vendor.test")
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--cafile")
    ap.add_argument("--user", help="NAME:PASSWORD for Proxy-Authorization")
    ap.add_argument("--url", default="/files/small.bin")
    ap.add_argument("--url2", default="/files/small2.bin")
    ap.add_argument("--slow-url", default="/files/mid.bin?rate=2000000")
    ap.add_argument("--big-url", default="/files/big.bin")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--source")
    ap.add_argument("--gap", type=float, default=2.0)
    ap.add_argument("--idle", action="store_true")
    ap.add_argument("--spread", action="store_true")
    ap.add_argument("--hold", type=float, default=30.0)
    ap.add_argument("--after", type=float, default=0.5)
    args = ap.parse_args()
    random.seed(1234)
    {"resets": mode_resets, "hold": mode_hold, "smuggle": mode_smuggle, "pipeline": mode_pipeline,
     "giveup": mode_giveup}[args.mode](args)


if __name__ == "__main__":
    main()
