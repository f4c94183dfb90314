#!/usr/bin/env python3
"""http_server.py DIR PORT_FILE LOG_FILE - a loopback HTTP server for the
store's download tests, with Range support and injected faults. It serves
DIR on 127.0.0.1 at a free port (written to PORT_FILE) and logs each
request's path and Range header to LOG_FILE. The first path component picks
the behaviour:

  /plain/NAME             the file, honouring "Range: bytes=N-"
  /drop/BYTES/NAME        as plain, but closes the connection after BYTES
                          bytes of body (every request, so a client must
                          resume several times)
  /norange/NAME           ignores Range and always sends the whole file
  /corrupt/NAME           one byte in the middle flipped
  /status/CODE/NAME       answers CODE with no body
  /slow/NAME              64 KiB every 0.2 s (for a kill mid-download)
  /stall/NAME             sends 1 KiB, then nothing until the client leaves
  /random/NAME            each request draws one of the above (plain,
                          drop at a random offset, corrupt, 500, a 3 s
                          stall after a random offset) from a generator
                          seeded by $OG_HTTP_SEED (default 1)

It exits by itself after $OG_HTTP_LIFETIME seconds (default 300), so a
test that dies never leaves it behind.
"""
import http.server
import os
import random
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        parts = self.path.lstrip("/").split("/")
        with open(self.server.log_path, "a") as log:
            log.write("%s range=%s\n" % (self.path, self.headers.get("Range", "-")))
        mode, args, name = parts[0], parts[1:-1], parts[-1]
        stall_at, stall_for = 1024, 60
        if mode == "random":
            with self.server.lock:
                r = self.server.rng
                mode = r.choice(["plain", "plain", "drop", "drop", "corrupt", "status", "stall"])
                offset = r.randrange(1, 1200000)
            args = [str(offset)] if mode == "drop" else ["500"] if mode == "status" else []
            stall_at, stall_for = offset, 3
        if mode == "status":
            self.send_response(int(args[0]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = os.path.join(self.server.root, os.path.basename(name))
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "corrupt":
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]
        start = 0
        rng = self.headers.get("Range")
        if rng and mode != "norange" and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        try:
            if mode == "drop":
                self.wfile.write(body[: int(args[0])])
                self.wfile.flush()
                self.close_connection = True
                return
            if mode == "slow":
                for i in range(0, len(body), 65536):
                    self.wfile.write(body[i:i + 65536])
                    self.wfile.flush()
                    time.sleep(0.2)
                return
            if mode == "stall":
                self.wfile.write(body[:stall_at])
                self.wfile.flush()
                time.sleep(stall_for)
                return
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up mid-transfer are what the tests are about


def main():
    root, port_file, log_path = sys.argv[1:4]
    server = Server(("127.0.0.1", 0), Handler)
    server.root, server.log_path = root, log_path
    server.rng = random.Random(int(os.environ.get("OG_HTTP_SEED", "1")))
    server.lock = threading.Lock()
    threading.Timer(int(os.environ.get("OG_HTTP_LIFETIME", "300")), server.shutdown).start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
