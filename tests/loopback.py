"""A loopback HTTP server on a free port, run in a daemon thread: the plumbing of the providers' fakes."""

import threading
from http.server import ThreadingHTTPServer


class LoopbackServer:
    """Subclasses set `handler_class` (a BaseHTTPRequestHandler whose `fake` attribute is set to the instance)."""

    handler_class: type

    def _listen(self, port: int = 0) -> None:
        """Listen on `port` (0: a free one); a fake that stopped may listen again on its old port."""
        handler = type("Handler", (self.handler_class,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
