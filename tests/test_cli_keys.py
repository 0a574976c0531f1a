"""`sopu keys …` as an administrator runs it."""

from __future__ import annotations

from sync.crypto import KeyUnavailable
from tests.support.cli import run_sopu, var_site


def test_kek_rotation_from_the_command_line(tmp_path):
    assert run_sopu(tmp_path, "keys", "new-kek").returncode == 0
    assert (tmp_path / "var" / "kek.key").stat().st_mode & 0o077 == 0
    site = var_site(tmp_path)
    cases = [site.cases.create("f" * 32, "admin") for _ in range(3)]
    keys_before = [site.keys.current(c) for c in cases]
    site.close()

    added = run_sopu(tmp_path, "keys", "add-kek")
    assert added.returncode == 0 and "rotate-kek" in added.stdout
    rotated = run_sopu(tmp_path, "keys", "rotate-kek", "--actor", "admin-anna")
    assert rotated.returncode == 0, rotated.stderr
    assert "rewrapped 3 case keys" in rotated.stdout
    assert "older KEKs can now be removed" in rotated.stdout

    # Drop the old KEK from the file: every key still opens under the new one alone.
    key_file = tmp_path / "var" / "kek.key"
    key_file.write_text(key_file.read_text().splitlines()[0] + "\n")
    site = var_site(tmp_path)
    assert [site.keys.current(c) for c in cases] == keys_before
    assert [e.actor for e in site.audit.entries(action="kek.rotated")] == ["admin-anna"]
    site.close()


def test_shred_asks_for_confirmation_and_records_it(tmp_path):
    run_sopu(tmp_path, "keys", "new-kek")
    site = var_site(tmp_path)
    case = site.cases.create("f" * 32, "admin")
    site.close()

    refused = run_sopu(tmp_path, "keys", "shred", case, input="wrong\n")
    assert refused.returncode == 1 and "nothing was destroyed" in refused.stderr
    site = var_site(tmp_path)
    assert site.keys.current(case).version == 1
    site.close()

    done = run_sopu(tmp_path, "keys", "shred", case, "--actor", "admin-anna", input=case + "\n")
    assert done.returncode == 0, done.stderr
    assert "1 key versions destroyed" in done.stdout
    site = var_site(tmp_path)
    try:
        site.keys.current(case)
        raise AssertionError("the key survived shredding")
    except KeyUnavailable:
        pass
    assert [e.actor for e in site.audit.entries(action="case.shredded")] == ["admin-anna"]
    site.close()


def test_shred_of_unknown_case_and_missing_kek_are_clear_errors(tmp_path):
    missing = run_sopu(tmp_path, "keys", "status")
    assert missing.returncode == 1 and "sopu keys new-kek" in missing.stderr
    run_sopu(tmp_path, "keys", "new-kek")
    unknown = run_sopu(tmp_path, "keys", "shred", "0" * 32, "--yes")
    assert unknown.returncode == 1 and "no case" in unknown.stderr
