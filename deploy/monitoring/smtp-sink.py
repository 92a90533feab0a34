#!/usr/bin/python3
"""A local stand-in for the mail server: an SMTP server on 127.0.0.1:PORT (default 2525) that
appends every message it receives to FILE as one JSON line:
  {"received": <Unix time, s>, "from": ..., "to": [...], "subject": ..., "text": <the decoded text parts>}
and prints one line per message. Needs aiosmtpd (Debian: python3-aiosmtpd, a module of the system
/usr/bin/python3, which a pyenv or venv python3 on PATH may not see). Used by the end-to-end alert
test and `tandem bench ops` (Sources/TandemOps/Stack/LocalAlertStack.swift).
Usage: /usr/bin/python3 smtp-sink.py [PORT] [FILE]"""
import email, email.policy, json, sys, threading, time
from aiosmtpd.controller import Controller

port = int(sys.argv[1]) if len(sys.argv) > 1 else 2525
path = sys.argv[2] if len(sys.argv) > 2 else "mail.jsonl"

class Sink:
    async def handle_DATA(self, server, session, envelope):
        received = time.time()
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = []
        for part in msg.walk():
            if part.get_content_maintype() != "text":
                continue
            try:
                parts.append(part.get_content())
            except Exception:
                parts.append((part.get_payload(decode=True) or b"").decode("utf-8", "replace"))
        record = {"received": received, "from": envelope.mail_from, "to": envelope.rcpt_tos,
                  "subject": str(msg.get("Subject", "")), "text": "\n".join(parts)}
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")
        print(f"mail to {','.join(envelope.rcpt_tos)}: {record['subject']}", flush=True)
        return "250 OK"

controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print(f"smtp-sink: listening on 127.0.0.1:{port}, writing {path}", flush=True)
threading.Event().wait()
