#!/usr/bin/python3
"""smtpd.py: the SMTP server of the e-mail integration tests (aiosmtpd).

Usage: smtpd.py DIR MODE [CERT KEY [USER PASSWORD]]
  MODE plain     no TLS offered
       starttls  STARTTLS required before MAIL (CERT and KEY given)
       auth      STARTTLS required and AUTH PLAIN/LOGIN with USER/PASSWORD

Every accepted message is written as DIR/msg-N.eml (the raw bytes) and
DIR/msg-N.env (MAIL FROM on the first line, then one recipient a line),
the .eml renamed in last so a reader polling for it sees whole files.
Refusals are read from DIR at each RCPT, so a test can change them while
the server runs: an address listed in DIR/reject-550 gets 550, one in
DIR/reject-451 gets 451, and a message to one in DIR/slow-data waits 60 s
before its DATA is answered (a server that hangs mid-session). The port is printed as "READY <port>" once the
server accepts connections. Run with /usr/bin/python3 (Debian's aiosmtpd).
SMTPD_PORT in the environment asks for that port (a restarted server keeps
its port: tests/chaos stops and restarts it).
"""
import asyncio
import os
import signal
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def listed(directory, name, address):
    try:
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            return address.lower() in (line.strip().lower() for line in f)
    except FileNotFoundError:
        return False


class Recorder:
    def __init__(self, directory):
        self.directory = directory
        self.n = 0
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # One line per EHLO: with plain SMTP, one per session, so a test
        # can count how many sessions carried its messages.
        with self.lock:
            with open(os.path.join(self.directory, "ehlo.log"), "a", encoding="utf-8") as f:
                f.write(hostname + "\n")
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if listed(self.directory, "reject-550", address):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if listed(self.directory, "reject-451", address):
            return "451 4.3.0 <%s>: Temporary lookup failure" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(listed(self.directory, "slow-data", r) for r in envelope.rcpt_tos):
            await asyncio.sleep(60)
        with self.lock:
            self.n += 1
            n = self.n
        base = os.path.join(self.directory, "msg-%d" % n)
        with open(base + ".env", "w", encoding="utf-8") as f:
            f.write(envelope.mail_from + "\n")
            for r in envelope.rcpt_tos:
                f.write(r + "\n")
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 Ok: queued as Q%d" % n


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    directory, mode = sys.argv[1], sys.argv[2]
    kwargs = {}
    if mode in ("starttls", "auth"):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        kwargs.update(tls_context=ctx, require_starttls=True)
    if mode == "auth":
        user, password = sys.argv[5].encode(), sys.argv[6].encode()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user
                  and auth_data.password == password)
            if ok:
                with open(os.path.join(directory, "auth-ok"), "a") as f:
                    f.write(mechanism + "\n")
            return AuthResult(success=ok)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller = None
    for _ in range(20):
        try:
            controller = Controller(Recorder(directory), hostname="127.0.0.1",
                                    port=int(os.environ.get("SMTPD_PORT") or free_port()),
                                    **kwargs)
            controller.start()
            break
        except OSError:
            controller = None
    if controller is None:
        sys.exit("smtpd.py: no free port")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("READY %d" % controller.port, flush=True)
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
