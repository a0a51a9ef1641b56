"""Start-up: the checked rulebook is cached on disk; heavy modules are imported when used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reasoner.law import rulebook as rb

REPO = Path(__file__).resolve().parents[2]
SCENARIO = str(REPO / "facts" / "scenarios" / "lpp-accumulation.yaml")


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EARLOG_CACHE_DIR", str(tmp_path))
    return tmp_path


def _fresh(regime: str = "ifr") -> rb.Rulebook:
    rb.load_rulebook.cache_clear()
    try:
        return rb.load_rulebook(regime)
    finally:
        rb.load_rulebook.cache_clear()


def test_the_checked_rulebook_is_written_and_read_back(cache: Path) -> None:
    built = _fresh()
    (file,) = cache.glob("rulebook-*.pickle")
    again = _fresh()
    assert again is not built and again.checked.program == built.checked.program
    assert again.sha256 == built.sha256 and again.checked.strata == built.checked.strata
    assert list(cache.glob(".rulebook-*")) == []  # no temporary file left behind


def test_a_corrupt_cache_file_is_ignored_and_replaced(cache: Path) -> None:
    built = _fresh()
    (file,) = cache.glob("rulebook-*.pickle")
    file.write_bytes(b"not a pickle")
    again = _fresh()
    assert again.checked.program == built.checked.program
    assert file.read_bytes() != b"not a pickle"


def test_each_regime_has_its_own_entry_and_an_empty_setting_disables_it(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh("ifr")
    _fresh("enforced")
    assert len(list(cache.glob("rulebook-*.pickle"))) == 2
    monkeypatch.setenv("EARLOG_CACHE_DIR", "")
    assert rb.cache_dir() is None and _fresh().regime == "ifr"


def test_an_unwritable_cache_directory_only_costs_time(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("EARLOG_CACHE_DIR", str(blocker / "sub"))  # cannot be created
    assert _fresh().regime == "ifr"


def test_concurrent_runs_share_an_empty_cache(tmp_path: Path) -> None:
    env = {**os.environ, "EARLOG_CACHE_DIR": str(tmp_path)}
    cmd = [sys.executable, "-c", "from reasoner.cli import main; main()", "decide", SCENARIO,
           "--format", "json"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-300:] for o in outs]
    assert len({o[0] for o in outs}) == 1
    assert len(list(tmp_path.glob("rulebook-*.pickle"))) == 1
    assert list(tmp_path.glob(".rulebook-*")) == []


def test_decide_does_not_import_heavy_modules() -> None:
    code = ("import sys; from reasoner.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('networkx', 'lark', 'docx', 'pyDatalog', 'pycountry') "
            "if m in sys.modules]\nprint('HEAVY', heavy, file=sys.stderr)")
    _fresh()  # the cache holds the rulebook
    done = subprocess.run([sys.executable, "-c", code, "decide", SCENARIO], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "HEAVY []" in done.stderr, done.stderr[-500:]


def test_the_country_codes_kept_equal_pycountrys() -> None:
    import pycountry

    from reasoner.law.scenario.iso3166 import ALPHA_2

    assert ALPHA_2 == {c.alpha_2 for c in pycountry.countries}


def test_edited_language_code_never_reads_a_stale_entry(cache: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh()
    monkeypatch.setattr(rb, "_code_digest", lambda: "edited")
    _fresh()
    assert len(list(cache.glob("rulebook-*.pickle"))) == 2
