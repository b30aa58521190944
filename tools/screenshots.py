"""Screenshots of every page, for every role, at 1440 and 390 px wide, into docs/screenshots/.

    make screenshots            # or: .venv/bin/python tools/screenshots.py [--out DIR]

Builds a throwaway SQLite database in a temporary folder, loads the demo (`manage.py demo`),
serves it with `manage.py runserver` on a free port (tasks run in-process, DEBUG on for static
files), and drives the system Chromium with Playwright. The pages are found from the URL conf
(every page route whose parameters the demo can fill), so a new page shows up without editing
this file; a page that answers a role with anything but 200 HTML is left out for that role.
The PNGs are reduced to a 256-colour palette to keep the folder small, and
docs/screenshots/README.md lists them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WIDTHS = (1440, 390)
ROLES = [  # (who, username, what they are)
    ("anonymous", None, "not logged in"),
    ("lead", "lead", "project lead"),
    ("labeler", "ann", "labeler"),
    ("engineer", "eng", "ML engineer"),
    ("admin", "admin", "staff superuser"),
]
PASSWORD = "concord-demo"
SKIP = re.compile(
    r"^(api/|admin/|media/|health/|accounts/logout/)|/(file|thumb|acknowledge|users|preview)/$"
)
MAX_HEIGHT = 5000  # px: a longer page is cut (the rest repeats the same rows)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env, *args) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


SETUP = """
import json
from django.urls import get_resolver
from projects.instructions import instructions_current
from projects.models import Project, Membership
from projects.people import invitation_create
from quality.models import Flag
from tests.security.world import url_routes
project = Project.objects.get(slug="street-scenes")
lead = Membership.objects.get(project=project, role="lead").user
flag = Flag.objects.filter(project=project, status="open").order_by("image_id", "id").first()
image = flag.image if flag else project.images.first()
_, token = invitation_create(project=project, created_by=lead, role="labeler", note="Dana")
version = instructions_current(project=project)
print(json.dumps({
    "slug": project.slug, "project_id": project.pk, "flag_id": flag.pk if flag else None,
    "image_id": image.pk, "token": token, "number": version.number if version else 1,
    "routes": [route for route, _ in url_routes()],
}))
"""


def _pages(values: dict) -> list[str]:
    """Page paths from the URL conf, with parameters the demo fills; others are left out."""
    pages = []
    for route in values["routes"]:
        if SKIP.search(route) or "^" in route:
            continue
        path = "/" + route
        names = re.findall(r"<(?:\w+:)?(\w+)>", route)
        if any(values.get(name) is None for name in names):
            continue
        for name in names:
            path = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), path)
        if path not in pages:
            pages.append(path)
    return pages


def _slug_of(path: str, values: dict) -> str:
    name = path.strip("/") or "home"
    name = name.replace(values["slug"], "project").replace(values["token"], "token")
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _shrink(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as picture:
        picture = picture.convert("RGB")
        if picture.height > MAX_HEIGHT:
            picture = picture.crop((0, 0, picture.width, MAX_HEIGHT))
        picture = picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=0)
        picture.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    out = Path(args.out)
    work = Path(tempfile.mkdtemp(prefix="concord-shots-"))
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "MEDIA_ROOT": str(work / "media"),
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "concord.settings",
    }
    print("loading the demo into a temporary database…", flush=True)
    started = time.monotonic()
    _manage(env, "migrate", "--noinput")
    _manage(env, "demo")
    print(f"demo loaded in {time.monotonic() - started:.0f} s; taking screenshots…", flush=True)
    import json

    values = json.loads(_manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health/", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        shots = _shoot(base, _pages(values), values, out, args.chromium)
        _index(out, shots, values)
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(shots)} screenshots in {out}")


def _pages_of(who: str, pages: list[str]) -> list[str]:
    """Anonymous: the login and invitation pages; the staff superuser: home and /admin/ (the
    rest is what the lead sees); everyone else: every page but those two."""
    public = ("/accounts/login/", "/invitations/")
    if who == "anonymous":
        return [p for p in pages if p.startswith(public)]
    if who == "admin":
        return ["/", "/admin/"]
    return [p for p in pages if not p.startswith(public)]


def _shoot(base, pages, values, out: Path, chromium: str) -> list[tuple[str, str, str, int]]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    shots = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for who, username, _what in ROLES:
            context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=base)
            page = context.new_page()
            if username:
                page.goto("/accounts/login/")
                page.fill("#id_username", username)
                page.fill("#id_password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(lambda url: "/accounts/login" not in url)
            for path in _pages_of(who, pages):
                try:
                    response = page.goto(path)
                except PlaywrightError:  # a route that is not a page (405, a download)
                    continue
                kind = response.headers.get("content-type", "") if response else ""
                if not response or response.status != 200 or "text/html" not in kind:
                    continue
                if "/accounts/login/" in page.url and path != "/accounts/login/":
                    continue
                for width in WIDTHS:
                    page.set_viewport_size({"width": width, "height": 900})
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(700)  # charts finish their animation
                    name = f"{who}--{_slug_of(path, values)}--{width}.png"
                    page.screenshot(path=str(out / name), full_page=True)
                    _shrink(out / name)
                    shots.append((who, path, name, width))
                page.set_viewport_size({"width": 1440, "height": 900})
            context.close()
        browser.close()
    return shots


def _index(out: Path, shots, values: dict) -> None:
    lines = [
        "# Screenshots",
        "",
        "Every page for every role, at 1440 px and 390 px wide, on the demo project",
        "(`make run` data). Regenerate with `make screenshots` (tools/screenshots.py).",
        "",
    ]
    for who, username, what in ROLES:
        mine = [s for s in shots if s[0] == who]
        if not mine:
            continue
        lines += [f"## {who} ({username or '–'}, {what})", "", "| page | 1440 px | 390 px |"]
        lines.append("|---|---|---|")
        for path in dict.fromkeys(s[1] for s in mine):
            wide = next(s[2] for s in mine if s[1] == path and s[3] == 1440)
            narrow = next(s[2] for s in mine if s[1] == path and s[3] == 390)
            shown = path.replace(values["token"], "<token>")
            lines.append(f"| `{shown}` | [1440]({wide}) | [390]({narrow}) |")
        lines.append("")
    (out / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
