#!/usr/bin/python3
"""print_standin.py: a recording stand-in for a print-and-mail service's API.

Usage: print_standin.py PORT_FILE RECORD_FILE PDF_DIR TOKEN

Listens on 127.0.0.1, a free port (written to PORT_FILE once it listens),
HTTP/1.1 with keep-alive, and takes letters:

  POST /v1/letters   multipart/form-data, "Authorization: Bearer TOKEN":
                     part "file" (the PDF) and text fields (reference, name,
                     address_line1..4, postal_code, city, country, pages);
                     answers 201 {"id": "ltr_<n>", "status": "accepted"}.

A wrong or missing token gets 401 {"error": "unauthorized"}; a body that is
not multipart/form-data or has no PDF part gets 400. Every request is
appended to RECORD_FILE as one JSON line: method, path, headers (a list of
[name, value] in the order received), content_type, fields (name -> text),
file (name, filename, content_type, size, path: the PDF saved under
PDF_DIR as <n>.pdf), client_port (the same port means the same
connection), status, response and time (Unix seconds).

The multipart body is parsed with email.parser on the raw bytes, with the
request's Content-Type header in front (no cgi module).

Scripted failures: POST /_script with a JSON list of canned answers, e.g.
[{"status": 429, "headers": {"Retry-After": "2"}},
 {"status": 422, "body": {"message": "address not deliverable"}},
 {"status": 201, "delay": 2.5}, {"status": 503, "close": true}]
They answer the next requests, in order, before the normal answers (the
request is still parsed and recorded). "body" may be a JSON value or a
string; "delay" waits before answering; "close" closes the connection.
/_script requests are not recorded.
"""

import json
import os
import sys
import threading
import time
from email.parser import BytesParser
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, RECORD_FILE, PDF_DIR, TOKEN = sys.argv[1:5]

lock = threading.Lock()
script = []
counter = [0]


def next_n():
    with lock:
        counter[0] += 1
        return counter[0]


def parse_multipart(content_type, raw):
    """(fields, files): fields name -> text, files a list of
    (name, filename, content_type, bytes). None when not multipart."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    head = ("Content-Type: %s\r\nMIME-Version: 1.0\r\n\r\n" % content_type).encode()
    msg = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    if not msg.is_multipart():
        return None
    fields, files = {}, []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if filename is not None:
            files.append((name, filename, part.get_content_type(), data))
        else:
            fields[name] = data.decode("utf-8", errors="replace")
    return fields, files


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("print_standin: %s %s\n" % (self.address_string(), fmt % args))
        sys.stderr.flush()

    def answer(self, status, headers, body, close=False):
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif body is None:
            data = b""
        else:
            data = str(body).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def handle_request(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.command == "POST" and self.path == "/_script":
            with lock:
                script.extend(json.loads(raw.decode()))
            self.answer(204, {}, None)
            return

        n = next_n()
        ctype = self.headers.get("Content-Type") or ""
        parsed = parse_multipart(ctype, raw) if self.command == "POST" else None
        fields, file_rec = {}, None
        if parsed:
            fields, files = parsed
            for name, filename, ftype, data in files:
                path = os.path.join(PDF_DIR, "%d.pdf" % n)
                with open(path, "wb") as f:
                    f.write(data)
                file_rec = {"name": name, "filename": filename, "content_type": ftype,
                            "size": len(data), "path": path}

        with lock:
            canned = script.pop(0) if script else None
        headers, close, delay = {}, False, 0
        if canned is not None:
            status = canned.get("status", 200)
            headers = dict(canned.get("headers", {}))
            resp = canned.get("body")
            close = bool(canned.get("close"))
            delay = canned.get("delay", 0)
        elif self.command != "POST":
            status, resp = 405, {"error": "method not allowed"}
        elif self.path != "/v1/letters":
            status, resp = 404, {"error": "not found"}
        elif self.headers.get("Authorization") != "Bearer " + TOKEN:
            status, resp = 401, {"error": "unauthorized"}
        elif parsed is None:
            status, resp = 400, {"message": "multipart/form-data expected"}
        elif file_rec is None or not open(file_rec["path"], "rb").read(5) == b"%PDF-":
            status, resp = 400, {"message": "no PDF in part file"}
        else:
            status, resp = 201, {"id": "ltr_%d" % n, "status": "accepted"}

        record = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "content_type": ctype,
            "fields": fields,
            "file": file_rec,
            "client_port": self.client_address[1],
            "status": status,
            "response": resp,
            "time": time.time(),
        }
        # Recorded before the answer leaves, so a client that got the
        # answer finds its request in the file.
        with lock:
            with open(RECORD_FILE, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        if delay:
            time.sleep(delay)
        try:
            self.answer(status, headers, resp, close)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_POST = handle_request
    do_GET = handle_request
    do_PUT = handle_request


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    os.makedirs(PDF_DIR, exist_ok=True)
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = PORT_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, PORT_FILE)
    sys.stderr.write("print_standin: listening on 127.0.0.1:%d\n" % srv.server_address[1])
    sys.stderr.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
