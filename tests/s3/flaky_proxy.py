"""A TCP proxy on 127.0.0.1 in front of the S3 server that breaks the next downloads it relays
(responses to ranged GETs): it passes their headers and a few bytes of body, then closes the
connection, as a network that drops a download halfway does. Everything else, and everything
after the breaks, passes through untouched."""

import contextlib
import socket
import threading


class FlakyProxy:
    def __init__(self, upstream_port: int, *, breaks: int, body_bytes: int = 100):
        self.upstream_port = upstream_port
        self.breaks_left = breaks
        self.broken = 0
        self.body_bytes = body_bytes
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        self._server.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _take_break(self) -> bool:
        with self._lock:
            if self.breaks_left <= 0:
                return False
            self.breaks_left -= 1
            self.broken += 1
            return True

    def _relay(self, client: socket.socket) -> None:
        """Relay one connection, response by response (keep-alive): a ranged GET's response
        (Content-Range) is broken while breaks are left; listings and the rest pass whole."""
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
        pending = b""
        try:
            while True:
                while b"\r\n\r\n" not in pending:
                    chunk = upstream.recv(65536)
                    if not chunk:
                        return
                    pending += chunk
                head, _, pending = pending.partition(b"\r\n\r\n")
                headers = head.lower()
                if b"content-range" in headers and self._take_break():
                    client.sendall(head + b"\r\n\r\n" + pending[: self.body_bytes])
                    return
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in headers.split(b"\r\n")
                        if line.startswith(b"content-length:")
                    ),
                    None,
                )
                client.sendall(head + b"\r\n\r\n")
                if length is None:  # delimited by the end of the connection
                    client.sendall(pending)
                    self._pipe(upstream, client)
                    return
                while len(pending) < length:
                    chunk = upstream.recv(65536)
                    if not chunk:
                        break
                    pending += chunk
                client.sendall(pending[:length])
                pending = pending[length:]
        except OSError:
            pass
        finally:
            for end in (client, upstream):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)  # a FIN now, and wakes the other relay
                end.close()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
