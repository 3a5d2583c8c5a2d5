"""Vendor the front-end libraries (build step): ``python -m industry_brain.web.build_assets``.

Installs the exact versions pinned in the repository's ``package.json`` with npm
(``npm ci`` when ``package-lock.json`` exists, else ``npm install``) into ``node_modules/``
and copies the minified dist files into ``src/industry_brain/web/static/vendor/`` — build
output, ignored by git. The app refuses to start without them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent
VENDOR = WEB / "static" / "vendor"
# vendored file → path inside node_modules
FILES = {
    "echarts.min.js": Path("echarts/dist/echarts.min.js"),
    "htmx.min.js": Path("htmx.org/dist/htmx.min.js"),
    # Swagger UI of /docs (the JSON API), served without a CDN
    "swagger-ui-bundle.js": Path("swagger-ui-dist/swagger-ui-bundle.js"),
    "swagger-ui.css": Path("swagger-ui-dist/swagger-ui.css"),
}


def repo_root() -> Path:
    for parent in WEB.parents:
        if (parent / "package.json").is_file():
            return parent
    raise SystemExit("package.json not found above " + str(WEB))


def build(force: bool = False) -> list[Path]:
    """Install the npm packages when needed and copy their dist files; returns the copies."""
    root = repo_root()
    modules = root / "node_modules"
    if force or not all((modules / src).is_file() for src in FILES.values()):
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is required to build the web assets (Debian package `npm`).")
        cmd = [npm, "ci"] if (root / "package-lock.json").is_file() else [npm, "install"]
        subprocess.run([*cmd, "--no-audit", "--no-fund"], cwd=root, check=True)
    VENDOR.mkdir(parents=True, exist_ok=True)
    out = []
    for name, src in FILES.items():
        target = VENDOR / name
        shutil.copyfile(modules / src, target)
        out.append(target)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m industry_brain.web.build_assets")
    parser.add_argument("--force", action="store_true", help="reinstall the npm packages")
    args = parser.parse_args(argv)
    for path in build(force=args.force):
        print(f"vendored {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
