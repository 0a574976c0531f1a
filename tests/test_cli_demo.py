"""`sopu demo --no-serve`: the pair visit ends in one note holding both instructors' edits."""

from __future__ import annotations

import subprocess
import sys

from server.cli.demo import AINO_SENTENCE, AINO_VIEW, BERTIL_FIX, BERTIL_SENTENCE, BERTIL_VIEW


def test_demo_prints_a_merged_note_with_both_instructors_sentences(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "server", "demo", "--data-dir", str(tmp_path / "demo"),
         "--port", "0", "--no-serve"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())  # undo the line wrapping
    merged = out.split("The merged note on Aino's phone:")[1].split("Aino finalises")[0]
    assert AINO_SENTENCE in merged and BERTIL_SENTENCE in merged
    assert "Items to reconcile" in merged  # both rewrote the client's view
    assert AINO_VIEW in merged and BERTIL_VIEW in merged
    assert "Aino Ohjaaja" in merged and "Bertil Handledare" in merged
    final = out.split("The final note and its amendment:")[1]
    assert "note, final" in final and "amendment, draft" in final
    assert BERTIL_FIX in final
