"""A small HTTP server on 127.0.0.1 for the fetcher tests: each test registers handlers per path."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Reply:
    def __init__(self, status=200, body=b"", headers=None, delay=0.0, chunks=None):
        self.status, self.body, self.headers, self.delay, self.chunks = status, body, headers or {}, delay, chunks

    @classmethod
    def json(cls, obj, status=200, headers=None):
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})


class _Server(ThreadingHTTPServer):
    # a listen backlog for the fetchers' 16 parallel connections: with socketserver's 5 the kernel drops the
    # others' SYNs, and the clients try again a second later
    request_queue_size = 64


class LocalServer:
    """``server.route(path, fn)``: fn(request) -> Reply, where request has .path, .query, .headers.
    ``server.log`` lists (path, query, headers) of every request."""

    def __init__(self):
        self.routes, self.log = {}, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                self.query = {k: v[0] for k, v in parse_qs(url.query).items()}
                outer.log.append((url.path, self.query, dict(self.headers)))
                fn = outer.routes.get(url.path)
                reply = fn(self) if fn else Reply(404, b"not found")
                if reply.delay:
                    import time
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # a short poll: shutdown() waits for the loop to look, 0.5 s by default, at the end of every test
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def route(self, path, fn):
        self.routes[path] = fn if callable(fn) else (lambda req, r=fn: r)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
