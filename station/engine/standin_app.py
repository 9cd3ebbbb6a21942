"""A stand-in web app for ``station bench``'s loaded case, until the real app is wired in.

Flask served by waitress (as the real app is), in its own process: ``/`` renders a Jinja
template with a table, ``/api/status`` asks the engine for its status over the Unix
socket and returns it as JSON, like the real app's status poll. ``station bench --url``
points the load at the real app instead.

Run: ``python -m station.engine.standin_app PORT DATA_DIR``.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

PAGE = """<!doctype html><html><head><title>{{ title }}</title></head><body>
<h1>{{ title }}</h1><table>{% for row in rows %}<tr><td>{{ row.n }}</td>
<td>{{ row.label | e }}</td><td>{{ '%.3f' | format(row.value) }}</td></tr>{% endfor %}
</table></body></html>"""


def make_app(data_dir: Path):
    from flask import Flask, jsonify, render_template_string

    from station.engine.ipc import EngineClient
    from station.paths import socket_path

    app = Flask("station-bench-standin")
    sock = socket_path(data_dir)

    @app.get("/")
    def page():
        rows = [{"n": i, "label": f"step <{i}>", "value": i / 7} for i in range(200)]
        return render_template_string(PAGE, title="Station", rows=rows)

    local = threading.local()  # one engine connection per server thread, like the app's

    @app.get("/api/status")
    def status():
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = EngineClient(sock, timeout=2.0)
        try:
            return jsonify(client.call("status"))
        except OSError:
            local.client = None
            raise

    return app


def main(argv: list[str]) -> int:
    import waitress

    port, data_dir = int(argv[0]), Path(argv[1])
    waitress.serve(make_app(data_dir), host="127.0.0.1", port=port, threads=4, _quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
