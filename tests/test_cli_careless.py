"""The command line for a careless user: a typo is one clear line, never a traceback,
a success that did nothing, or a half-made device left behind."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.org import PASSWORD
from tests.test_cli_device import sopu_device


def sopu(*args, stdin: str | None = None, timeout: int = 60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPU_")}
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_clear_line(result) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_replicating_from_a_store_that_does_not_exist_fails_and_creates_nothing(tmp_path):
    missing, target = tmp_path / "typo", tmp_path / "target"
    result = sopu("replicate", f"sqlite:///{missing}", f"sqlite:///{target}", "--all")
    assert result.returncode == 1
    assert "does not exist" in one_clear_line(result)
    assert not missing.exists() and not target.exists()


def test_serve_refuses_ports_out_of_range_clearly(tmp_path):
    for port in ("99999", "-5", "0", "http"):
        result = sopu("--config", os.devnull, "serve", "--port", port, timeout=30)
        assert result.returncode == 2, (port, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert "--port" in result.stderr and "Sopu on" not in result.stdout


def test_enrolling_against_an_unreachable_server_asks_nothing_and_leaves_nothing(tmp_path):
    home = tmp_path / "phone"
    result = sopu_device(home, "enrol", "http://127.0.0.1:9", "aino", stdin="")
    assert result.returncode == 1
    line = one_clear_line(result)
    assert line == (
        "Error: cannot reach the server at http://127.0.0.1:9: "
        "the connection was refused or the address is wrong"
    )
    assert "Password" not in result.stdout  # asked nothing before the server answered
    assert not home.exists()


def test_a_failed_enrolment_leaves_no_half_made_device(org, server, tmp_path):
    org.worker("aino")
    home = tmp_path / "phone"
    wrong = sopu_device(home, "enrol", server, "aino", stdin="not the password\n")
    assert wrong.returncode == 1 and "login failed" in one_clear_line(wrong)
    assert not home.exists()
    again = sopu_device(home, "enrol", server, "aino", stdin=PASSWORD)
    assert again.returncode == 0, again.stderr


def test_no_terminal_and_no_pin_or_password_says_what_to_do(org, server, tmp_path):
    org.worker("aino")
    home = tmp_path / "phone"
    no_password = sopu_device(home, "enrol", server, "aino", stdin="")
    assert no_password.returncode == 1
    assert "no password given" in one_clear_line(no_password)
    no_pin = sopu_device(home, "enrol", server, "aino", pin=None, stdin=f"{PASSWORD}\n")
    assert no_pin.returncode == 1
    assert "SOPU_DEVICE_PIN" in one_clear_line(no_pin)
    assert not home.exists()


def test_a_server_that_is_not_sopu_is_named_before_any_password(tmp_path):
    import http.server
    import threading

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_port}"
        result = sopu_device(tmp_path / "phone", "enrol", url, "aino", stdin="")
    finally:
        httpd.shutdown()
    assert result.returncode == 1
    assert "does not look like a Sopu server" in one_clear_line(result)
