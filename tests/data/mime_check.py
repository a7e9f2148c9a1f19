#!/usr/bin/python3
"""mime_check.py FILE: parses an RFC 5322 message with Python's email
package (a real parser, not ours) and prints what the tests check as one
JSON object: decoded headers, the MIME structure as
"multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)",
the decoded text and html parts, and the attachment's name and bytes (hex).
Also reports whether every line ends in CRLF and the longest line."""
import json
import sys
from email import policy
from email.parser import BytesParser


def structure(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_type(),
                           ",".join(structure(p) for p in part.iter_parts()))
    return part.get_content_type()


def main():
    raw = open(sys.argv[1], "rb").read()
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    out = {
        "structure": structure(msg),
        "defects": len(msg.defects) + sum(len(p.defects) for p in msg.walk()),
        "crlf": all(line.endswith(b"\r\n") for line in raw.splitlines(keepends=True)),
        "longest_line": max(len(line.rstrip(b"\r\n")) for line in raw.splitlines(True)),
    }
    for h in ("From", "To", "Subject", "Date", "Message-ID", "Reply-To",
              "List-Unsubscribe", "Auto-Submitted"):
        if msg[h] is not None:
            out[h.lower()] = str(msg[h])
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if part.get_content_disposition() == "attachment":
            out["attachment_name"] = part.get_filename()
            out["attachment_type"] = ctype
            out["attachment_hex"] = part.get_payload(decode=True).hex()
        elif ctype in ("text/plain", "text/html"):
            # Line breaks as LF; the CRLF before a boundary belongs to the
            # boundary (RFC 2046), so a part's last line break is not
            # part of its content: add it back for comparison.
            text = part.get_content().replace("\r\n", "\n")
            if not text.endswith("\n"):
                text += "\n"
            out[ctype[5:].replace("plain", "text")] = text
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
