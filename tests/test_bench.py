"""The benchmarks still run against the current protocol.

Not a performance test (figures are the benchmarks' own business and these machines are
noisy): a tiny run of each must exit 0, which it does only if nothing was lost, doubled,
reordered or broadcast that should not be.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.timeout(300)
def test_fanout_runs() -> None:
    done = _bench(
        "bench/fanout.py",
        "--backend",
        "sqlite",
        "--clients",
        "20",
        "--notes",
        "20",
        "--repeat",
        "1",
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "plenary-sqlite" in done.stdout


@pytest.mark.timeout(300)
def test_room_runs() -> None:
    done = _bench(
        "bench/room.py",
        "--backend",
        "sqlite",
        "--participants",
        "12",
        "--observers",
        "2",
        "--repeat",
        "1",
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "vote storm" in done.stdout


@pytest.mark.timeout(300)
def test_diff_runs() -> None:
    done = _bench("bench/diff.py", "--words", "2000", "--runs", "2", "--no-words")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "round trip: ok" in done.stdout


@pytest.mark.timeout(300)
def test_drafts_hostile_runs() -> None:
    done = _bench("bench/drafts_hostile.py", "--scale", "0.05", "--runs", "1")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "answers: ok" in done.stdout


@pytest.mark.timeout(300)
def test_hostile_runs() -> None:
    """Every phase once, small: it exits 0 only if every honest write was acknowledged
    while the floods and the worst drafts ran, and the first frame was refused (4002)."""
    done = _bench("bench/hostile.py", "--quick")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for phase in ("honest alone (peer)", "a flood of writes", "a flood of pings", "draft saves"):
        assert phase in done.stdout, phase


@pytest.mark.timeout(300)
def test_publish_runs() -> None:
    done = _bench(
        "bench/publish.py",
        "--backend",
        "sqlite",
        "--clients",
        "10",
        "--words",
        "3000",
        "--repeat",
        "1",
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "plenary-sqlite" in done.stdout
    assert "the redraft:" in done.stdout


@pytest.mark.timeout(300)
def test_scale_runs() -> None:
    """bench/scale.py with its C load generator, both peers and Plenary, in miniature."""
    done = _bench(
        "bench/scale.py",
        "--targets",
        "plenary,socketio,raw",
        "--workloads",
        "steady,slow",
        "--clients",
        "40",
        "--rates",
        "20",
        "--seconds",
        "1",
        "--flat-notes",
        "20",
        "--slow-repeat",
        "1",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for target in ("plenary", "socketio", "raw"):
        assert f"steady    {target}" in done.stdout
    assert "slow consumers, plenary" in done.stdout


@pytest.mark.timeout(300)
def test_memory_runs() -> None:
    done = _bench("bench/memory.py", "--clients", "50", "--trace-clients", "50")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "RSS per connection" in done.stdout
    assert "plenary" in done.stdout
