"""Headless Chromium for the supervisor web's tests: Debian's `chromium` driven by
Playwright (whose own browser download cannot work here), one browser per test
session, a fresh context (cookies, storage) per test; axe-core (npm) for accessibility
and screenshots of every page in every language.
"""

from __future__ import annotations

import json
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
SERIOUS = {"serious", "critical"}


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now (the page's
    own Content-Security-Policy is bypassed by the test context to inject axe)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))"
    )
    violations = json.loads(result)["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in violations
        if v["impact"] in SERIOUS
    ]


def screenshot(page, name: str) -> Path:
    """Save the whole page as tests/artifacts/screenshots/<name>.png (not committed;
    docs/screenshots/ holds the chosen ones)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
