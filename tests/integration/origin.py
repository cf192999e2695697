#!/usr/bin/env python3
"""A real HTTPS origin for the integration tests (python3 stdlib only).

Usage: origin.py --certdir DIR --docroot DIR --port N --log FILE [--max-tls V]

Listens on 127.0.0.1:N (0 picks a free port), prints "READY <port>" on
stdout once listening, and serves until SIGTERM or SIGINT.

The certificate is chosen by SNI: for SNI NAME it serves DIR/NAME.crt with
DIR/NAME.key (pki.sh writes them; every NAME.crt/NAME.key pair whose NAME
contains a dot is loaded). No or an unknown SNI gets vendor.test's.

--max-tls 1.1 caps the protocol at TLS 1.1 (and allows TLS 1.0 to 1.1).
Every context runs at OpenSSL security level 0 so that it can serve weak
keys, SHA-1 certificates and old protocol versions: refusing them is the
client's business, which is what the tests check.

The log (--log) gets one line per completed TLS handshake and one per
request, each with SNI=<name>:
    <time> handshake SNI=vendor.test peer=127.0.0.1:5555 TLSv1.3 TLS_AES_256_GCM_SHA384
    <time> request SNI=vendor.test peer=127.0.0.1:5555 GET /files/small.bin
A handshake that fails (the client refused the certificate, or no common
protocol) is logged as
    <time> handshake-failed servername=expired.test peer=... error=...
on purpose without "SNI=": no request can have reached the origin then,
and proxy.sh checks that no "SNI=<bad host>" line exists.

Endpoints:
    GET/HEAD /files/NAME       DOCROOT/NAME with Content-Length, ETag,
                               Last-Modified (query string ignored but
                               rate=N, which sends the body at about N
                               bytes a second, and cut=N, which closes
                               the connection after N bytes of it);
                               conditional: 304 Not Modified (ETag and
                               Last-Modified, no body) when If-None-Match
                               names the ETag (or is *), or, without
                               If-None-Match, when If-Modified-Since is at
                               or after the mtime (whole seconds); the
                               request is logged as any other
    /truncated?n=N             Content-Length N, about N/2 bytes of 'x', close
    /chunked/NAME              DOCROOT/NAME, chunked (no Content-Length), whole
    /cut-chunked               chunked 'x' chunks, closed without the 0 chunk
    /badchunk                  chunked, then a malformed chunk-size line
    /slow?delay=S              answers after S seconds (other connections go on)
    /redirect?to=URL           302 with Location: URL
    /echo-headers              text/plain, each request field as "Name: value"
    anything else              404
HTTP/1.1 keep-alive is supported; each connection has its own thread and an
exception in one never stops the server.
"""

import argparse
import email.utils
import glob
import os
import shutil
import signal
import socket
import socketserver
import ssl
import stat
import sys
import threading
import time
import traceback
import warnings
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK = 1 << 20
HANDSHAKE_TIMEOUT = 10
IDLE_TIMEOUT = 60
DEFAULT_NAME = "vendor.test"


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", encoding="utf-8", buffering=1)

    def write(self, *words):
        text = " ".join(str(w) for w in words).replace("\r", "\\r").replace("\n", "\\n")
        line = "%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), text)
        with self.lock:
            self.f.write(line)
            self.f.flush()


TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


def make_context(cert, key, max_tls):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # Level 0: serve what the client is supposed to refuse.
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if max_tls is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = TLS_VERSIONS[max_tls]
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(cert, key)
    return ctx


def load_contexts(certdir, max_tls):
    contexts = {}
    for cert in sorted(glob.glob(os.path.join(certdir, "*.crt"))):
        name = os.path.basename(cert)[: -len(".crt")]
        key = os.path.join(certdir, name + ".key")
        if "." not in name or not os.path.exists(key):
            continue
        contexts[name] = make_context(cert, key, max_tls)
    if not contexts:
        raise SystemExit("origin.py: no NAME.crt/NAME.key pair in %s" % certdir)
    default = contexts.get(DEFAULT_NAME) or next(iter(contexts.values()))
    return contexts, default


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, addr, handler, contexts, default_ctx, docroot, log):
        self.contexts = contexts
        self.docroot = os.path.realpath(docroot)
        self.log = log
        # The listening context: only its SNI callback matters, it swaps
        # in the context of the name asked for.
        self.tls = default_ctx
        for ctx in contexts.values():
            ctx.sni_callback = self.pick_context
        super().__init__(addr, handler)

    def pick_context(self, sslsock, server_name, _ctx):
        sslsock.fw_sni = server_name
        ctx = self.contexts.get(server_name) if server_name else None
        if ctx is not None:
            sslsock.context = ctx
        return None

    def finish_request(self, request, client_address):
        # In the connection's own thread: the handshake of one client never
        # holds up the others.
        peer = "%s:%s" % client_address[:2]
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request.settimeout(HANDSHAKE_TIMEOUT)
            tls = self.tls.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except OSError as e:
            self.log.write("accept-failed", "peer=" + peer, "error=%s" % e)
            return
        try:
            try:
                tls.do_handshake()
            except (OSError, ValueError) as e:
                name = getattr(tls, "fw_sni", None) or "-"
                self.log.write("handshake-failed", "servername=" + name, "peer=" + peer,
                               "error=%s" % (getattr(e, "reason", None) or e))
                return
            sni = getattr(tls, "fw_sni", None) or "-"
            cipher = tls.cipher()
            self.log.write("handshake", "SNI=" + sni, "peer=" + peer, tls.version(),
                           cipher[0] if cipher else "-")
            tls.settimeout(IDLE_TIMEOUT)
            tls.fw_peer = peer
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        sys.stderr.write("origin.py: error in the connection from %s:\n%s" %
                         (client_address, traceback.format_exc()))
        sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def version_string(self):
        return "fwgate-test-origin"

    # --- plumbing

    def setup(self):
        super().setup()
        self.sni = getattr(self.connection, "fw_sni", None) or "-"
        self.peer = getattr(self.connection, "fw_peer", "-")

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, TimeoutError, socket.timeout):
            pass

    def log_request(self, code="-", size="-"):
        pass

    def log_message(self, fmt, *args):
        self.server.log.write("note", "SNI=" + self.sni, "peer=" + self.peer, fmt % args)

    def do_GET(self):
        self.dispatch(head=False)

    def do_HEAD(self):
        self.dispatch(head=True)

    def other_method(self):
        self.server.log.write("request", "SNI=" + self.sni, "peer=" + self.peer,
                              self.command, self.path)
        # A body we do not read would be taken for the next request.
        self.close_connection = True
        self.reply(405, b"method not allowed\n", head=False, extra=[("Allow", "GET, HEAD")])

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = other_method

    def reply(self, code, body, head, ctype="text/plain; charset=utf-8", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def close_cleanly(self):
        """Ends the connection with a TLS close_notify, so that the client
        sees a clean end of stream and has to judge the framing itself."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.settimeout(2)
            self.connection.unwrap()
        except (OSError, ValueError):
            pass

    # --- endpoints

    def dispatch(self, head):
        self.server.log.write("request", "SNI=" + self.sni, "peer=" + self.peer,
                              self.command, self.path)
        url = urlsplit(self.path)
        path = url.path
        q = parse_qs(url.query)
        if path.startswith("/files/"):
            return self.files(unquote(path[len("/files/"):]), head)
        if path.startswith("/chunked/"):
            return self.chunked(unquote(path[len("/chunked/"):]), head)
        if path == "/truncated":
            return self.truncated(q, head)
        if path == "/cut-chunked":
            return self.cut_chunked(head)
        if path == "/badchunk":
            return self.badchunk(head)
        if path == "/slow":
            return self.slow(q, head)
        if path == "/redirect":
            to = q.get("to", ["/"])[0]
            if any(c in to for c in "\r\n"):
                return self.reply(400, b"bad Location\n", head)
            return self.reply(302, b"redirect\n", head, extra=[("Location", to)])
        if path == "/echo-headers":
            body = "".join("%s: %s\n" % (k, v) for k, v in self.headers.items())
            return self.reply(200, body.encode("utf-8", "surrogateescape"), head)
        return self.reply(404, b"not found\n", head)

    def files(self, name, head):
        if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
            return self.reply(404, b"not found\n", head)
        fpath = os.path.join(self.server.docroot, name)
        try:
            f = open(fpath, "rb")
        except OSError:
            return self.reply(404, b"not found\n", head)
        with f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return self.reply(404, b"not found\n", head)
            etag = '"%x-%x"' % (st.st_size, st.st_mtime_ns)
            last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
            if self.not_modified(etag, int(st.st_mtime)):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", last_modified)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Disposition", 'attachment; filename="%s"' % name)
            self.send_header("Content-Length", str(st.st_size))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            if not head:
                rate = self.query_rate()
                left = self.query_int("cut")
                if rate is None and left is None:
                    shutil.copyfileobj(f, self.wfile, CHUNK)
                    return
                # A slow vendor: a tenth of the rate every 100 ms; a
                # vendor that goes away after cut bytes.
                step = max(1, rate // 10) if rate is not None else CHUNK
                while left is None or left > 0:
                    chunk = f.read(step if left is None else min(step, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if left is not None:
                        left -= len(chunk)
                    if rate is not None:
                        time.sleep(0.1)
                if left is not None:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

    def chunked(self, name, head):
        if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
            return self.reply(404, b"not found\n", head)
        try:
            f = open(os.path.join(self.server.docroot, name), "rb")
        except OSError:
            return self.reply(404, b"not found\n", head)
        with f:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if head:
                return
            while True:
                chunk = f.read(64 * 1024)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def query_int(self, name):
        q = parse_qs(urlsplit(self.path).query)
        try:
            return max(0, int(q[name][0])) if name in q else None
        except ValueError:
            return None

    def query_rate(self):
        q = parse_qs(urlsplit(self.path).query)
        try:
            return max(1, int(q["rate"][0])) if "rate" in q else None
        except ValueError:
            return None

    def not_modified(self, etag, mtime):
        """RFC 9110 13.2.2: If-None-Match, when present, decides alone
        (weak comparison); otherwise If-Modified-Since."""
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            return any(t == "*" or (t[2:] if t.startswith("W/") else t) == etag for t in tags)
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            when = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if when is None or when.tzinfo is None:
            return False
        return mtime <= when.timestamp()

    def truncated(self, q, head):
        try:
            n = max(0, int(q.get("n", ["100000"])[0]))
        except ValueError:
            return self.reply(400, b"n must be a number\n", head)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if head:
            return
        left = n // 2
        while left > 0:
            k = min(left, CHUNK)
            self.wfile.write(b"x" * k)
            left -= k
        self.close_cleanly()

    def chunked_head(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def cut_chunked(self, head):
        self.chunked_head()
        if head:
            return
        for _ in range(4):
            self.wfile.write(b"1000\r\n" + b"x" * 0x1000 + b"\r\n")
        self.close_cleanly()

    def badchunk(self, head):
        self.chunked_head()
        if head:
            return
        self.wfile.write(b"400\r\n" + b"x" * 0x400 + b"\r\n")
        self.wfile.write(b"zz;not-hex\r\n" + b"x" * 100 + b"\r\n0\r\n\r\n")
        self.close_cleanly()

    def slow(self, q, head):
        try:
            delay = min(600.0, max(0.0, float(q.get("delay", ["1"])[0])))
        except ValueError:
            return self.reply(400, b"delay must be a number\n", head)
        time.sleep(delay)
        self.reply(200, b"slow answer\n", head)


def main():
    ap = argparse.ArgumentParser(description="HTTPS test origin")
    ap.add_argument("--certdir", required=True)
    ap.add_argument("--docroot", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--max-tls", choices=sorted(TLS_VERSIONS))
    args = ap.parse_args()

    contexts, default = load_contexts(args.certdir, args.max_tls)
    log = Log(args.log)
    server = Server(("127.0.0.1", args.port), Handler, contexts, default, args.docroot, log)

    def stop(_signo, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    log.write("listening", "port=%d" % port, "max-tls=%s" % (args.max_tls or "-"))
    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        log.write("stopped")


if __name__ == "__main__":
    main()
