#!/usr/bin/python3
"""sms_standin.py: a recording stand-in for the SMS providers' HTTP APIs.

Usage: sms_standin.py PORT_FILE RECORD_FILE TOKEN ACCOUNT_SID

Listens on 127.0.0.1, a free port (written to PORT_FILE once it listens),
HTTP/1.1 with keep-alive, and serves the shapes of
../shared/conformance/provider-apis.md:

  POST /messages                                   MessageBird (AccessKey TOKEN)
  POST /2010-04-01/Accounts/<sid>/Messages.json    Twilio (Basic ACCOUNT_SID:TOKEN)
  POST /send                                       generic JSON (Bearer TOKEN)

Wrong credentials get 401 in the provider's error shape. Every request is
appended to RECORD_FILE as one JSON line: method, path, headers (a list of
[name, value] in the order received), body (text), client_port (the
client's TCP port: the same port means the same connection), status,
response (what was answered) and time (Unix seconds, when it came).

Scripted failures: POST /_script with a JSON list of canned answers, e.g.
[{"status": 429, "headers": {"Retry-After": "2"}}, {"status": 500},
 {"status": 400, "body": {...}}, {"status": 201, "delay": 2.5},
 {"status": 503, "close": true}]
They answer the next provider requests, in order, before the normal
answers. "body" may be a JSON value (sent as JSON) or a string (sent as
is); "delay" waits that many seconds before answering; "close" closes the
connection after the answer. /_script requests are not recorded.
"""

import base64
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

PORT_FILE, RECORD_FILE, TOKEN, ACCOUNT_SID = sys.argv[1:5]

lock = threading.Lock()
script = []
counter = [0]

TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")


def next_n():
    with lock:
        counter[0] += 1
        return counter[0]


def now_rfc2822():
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def twilio_error(status, code, message):
    return status, {"code": code, "message": message,
                    "more_info": "https://www.twilio.com/docs/errors/%d" % code,
                    "status": status}


def messagebird_error(status, code, description, parameter=None):
    return status, {"errors": [{"code": code, "description": description,
                                "parameter": parameter}]}


def messagebird(handler, body):
    if handler.headers.get("Authorization") != "AccessKey " + TOKEN:
        return messagebird_error(401, 2, "Request not allowed (incorrect access_key)",
                                 "access_key")
    if not (handler.headers.get("Content-Type") or "").startswith("application/json"):
        return messagebird_error(400, 21, "Bad request (content type)")
    try:
        req = json.loads(body)
    except ValueError:
        return messagebird_error(400, 21, "Bad request (JSON)")
    for field in ("recipients", "originator", "body"):
        if not req.get(field):
            return messagebird_error(422, 9, "%s is required" % field, field)
    mid = "%032x" % next_n()
    return 201, {
        "body": req["body"],
        "createdDatetime": now_iso(),
        "datacoding": req.get("datacoding", "plain"),
        "direction": "mt",
        "gateway": 239,
        "href": "https://rest.messagebird.com/messages/" + mid,
        "id": mid,
        "mclass": 1,
        "originator": req["originator"],
        "recipients": {
            "items": [{"recipient": r, "status": "sent", "statusDatetime": now_iso(),
                       "messagePartCount": 1} for r in req["recipients"]],
            "totalCount": len(req["recipients"]),
            "totalDeliveredCount": 0,
            "totalDeliveryFailedCount": 0,
            "totalSentCount": len(req["recipients"]),
        },
        "reference": req.get("reference"),
        "scheduledDatetime": None,
        "type": "sms",
        "typeDetails": {},
        "validity": None,
    }


def twilio(handler, body, sid):
    auth = handler.headers.get("Authorization") or ""
    want = "Basic " + base64.b64encode(("%s:%s" % (ACCOUNT_SID, TOKEN)).encode()).decode()
    if auth != want or sid != ACCOUNT_SID:
        return twilio_error(401, 20003, "Authenticate")
    if handler.headers.get("Content-Type") != "application/x-www-form-urlencoded":
        return twilio_error(400, 20001, "Unsupported content type")
    form = parse_qs(body, keep_blank_values=True, strict_parsing=bool(body))
    if "To" not in form:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if "From" not in form:
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if "Body" not in form:
        return twilio_error(400, 21602, "Message body is required.")
    msid = "SM%032x" % next_n()
    uri = "/2010-04-01/Accounts/%s/Messages/%s" % (sid, msid)
    return 201, {
        "account_sid": sid,
        "api_version": "2010-04-01",
        "body": form["Body"][0],
        "date_created": now_rfc2822(),
        "date_sent": now_rfc2822(),
        "date_updated": now_rfc2822(),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form["From"][0],
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": None,
        "messaging_service_sid": None,
        "sid": msid,
        "status": "queued",
        "subresource_uris": {"media": uri + "/Media.json"},
        "tags": {},
        "to": form["To"][0],
        "uri": uri + ".json",
    }


def generic(handler, body):
    if handler.headers.get("Authorization") != "Bearer " + TOKEN:
        return 401, {"error": "unauthorized"}
    if not (handler.headers.get("Content-Type") or "").startswith("application/json"):
        return 415, {"error": "application/json expected"}
    try:
        json.loads(body)
    except ValueError as e:
        return 400, {"error": "invalid JSON: %s" % e}
    return 201, {"id": "gen-%d" % next_n(), "status": "accepted"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("sms_standin: %s %s\n" % (self.address_string(), fmt % args))
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
        body = raw.decode("utf-8", errors="replace")
        if self.command == "POST" and self.path == "/_script":
            with lock:
                script.extend(json.loads(body))
            self.answer(204, {}, None)
            return

        with lock:
            canned = script.pop(0) if script else None
        headers = {}
        close = False
        delay = 0
        if canned is not None:
            status = canned.get("status", 200)
            headers = dict(canned.get("headers", {}))
            resp = canned.get("body")
            close = bool(canned.get("close"))
            delay = canned.get("delay", 0)
        elif self.command != "POST":
            status, resp = 405, {"error": "method not allowed"}
        elif self.path == "/messages":
            status, resp = messagebird(self, body)
        elif self.path == "/send":
            status, resp = generic(self, body)
        elif TWILIO_PATH.match(self.path):
            status, resp = twilio(self, body, TWILIO_PATH.match(self.path).group(1))
        else:
            status, resp = 404, {"error": "not found"}

        record = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body,
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
    # The default backlog of 5 refuses connections from a dozen workers
    # opening theirs at once (tests/chaos): the clients saw connect
    # timeouts that no provider would cause.
    request_queue_size = 128


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = PORT_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, PORT_FILE)
    sys.stderr.write("sms_standin: listening on 127.0.0.1:%d\n" % srv.server_address[1])
    sys.stderr.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
