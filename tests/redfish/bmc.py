#!/usr/bin/env python3
"""A Redfish BMC stand-in for fwgate's integration tests (python3 stdlib only).

It is NOT a BMC: nothing is flashed. It implements what `fwgate push` talks
to, with the shapes of DMTF DSP0266 and the ServiceRoot, UpdateService,
TaskService and Task schemas:

    GET  /redfish/v1/                     service root (no authentication, as DSP0266 allows)
    GET  /redfish/v1/UpdateService        ServiceEnabled, Actions #UpdateService.SimpleUpdate
                                          {target, TransferProtocol@Redfish.AllowableValues}
    POST /redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate
                                          {ImageURI, TransferProtocol, Username?, Password?}:
                                          202 + Location of a new Task, the Task in the body
                                          (--answer location: the Location only; --answer
                                          none: 204, no task to follow)
    GET  /redfish/v1/TaskService          TaskService
    GET  /redfish/v1/TaskService/Tasks    the collection
    GET  /redfish/v1/TaskService/Tasks/N  the Task: TaskState, TaskStatus, PercentComplete,
                                          Messages; Retry-After (--retry-after, 1 s) while it runs

Everything but the service root needs HTTP Basic --user/--password (401
with a Redfish error body otherwise). On SimpleUpdate the task downloads
ImageURI over HTTPS verifying --image-ca (the gateway CA), with
Username/Password as HTTP Basic when given, saves the bytes to
--out DIR/<last path segment> and ends Completed (TaskStatus OK) or
Exception (TaskStatus Critical) with the reason in Messages (HTTP error,
TLS error). The task stays Running for at least --run-seconds.

--evil MODE answers like a hostile BMC, for fwgate's refusals:
    odata       the service root's UpdateService @odata.id is --evil-url
    target      the SimpleUpdate target is --evil-url
    location    SimpleUpdate answers 202 with Location: --evil-url and no Task body
    task-odata  SimpleUpdate's Task in the body has @odata.id --evil-url
    dotdot      SimpleUpdate answers Location: /redfish/v1/../../etc/passwd
    huge        the UpdateService is a 2 MiB document
    no-https    TransferProtocol@Redfish.AllowableValues lacks HTTPS
    stuck       the task runs for ever
    badtype     the Task's PercentComplete is a string

Usage: bmc.py --cert C --key K --image-ca CA --out DIR --log FILE
              [--user U --password P] [--port N] [--run-seconds S] [--retry-after S]
              [--answer body|location|none]
              [--evil MODE --evil-url URL]
Listens on 127.0.0.1 (port 0: a free one), prints "READY <port>" once
listening, serves until SIGTERM. The log has one line per request:
    <method> <path> user=<basic user or -> status=<code>
"""

import argparse
import base64
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ROOT = "/redfish/v1"
US = ROOT + "/UpdateService"
ACTION = US + "/Actions/UpdateService.SimpleUpdate"
TS = ROOT + "/TaskService"
TASKS = TS + "/Tasks"
MAX_POST = 64 * 1024
MAX_IMAGE = 1 << 30


def err_body(code, message):
    return {"error": {"code": "Base.1.8.GeneralError", "message": message,
                      "@Message.ExtendedInfo": [{"@odata.type": "#Message.v1_1_1.Message",
                                                 "MessageId": code, "Message": message,
                                                 "Severity": "Critical"}]}}


class Task:
    def __init__(self, n, image_uri, user, password):
        self.n = n
        self.image_uri = image_uri
        self.user = user
        self.password = password
        self.state = "New"
        self.status = "OK"
        self.percent = 0
        self.messages = []
        self.start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.end = None
        self.lock = threading.Lock()

    def msg(self, mid, text, severity="OK"):
        self.messages.append({"@odata.type": "#Message.v1_1_1.Message", "MessageId": mid,
                              "Message": text, "Severity": severity})

    def doc(self, cfg):
        with self.lock:
            d = {"@odata.id": "%s/%d" % (TASKS, self.n), "@odata.type": "#Task.v1_7_0.Task",
                 "Id": str(self.n), "Name": "SimpleUpdate task %d" % self.n,
                 "TaskState": self.state, "TaskStatus": self.status,
                 "PercentComplete": self.percent, "StartTime": self.start,
                 "Messages": list(self.messages)}
            if self.end:
                d["EndTime"] = self.end
            if cfg.evil == "task-odata":
                d["@odata.id"] = cfg.evil_url
            if cfg.evil == "badtype":
                d["PercentComplete"] = "%d" % self.percent
            return d

    def finish(self, state, status, mid, text):
        with self.lock:
            self.state, self.status = state, status
            self.msg(mid, text, "OK" if status == "OK" else "Critical")
            self.end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def run(self, cfg):
        began = time.monotonic()
        with self.lock:
            self.state = "Running"
            self.msg("TaskEvent.1.0.TaskStarted", "The task with Id '%d' has started." % self.n)
        try:
            data = self.download(cfg)
        except (urllib.error.URLError, ssl.SSLError, OSError, ValueError) as e:
            reason = e if isinstance(e, urllib.error.HTTPError) else getattr(e, "reason", None) or e
            self.finish("Exception", "Critical", "Update.1.0.TransferFailed",
                        "Transfer of image '%s' failed: %s" % (self.image_uri, reason))
            return
        name = os.path.basename(urlsplit(self.image_uri).path) or "image.bin"
        with open(os.path.join(cfg.out, name), "wb") as f:
            f.write(data)
        with self.lock:
            self.percent = 50
            self.msg("Update.1.0.TransferringToComponent", "Image '%s' received: %d bytes." % (name, len(data)))
        while cfg.evil == "stuck" or time.monotonic() - began < cfg.run_seconds:
            time.sleep(0.1)
        with self.lock:
            self.percent = 100
        self.finish("Completed", "OK", "TaskEvent.1.0.TaskCompletedOK",
                    "The task with Id '%d' has completed." % self.n)

    def download(self, cfg):
        ctx = ssl.create_default_context(cafile=cfg.image_ca)
        req = urllib.request.Request(self.image_uri)
        if self.user is not None:
            tok = base64.b64encode(("%s:%s" % (self.user, self.password or "")).encode()).decode()
            req.add_header("Authorization", "Basic " + tok)
        if urlsplit(self.image_uri).scheme != "https":
            raise ValueError("only HTTPS ImageURIs are fetched by this stand-in")
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            data = r.read(MAX_IMAGE + 1)
        if len(data) > MAX_IMAGE:
            raise ValueError("image over %d bytes" % MAX_IMAGE)
        return data


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.tasks = {}
        self.next = 1


class Handler(BaseHTTPRequestHandler):
    server_version = "bmc-standin/1"

    def log_message(self, fmt, *args):
        pass

    def user(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return None, None
        try:
            u, _, p = base64.b64decode(h[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, None
        return u, p

    def send(self, code, doc=None, headers=(), raw=None):
        body = raw if raw is not None else (json.dumps(doc).encode() if doc is not None else b"")
        self.send_response(code)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("OData-Version", "4.0")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        u, _ = self.user()
        self.server.log("%s %s user=%s status=%d" % (self.command, self.path, u or "-", code))

    def authorized(self):
        cfg = self.server.cfg
        u, p = self.user()
        if cfg.user is None or (u == cfg.user and p == cfg.password):
            return True
        self.send(401, err_body("Base.1.8.NoValidSession", "Authentication failed for the user."),
                  [("WWW-Authenticate", 'Basic realm="Redfish"')])
        return False

    def path_only(self):
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def do_GET(self):
        cfg, p = self.server.cfg, self.path_only()
        if p == ROOT:
            us = cfg.evil_url if cfg.evil == "odata" else US
            return self.send(200, {"@odata.id": ROOT + "/", "@odata.type": "#ServiceRoot.v1_11_0.ServiceRoot",
                                   "Id": "RootService", "Name": "Root Service", "RedfishVersion": "1.11.0",
                                   "UpdateService": {"@odata.id": us}, "TaskService": {"@odata.id": TS}})
        if not self.authorized():
            return None
        if p == US:
            if cfg.evil == "huge":
                return self.send(200, raw=b'{"pad": "' + b"x" * (2 << 20) + b'"}')
            protos = ["HTTP", "FTP"] if cfg.evil == "no-https" else ["HTTPS", "HTTP"]
            target = cfg.evil_url if cfg.evil == "target" else ACTION
            return self.send(200, {"@odata.id": US, "@odata.type": "#UpdateService.v1_11_0.UpdateService",
                                   "Id": "UpdateService", "Name": "Update Service", "ServiceEnabled": True,
                                   "Actions": {"#UpdateService.SimpleUpdate": {
                                       "target": target, "TransferProtocol@Redfish.AllowableValues": protos}}})
        if p == TS:
            return self.send(200, {"@odata.id": TS, "@odata.type": "#TaskService.v1_2_0.TaskService",
                                   "Id": "TaskService", "Name": "Task Service", "ServiceEnabled": True,
                                   "Tasks": {"@odata.id": TASKS}})
        st = self.server.state
        if p == TASKS:
            with st.lock:
                ids = sorted(st.tasks)
            return self.send(200, {"@odata.id": TASKS, "@odata.type": "#TaskCollection.TaskCollection",
                                   "Name": "Task Collection", "Members@odata.count": len(ids),
                                   "Members": [{"@odata.id": "%s/%d" % (TASKS, i)} for i in ids]})
        if p.startswith(TASKS + "/"):
            with st.lock:
                t = st.tasks.get(p[len(TASKS) + 1:])
            if t is None:
                return self.send(404, err_body("Base.1.8.ResourceMissingAtURI", "No such task."))
            d = t.doc(cfg)
            running = d["TaskState"] not in ("Completed", "Exception", "Killed", "Cancelled")
            return self.send(200, d, [("Retry-After", str(cfg.retry_after))] if running else [])
        return self.send(404, err_body("Base.1.8.ResourceMissingAtURI", "No such resource."))

    def do_POST(self):
        cfg = self.server.cfg
        if self.path_only() != ACTION:
            return self.send(405, err_body("Base.1.8.OperationNotAllowed", "POST is not allowed here."))
        if not self.authorized():
            return None
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n < 0 or n > MAX_POST:
            return self.send(413, err_body("Base.1.8.GeneralError", "Body too large."))
        try:
            body = json.loads(self.rfile.read(n))
        except ValueError:
            return self.send(400, err_body("Base.1.8.MalformedJSON", "The request body is not JSON."))
        uri, proto = body.get("ImageURI"), body.get("TransferProtocol", "HTTPS")
        if not isinstance(uri, str) or not uri:
            return self.send(400, err_body("Base.1.8.ActionParameterMissing", "ImageURI is missing."))
        if proto not in ("HTTPS", "HTTP"):
            return self.send(400, err_body("Base.1.8.ActionParameterNotSupported",
                                           "TransferProtocol %s is not supported." % proto))
        st = self.server.state
        with st.lock:
            t = Task(st.next, uri, body.get("Username"), body.get("Password"))
            st.tasks[str(st.next)] = t
            st.next += 1
        self.server.log("SimpleUpdate ImageURI=%s TransferProtocol=%s Username=%s" %
                        (uri, proto, body.get("Username") or "-"))
        threading.Thread(target=t.run, args=(cfg,), daemon=True).start()
        loc = "%s/%d" % (TASKS, t.n)
        if cfg.answer == "location":
            return self.send(202, None, [("Location", loc)])
        if cfg.answer == "none":
            return self.send(204)
        if cfg.evil == "location":
            return self.send(202, None, [("Location", cfg.evil_url)])
        if cfg.evil == "dotdot":
            return self.send(202, None, [("Location", ROOT + "/../../etc/passwd")])
        return self.send(202, t.doc(cfg), [("Location", loc)])


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, cfg):
        super().__init__(addr, Handler)
        self.cfg = cfg
        self.state = State()
        self.lock = threading.Lock()
        self.logf = open(cfg.log, "a", encoding="utf-8", buffering=1)

    def log(self, line):
        with self.lock:
            self.logf.write(line.replace("\n", "\\n") + "\n")


def main():
    ap = argparse.ArgumentParser(description="Redfish BMC stand-in for tests")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--image-ca", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--run-seconds", type=float, default=1.5)
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--answer", choices=["body", "location", "none"], default="body")
    ap.add_argument("--evil", choices=["odata", "target", "location", "task-odata", "dotdot", "huge",
                                       "no-https", "stuck", "badtype"])
    ap.add_argument("--evil-url", default="https://evil.test/redfish/v1/UpdateService")
    cfg = ap.parse_args()
    os.makedirs(cfg.out, exist_ok=True)
    srv = Server(("127.0.0.1", cfg.port), cfg)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cfg.cert, cfg.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: (srv.server_close(), sys.exit(0)))
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
