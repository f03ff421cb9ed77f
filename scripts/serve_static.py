"""A small static file server for the built web UI (``web_ui/dist``) that also answers SPA routes.

``python scripts/serve_static.py --directory web_ui/dist --port 3000``: files are served as they
are (``.wasm`` as ``application/wasm``, ``.task`` as ``application/octet-stream``); a path that
is not a file and has no extension (a client-side route) gets ``index.html``. ``/healthz``
answers ``ok``. Stdlib only; used by ``start.sh`` in local mode (the images use nginx).
"""

from __future__ import annotations

import argparse
import logging
import posixpath
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger("serve_static")


class SpaHandler(SimpleHTTPRequestHandler):
    """Static files, ``index.html`` for client-side routes, no directory listings."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".task": "application/octet-stream",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        ".svg": "image/svg+xml",
    }

    def send_head(self):  # type: ignore[no-untyped-def]
        path = urlsplit(self.path).path
        if path == "/healthz":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok") if self.command == "GET" else None
            return None
        local = Path(self.translate_path(path))
        if not local.is_file():
            if local.is_dir() and (local / "index.html").is_file():
                pass  # the folder's index.html, served by the base class
            elif "." not in posixpath.basename(path):
                self.path = "/index.html"  # a client-side route
            else:
                self.send_error(404, "Not found")
                return None
        return super().send_head()

    def end_headers(self) -> None:
        # Hashed assets can be cached; index.html must be revalidated after a rebuild.
        if self.path.startswith("/assets/"):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def list_directory(self, path):  # type: ignore[no-untyped-def]
        self.send_error(404, "Not found")
        return None

    def log_message(self, format: str, *args: object) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", default="web_ui/dist", help="folder to serve")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: all)")
    parser.add_argument("--port", type=int, default=3000, help="TCP port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    root = Path(args.directory).resolve()
    if not (root / "index.html").is_file():
        parser.error(
            f"{root / 'index.html'} does not exist: build the UI (cd web_ui && npm run build)"
        )
    server = ThreadingHTTPServer((args.host, args.port), partial(SpaHandler, directory=str(root)))
    server.daemon_threads = True
    logger.info("serving %s on http://%s:%d", root, args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
