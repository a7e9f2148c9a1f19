#!/usr/bin/python3
"""mollie_standin.py: a recording stand-in for Mollie's API v2, the parts
channels/paylink.c uses: payment links and payments.

Usage: mollie_standin.py DIR API_KEY

Listens on 127.0.0.1, port 0 (any free one), HTTP/1.1 with keep-alive, and
writes the port to DIR/port (renamed in whole) once it accepts connections.
Shapes follow Mollie's reference (api-documentation: reference/v2/
payment-links-api/create-payment-link.rst and get-payment-link.rst,
payments-api/get-payment.rst, overview/handling-errors.rst and
api-idempotency.rst) and ../shared/conformance/provider-apis.md section 1:

  POST /v2/payment-links       201 application/hal+json payment-link object
                               (id pl_..., _links.paymentLink.href). Honours
                               Idempotency-Key: the same key with the same
                               parameters gets the first response again (and
                               Idempotent-Replayed: true), with other
                               parameters 400 "This Idempotency-Key has
                               already been used.". Checks the body as Mollie
                               would (422 with field), and refuses parameters
                               the Payment Links API does not have (stricter
                               than Mollie, so a test sees any extra field).
  GET  /v2/payment-links/{id}  200 the link, or 404 problem JSON.
  GET  /v2/payments/{id}       200 the object under that id in DIR/payments.json
                               (read at each request; the test writes it), or
                               404 "No payment exists with token {id}.".
Every /v2 request needs "Authorization: Bearer API_KEY", else 401 with the
documented body.

Control (not recorded):
  POST /_script  a JSON array of scripted answers, queued; each later /v2
                 request takes the first one instead of its normal answer:
                 {"status": 503, "body": {...} or "text" (default: a problem
                 JSON for the status), "headers": {"Retry-After": "7"},
                 "delay_ms": 3000 (wait before answering)}.

Every /v2 request is appended to DIR/requests.jsonl as one JSON object:
method, path (with the query), headers (names in lower case), body (text),
client_port (the same port for requests on one kept-alive connection), and
the answer: status, response_headers, response (text). The record is written
before the answer is sent, so a client that has its answer finds it there.
Log lines go to stderr. Run with /usr/bin/python3.
"""
import json
import os
import random
import re
import signal
import string
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOCS = {"href": "https://docs.mollie.com/errors", "type": "text/html"}

# provider-apis.md 1.5, error_unauthorized.json (verbatim)
UNAUTHORIZED = {
    "_links": {
        "documentation": {
            "href": "https://docs.mollie.com/guides/authentication",
            "type": "text/html",
        }
    },
    "detail": "Missing authentication, or failed to authenticate",
    "status": 401,
    "title": "Unauthorized Request",
}

# provider-apis.md 1.5, bad_request.json (verbatim)
IDEMPOTENCY_REUSED = {
    "_links": {
        "documentation": {
            "href": "https://docs.mollie.com/overview/api-idempotency",
            "type": "text/html",
        }
    },
    "detail": "This Idempotency-Key has already been used.",
    "status": 400,
    "title": "Bad Request",
}

TITLES = {
    400: "Bad Request",
    401: "Unauthorized Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# The parameters create-payment-link.rst documents.
LINK_PARAMETERS = {"description", "amount", "redirectUrl", "webhookUrl", "expiresAt",
                   "profileId", "testmode"}
ZERO_DECIMALS = {"JPY", "ISK"}  # payments/multicurrency.rst
ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def problem(status, detail, field=None):
    p = {"status": status, "title": TITLES.get(status, "Error"), "detail": detail}
    if field:
        p["field"] = field
    p["_links"] = {"documentation": DOCS}
    return p


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class State:
    def __init__(self, directory, key):
        self.directory = directory
        self.key = key
        self.lock = threading.Lock()
        self.links = {}
        self.idempotency = {}  # (path, key) -> (parameters, status, body)
        self.script = []

    def record(self, entry):
        with self.lock:
            with open(os.path.join(self.directory, "requests.jsonl"), "a",
                      encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def check_link(params):
    """The 422 Mollie would give for a bad create-payment-link body, or None."""
    if not isinstance(params, dict):
        return problem(400, "The request body is not a JSON object")
    for name in params:
        if name not in LINK_PARAMETERS:
            return problem(422, "Unknown parameter %s for payment links" % name, name)
    description = params.get("description")
    if not isinstance(description, str) or not description.strip():
        return problem(422, "The description is invalid", "description")
    if len(description) > 255:
        return problem(422, "The description is longer than 255 characters", "description")
    amount = params.get("amount")
    if not isinstance(amount, dict) or set(amount) != {"currency", "value"}:
        return problem(422, "The amount is invalid", "amount")
    currency, value = amount.get("currency"), amount.get("value")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        return problem(422, "The currency is invalid", "amount.currency")
    pattern = r"\d+" if currency in ZERO_DECIMALS else r"\d+\.\d{2}"
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        return problem(422, "The amount contains an invalid value", "amount.value")
    for name in ("redirectUrl", "webhookUrl"):
        if name in params and (not isinstance(params[name], str)
                               or not re.match(r"https?://", params[name])):
            return problem(422, "The %s is invalid" % name, name)
    if "expiresAt" in params and (not isinstance(params["expiresAt"], str)
                                  or not ISO8601.match(params["expiresAt"])):
        return problem(422, "The expiry date is invalid", "expiresAt")
    return None


def new_link(params):
    token = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(21))
    link_id = "pl_" + token
    link = {
        "resource": "payment-link",
        "id": link_id,
        "mode": "test",
        "profileId": "pfl_QkEhN94Ba",
        "createdAt": now_iso(),
        "paidAt": None,
        "updatedAt": None,
        "expiresAt": params.get("expiresAt"),
        "amount": {"value": params["amount"]["value"],
                   "currency": params["amount"]["currency"]},
        "description": params["description"],
        "redirectUrl": params.get("redirectUrl"),
        "_links": {
            "self": {"href": "https://api.mollie.com/v2/payment-links/" + link_id,
                     "type": "application/json"},
            "paymentLink": {"href": "https://paymentlink.mollie.com/payment/%s/" % token,
                            "type": "text/html"},
            "documentation": {
                "href": "https://docs.mollie.com/reference/v2/payment-links-api/"
                        "create-payment-link",
                "type": "text/html"},
        },
    }
    if "webhookUrl" in params:
        link["webhookUrl"] = params["webhookUrl"]
    return link


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mollie-standin/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stderr.flush()

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_DELETE(self):
        self.handle_request("DELETE")

    def do_PATCH(self):
        self.handle_request("PATCH")

    def send(self, status, body, headers=None, entry=None):
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        else:
            data = (body or "").encode()
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/hal+json")
        if entry is not None:
            entry["status"] = status
            entry["response_headers"] = {k.lower(): v for k, v in headers.items()}
            entry["response"] = data.decode("utf-8", "replace")
            self.server.state.record(entry)
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # a client that timed out (delay_ms) is gone: nothing to answer
            self.close_connection = True
            sys.stderr.write("client went away before the %d answer\n" % status)

    def handle_request(self, method):
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        text = raw.decode("utf-8", "replace")
        path = self.path.split("?", 1)[0]

        if path == "/_script" and method == "POST":
            items = json.loads(text)
            with state.lock:
                state.script.extend(items)
            self.send(200, {"queued": len(items)}, {"Content-Type": "application/json"})
            return

        entry = {
            "method": method,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": text,
            "client_port": self.client_address[1],
        }
        with state.lock:
            scripted = state.script.pop(0) if state.script else None
        if scripted is not None:
            status = scripted.get("status", 200)
            body = scripted.get("body")
            if body is None:
                body = problem(status, "Scripted %d" % status)
            if scripted.get("delay_ms"):
                time.sleep(scripted["delay_ms"] / 1000.0)
            self.send(status, body, scripted.get("headers"), entry)
            return

        if self.headers.get("Authorization") != "Bearer " + state.key:
            self.send(401, UNAUTHORIZED, None, entry)
            return

        if path == "/v2/payment-links" and method == "POST":
            self.create_link(entry, text)
            return
        m = re.fullmatch(r"/v2/payment-links/([A-Za-z0-9_]+)", path)
        if m and method == "GET":
            with state.lock:
                link = state.links.get(m.group(1))
            if link is None:
                self.send(404, problem(404, "No payment link exists with token %s."
                                       % m.group(1)), None, entry)
            else:
                self.send(200, link, None, entry)
            return
        m = re.fullmatch(r"/v2/payments/([^/]+)", path)
        if m and method == "GET":
            try:
                with open(os.path.join(state.directory, "payments.json"),
                          encoding="utf-8") as f:
                    payments = json.load(f)
            except FileNotFoundError:
                payments = {}
            payment = payments.get(m.group(1))
            if payment is None:
                # handling-errors.rst, the 404 example
                self.send(404, problem(404, "No payment exists with token %s."
                                       % m.group(1)), None, entry)
            else:
                self.send(200, payment, None, entry)
            return
        self.send(404, problem(404, "The resource %s does not exist" % path), None, entry)

    def create_link(self, entry, text):
        state = self.server.state
        try:
            params = json.loads(text)
        except ValueError:
            self.send(400, problem(400, "The request body is not valid JSON"), None, entry)
            return
        key = self.headers.get("Idempotency-Key")
        with state.lock:
            if key is not None and ("/v2/payment-links", key) in state.idempotency:
                first, status, body = state.idempotency[("/v2/payment-links", key)]
                replay = first == params
            else:
                replay = None
        if replay is False:
            self.send(400, IDEMPOTENCY_REUSED, None, entry)
            return
        if replay:
            self.send(status, body, {"Idempotent-Replayed": "true"}, entry)
            return
        bad = check_link(params)
        if bad is not None:
            status, body = bad["status"], bad
        else:
            link = new_link(params)
            with state.lock:
                state.links[link["id"]] = link
            status, body = 201, link
        if key is not None:
            with state.lock:
                state.idempotency[("/v2/payment-links", key)] = (params, status, body)
        self.send(status, body, None, entry)


def main():
    directory, key = sys.argv[1], sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(directory, key)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port_file = os.path.join(directory, "port")
    with open(port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    sys.stderr.write("mollie stand-in on 127.0.0.1:%d\n" % server.server_address[1])
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
