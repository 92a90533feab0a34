#!/usr/bin/env python3
"""A local stand-in for Slack and the SMS gateway: accepts Alertmanager's webhook POSTs on
127.0.0.1:PORT (default 9099), prints one line per alert and appends each body to FILE.
Usage: webhook-sink.py [PORT] [FILE]"""
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9099
path = sys.argv[2] if len(sys.argv) > 2 else "webhooks.log"

class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(path, "ab") as f:
            f.write(self.path.encode() + b" " + body + b"\n")
        try:
            doc = json.loads(body)
            # Alertmanager's webhook payload (SMS) or a Slack message.
            text = "; ".join(f"{a['status']} {a['labels'].get('alertname')} {a['labels'].get('severity')}" for a in doc.get("alerts", [])) \
                or doc.get("text") or doc.get("attachments", [{}])[0].get("title", "")
        except Exception:
            text = f"{len(body)} bytes"
        print(f"webhook {self.path}: {text}", flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", port), Sink).serve_forever()
