"""The command line behaves like a good Unix tool (issue 11): one-line errors with exit 2, long
values cut, quiet on a closed pipe, Ctrl-C/SIGTERM with one line and nothing partial left,
``--network`` anywhere, ``python -m tx_transport``, ``places``, checked cutoffs and outputs.

In-process tests reuse the session network (``load`` patched); subprocess tests run the real
entry point; Hypothesis fuzzes the arguments (never a traceback).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tx_transport import _files
from tx_transport.cli import goal_cmds, main, network_cmds
from tx_transport.network import load_network

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(net, monkeypatch):
    """Run ``main(argv)`` in-process on the session network; returns (rc, stdout, stderr)."""
    def load(args):
        return net if getattr(args, "network", None) is None else load_network(args.network)

    monkeypatch.setattr(network_cmds, "load", load)
    monkeypatch.setattr(goal_cmds, "load", load)

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(list(argv))
        return rc, out.getvalue(), err.getvalue()

    return run


@pytest.fixture
def no_load(monkeypatch):
    """Fail if a command loads the network (its argument checks must come first)."""
    def load(args):
        raise AssertionError("the network was loaded before the arguments were checked")

    monkeypatch.setattr(network_cmds, "load", load)
    monkeypatch.setattr(goal_cmds, "load", load)


def one_error(err: str, needle: str = "") -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tx-transport: error: "), err
    assert "Traceback" not in err and needle in err, (needle, err)


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.pop("TX_TRANSPORT_DEBUG", None)
    return e


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- places and names
def test_places_lists_and_searches_in_both_languages(cli, net):
    rc, out, err = cli("places")
    assert rc == 0 and err == "" and len(out.strip().splitlines()) == len(net.places)
    rc, out, _ = cli("places", "乌镇")
    assert rc == 0 and out.splitlines()[0].split()[:2] == ["wuzhen", "town"]
    assert {line.split()[0] for line in out.splitlines()} == {"wuzhen", "wuzhen-station", "wuzhen-wic"}
    rc, out, _ = cli("places", "hongQIAO", "--kind", "station", "--json")
    rows = json.loads(out)
    assert rc == 0 and [r["id"] for r in rows] == ["shanghai-hongqiao"]
    r = rows[0]
    assert r["kind"] == "station" and r["name_zh"] == "上海虹桥站"
    assert (r["lat"], r["lon"]) == (round(float(net.places.lat["shanghai-hongqiao"]), 6), round(float(net.places.lon["shanghai-hongqiao"]), 6))
    rc, out, _ = cli("places", "wuzen")
    assert rc == 1 and "no place matches 'wuzen'; did you mean wuzhen (town, 乌镇, Wuzhen)" in out
    rc, _, err = cli("places", "--kind", "castle")
    assert rc == 2
    one_error(err, "--kind 'castle' is not a place kind")


def test_route_by_chinese_and_english_names(cli, net):
    rc, out, _ = cli("route", "桐乡", "上海虹桥", "--profile", "rail", "--json")
    d = json.loads(out)
    ref = net.route("tongxiang-station", "shanghai-hongqiao", scenario="plan-2025", profile="rail")
    assert rc == 0 and (d["origin"], d["target"]) == ("tongxiang-station", "shanghai-hongqiao")
    assert d["time_min"] == pytest.approx(ref.time_min, abs=0.01)
    rc, out, _ = cli("route", "WUZHEN", "Tongxiang")
    assert rc == 0 and out.startswith("wuzhen -> tongxiang")


def test_route_to_the_same_place(cli):
    rc, out, err = cli("route", "乌镇", "wuzhen")
    assert rc == 0 and err == ""
    assert out.strip() == "乌镇 and wuzhen are the same place (wuzhen): time_min 0.0, length_km 0.0, nothing to route"
    rc, out, _ = cli("route", "wuzhen", "wuzhen", "--json")
    d = json.loads(out)
    assert d["time_min"] == 0 and d["legs"] == [] and d["note"] == "origin and target are the same place"


def test_ambiguous_and_unknown_names(cli):
    rc, _, err = cli("route", "atlantis", "tongxiang")
    assert rc == 2
    one_error(err, "unknown place 'atlantis'")
    assert "hefei" not in err  # never the list of every place


# --------------------------------------------------------------------------- arguments
def test_network_before_or_after_the_subcommand(cli, tmp_path):
    missing = str(tmp_path / "no-such-bundle")
    for argv in (("--network", missing, "scenarios"), ("scenarios", "--network", missing)):
        rc, _, err = cli(*argv)
        assert rc == 2
        one_error(err, f"{missing}: folder: does not exist")


def test_network_after_the_subcommand_is_used(tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    for p in (ROOT / "networks").iterdir():
        os.symlink(p, b / p.name)
    (b / "scenarios.yaml").unlink()
    (b / "scenarios.yaml").write_text("scenarios:\n  only-one:\n    description: just this one\n    opened_by: 2020\n", encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["scenarios", "--network", str(b)]) == 0
    assert out.getvalue().split() == ["only-one", "just", "this", "one"]


@pytest.mark.parametrize("argv, needle", [
    (["isochrones", "--from", "", "-o", "x.gpkg"], "--from needs at least one place"),
    (["isochrones", "--from", " , ", "-o", "x.gpkg"], "--from needs at least one place"),
    (["isochrones", "--from", "tongxiang", "--cutoffs", ",".join(str(i) for i in range(1, 1001)), "-o", "x.gpkg"],
     "1000 distinct cutoffs asked; the cap is 24 bands"),
    (["isochrones", "--from", "tongxiang", "--cutoffs", "15,abc", "-o", "x.gpkg"], "'abc' is not a number"),
    (["isochrones", "--from", "tongxiang", "--cutoffs", "0", "-o", "x.gpkg"], "positive, finite minutes"),
    (["isochrones", "--from", "tongxiang", "--cutoffs", "nan", "-o", "x.gpkg"], "positive, finite minutes"),
    (["isochrones", "--from", "tongxiang", "--cutoffs", "1e400", "-o", "x.gpkg"], "positive, finite minutes"),
    (["isochrones", "--from", "tongxiang", "--cutoffs", "", "-o", "x.gpkg"], "--cutoffs is empty"),
    (["isochrones", "--from", "tongxiang", "-o", "x.txt"], "-o must name a .gpkg file"),
    (["isochrones", "--from", "tongxiang", "-o", ""], "-o is empty"),
    (["report", "--out", ""], "--out is empty"),
    (["report", "--out", "."], "is the current folder or contains it"),
    (["compare", "a", "b", "--out", ""], "--out is empty"),
    (["route", "a"], "the following arguments are required: target"),
    (["nonsense"], "invalid choice: 'nonsense'"),
    (["scenarios", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_fail_at_once_in_one_line(cli, no_load, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(*argv)
    assert rc == 2 and out == ""
    one_error(err, needle)
    assert list(tmp_path.iterdir()) == []


def test_outputs_checked_before_the_work(cli, no_load, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iso.gpkg").mkdir()
    rc, _, err = cli("isochrones", "--from", "tongxiang", "-o", "iso.gpkg")
    assert rc == 2
    one_error(err, "-o iso.gpkg is an existing folder")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("precious")
    for argv in (("report", "--out", "mine"), ("compare", "baseline-2020", "plan-2025", "--out", "mine")):
        rc, _, err = cli(*argv)
        assert rc == 2
        one_error(err, "--out mine is a folder that does not hold a tx-transport")
    assert (tmp_path / "mine" / "thesis.docx").read_text() == "precious"


def test_isochrones_normalised_path_and_deduplicated_cutoffs(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli("isochrones", "--from", "乌镇", "--cutoffs", "30,15,30", "-o", "a/./sub/../x.gpkg")
    assert rc == 0 and err == ""
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/x.gpkg"]  # no stray sub/
    g = gpd.read_file(tmp_path / "a" / "x.gpkg", layer="isochrones")
    assert g.cutoff_min.tolist() == [15.0, 30.0]


def test_fifty_megabyte_value_is_never_echoed_whole(cli):
    huge = "y" * 50_000_000
    for argv in (("check", "--scenario", huge), ("route", huge, "tongxiang"), ("isochrones", "--from", "tongxiang", "--cutoffs", huge,
                                                                               "-o", "x.gpkg")):
        t0 = time.perf_counter()
        rc, out, err = cli(*argv)
        assert rc == 2 and len(err) < 1200 and "(50000000 characters)" in err, err[:300]
        one_error(err)
        assert time.perf_counter() - t0 < 20


def test_check_with_empty_goals_says_no_goals(tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    for p in (ROOT / "networks").iterdir():
        if p.name != "goals.yaml":
            os.symlink(p, b / p.name)
    (b / "goals.yaml").write_text("", encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["check", "--network", str(b)]) == 0
    assert out.getvalue().startswith("no goals:") and "0 of 0" not in out.getvalue()


def test_interrupt_and_bug_are_one_line(cli, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    def bug(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(network_cmds, "cmd_scenarios", interrupted)
    rc, _, err = cli("scenarios")
    assert (rc, err) == (130, "tx-transport: interrupted\n")
    monkeypatch.setattr(network_cmds, "cmd_scenarios", bug)
    rc, _, err = cli("scenarios")
    assert rc == 70 and len(err.strip().splitlines()) == 1 and "internal error: ZeroDivisionError" in err


def test_report_refuses_a_second_writer(cli, tmp_path):
    out = tmp_path / "rep"
    with _files.atomic_folder(out, kind="report"):
        t0 = time.perf_counter()
        rc, _, err = cli("report", "--out", str(out))
        assert rc == 2 and time.perf_counter() - t0 < 10
        one_error(err, f"{out} is being written by another tx-transport process")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


# --------------------------------------------------------------------------- the real entry point
def run_cli(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tx_transport", *argv], env=env(), capture_output=True, text=True, timeout=300, **kw)


def test_python_dash_m():
    p = run_cli("scenarios")
    assert p.returncode == 0 and p.stderr == "" and "plan-2025" in p.stdout
    p = run_cli("route", "tongxiang", "atlantis")
    assert p.returncode == 2 and p.stdout == ""
    one_error(p.stderr, "unknown place 'atlantis'")


def test_quiet_on_a_closed_pipe():
    # the reader goes away before the command prints: EPIPE on the first write
    proc = subprocess.Popen([sys.executable, "-m", "tx_transport", "places"], env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141 and err == b""


def test_check_piped_into_head():
    cmd = f"set -o pipefail; {sys.executable} -m tx_transport check --no-paths | head -1"
    p = subprocess.run(["bash", "-c", cmd], env=env(), capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 141) and p.stderr == "" and p.stdout.split()[:2] == ["goal", "group"]


@pytest.mark.parametrize("sig, rc_expected, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_interrupted_report_leaves_nothing_partial(tmp_path, sig, rc_expected, word):
    out = tmp_path / "rep"
    with _files.atomic_folder(out, kind="report") as tmp:  # the previous report: complete, with its manifest
        (tmp / "report.md").write_text("# the previous report\n", encoding="utf-8")
        (tmp / "tables").mkdir()
        (tmp / "tables" / "goals_plan-2025.csv").write_text("old\n", encoding="utf-8")
    before = digest(out)
    delay = random.SystemRandom().uniform(0.5, 12.0)  # a random moment: loading, goals, comparisons or figures
    proc = subprocess.Popen([sys.executable, "-m", "tx_transport", "report", "--out", str(out)], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=300)
    info = f"signal {sig.name} after {delay:.2f} s: rc {proc.returncode}, stderr {stderr[-500:]!r}"
    assert "Traceback" not in stderr, info
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"], info  # no temporary folder, file or lock
    if proc.returncode == 0:  # the report finished before the signal: it is complete
        man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert man["complete"] is True and {f["path"] for f in man["files"]} | {"manifest.json"} == set(digest(out)), info
    else:
        assert proc.returncode == rc_expected, info
        assert stderr.strip().splitlines()[-1] == f"tx-transport: {word}", info
        assert digest(out) == before, info  # the previous report untouched, nothing partial added


@pytest.mark.parametrize("sig, rc_expected, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_interrupt_while_starting_is_one_line(sig, rc_expected, word):
    proc = subprocess.Popen([sys.executable, "-m", "tx_transport", "scenarios"], env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)  # still importing the package
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    if proc.returncode != 0:  # (0 only on a machine that starts in under 0.3 s)
        assert (proc.returncode, stderr) == (rc_expected, f"tx-transport: {word}\n")


# --------------------------------------------------------------------------- fuzzing
PLACE_WORDS = st.sampled_from(["tongxiang", "wuzhen", "桐乡", "上海虹桥", "Hangzhou East", "atlantis", "", " ", "-", "--json"])
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
WORD = st.one_of(PLACE_WORDS, TEXT)
SCENARIO = st.one_of(st.sampled_from(["year-3000", "", "PLAN-2025"]), TEXT)
CUTOFFS = st.one_of(st.sampled_from(["15", "30,30", "1e9", "-1", "nan", "", ",,,", "5,10,15", "0.5"]),
                    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5).map(lambda v: ",".join(map(str, v))), TEXT)


@st.composite
def argvs(draw, folder: str) -> list[str]:
    cmd = draw(st.sampled_from(["scenarios", "places", "route", "isochrones", "check", "compare", "report", "junk"]))
    if cmd == "scenarios":
        return ["scenarios"] + draw(st.lists(WORD, max_size=2))
    if cmd == "places":
        return ["places", draw(WORD)] + draw(st.sampled_from([[], ["--json"], ["--kind", "station"], ["--kind", draw(TEXT)]]))
    if cmd == "route":
        return ["route", draw(WORD), draw(WORD), "--scenario", draw(st.one_of(SCENARIO, st.just("plan-2025"))),
                "--profile", draw(st.sampled_from(["car", "rail", "teleport", ""]))] + draw(st.sampled_from([[], ["--json"]]))
    if cmd == "isochrones":
        return ["isochrones", "--from", draw(WORD), "--cutoffs", draw(CUTOFFS), "--scenario", draw(st.sampled_from(["plan-2025", "x"])),
                "-o", draw(st.sampled_from([f"{folder}/iso.gpkg", f"{folder}", "", f"{folder}/a/./b/../i.gpkg", f"{folder}/x.txt"]))]
    if cmd == "check":
        return ["check", "--scenario", draw(SCENARIO)] + draw(st.sampled_from([[], ["--json"], ["--no-paths"]]))
    if cmd == "compare":  # scenarios that do not exist: it must fail before any work
        return ["compare", draw(SCENARIO), "year-3000", "--out", draw(st.sampled_from([f"{folder}/c", "", f"{folder}", "."]))]
    if cmd == "report":  # a bundle that does not exist: it must fail before any work
        return ["report", "--out", draw(st.sampled_from([f"{folder}/r", "", ".", f"{folder}"])), "--network", f"{folder}/no-{draw(TEXT)}"]
    return draw(st.lists(WORD, max_size=4))


def test_fuzzed_arguments_never_give_a_traceback(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "o"
    folder.mkdir()

    @settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(argv=argvs(str(folder)))
    def check_one(argv):
        rc, out, err = cli(*argv)
        assert rc in (0, 1, 2), (argv, rc, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, (argv, err)
        assert len(err) < 1500
        if rc == 2:
            assert err.startswith("tx-transport: error: "), (argv, err)
        hidden = [p for p in tmp_path.rglob(".*")]
        assert not hidden, (argv, hidden)

    check_one()
