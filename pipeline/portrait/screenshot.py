"""Renders a report page in headless Chromium to a PNG: proof that it opens and draws (used by a test and make)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--virtual-time-budget=15000",
         "--hide-scrollbars"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 1600) -> Path:
    """Write `png`; raises if Chromium is missing or fails."""
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("Chromium not found (Debian: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={png}", html.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    return png


def drawn_share(png: Path) -> float:
    """Share of pixels that are not the page background (white): a blank page scores ~0."""
    from PIL import Image

    img = Image.open(png).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 24)
    white = sum(n for n, c in colours if min(c) >= 250)
    return 1.0 - white / (img.width * img.height)
