"""The `sopu` command in a child process on a data directory of a test's own
(`<tmp>/var`), and the site that directory holds, as the CLI tests use them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from server.keys.kek import load_keks
from server.site import Site


def run_sopu(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """`sopu ARGS` with SOPU_DATA_DIR=<tmp_path>/var (no SOPU_KEK from the caller's
    environment) and `env` on top, run in `tmp_path`; `kwargs` go to subprocess.run
    (`input`, `timeout`)."""
    env = {**os.environ, "SOPU_DATA_DIR": str(tmp_path / "var"), **(env or {})}
    env.pop("SOPU_KEK", None)
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        **kwargs,
    )


def var_site(tmp_path: Path) -> Site:
    """The site of `<tmp_path>/var` as `sopu` opens it by default (embedded store,
    SQLite directory, `var/kek.key`)."""
    var = tmp_path / "var"
    return Site.open(
        f"sqlite:///{var / 'store'}", var / "directory.sqlite3", load_keks(var / "kek.key")
    )
