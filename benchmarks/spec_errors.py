"""How fast a spec mistake fails: each through the real ``targeting`` command, in a fresh process.

Every mistake must fail before any data is read, with exit code 2 and one sentence naming the
key. The time includes Python's start-up and the imports (the whole of what a user waits for); the
CPU time of the child process is printed beside the wall time, which a busy machine inflates.

    python benchmarks/spec_errors.py
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

CASES: list[tuple[str, dict, list[str]]] = [
    ("pooling: district", {"plan": {"pooling": "district"}}, []),
    ("n_splits: five", {"evaluation": {"n_splits": "five"}}, []),
    ("n_paths: lots", {"forecast": {"n_paths": "lots"}}, []),
    ('start_date: "03-11-2025x"', {"plan": {"start_date": "03-11-2025x"}}, []),
    ("evalutaion: (unknown key)", {"evalutaion": {"n_splits": 5}}, []),
    ("forest params n_estimaters", {"models": ["ols", "forest"]}, []),
    ("--n-paths -5", {}, ["--n-paths", "-5"]),
]


def main() -> None:
    """Print one row per mistake: exit code, seconds, and the message's first problem."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "experiments").mkdir()
        shutil.copytree(REPO / "models", root / "models")
        forest = yaml.safe_load((root / "models" / "forest.yaml").read_text())
        forest["params"] = {"n_estimaters": 50}
        (root / "models" / "forest.yaml").write_text(yaml.safe_dump(forest))
        for label, edit, options in CASES:
            spec = root / "experiments" / "x.yaml"
            spec.write_text(yaml.safe_dump({"name": "x", **edit}))
            argv = [sys.executable, "-m", "targeting.cli", "run", str(spec), "--no-tracking"]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(
                [*argv, *options], capture_output=True, text=True, cwd=root, check=False
            )
            seconds = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            lines = done.stderr.strip().splitlines()
            first = lines[1].strip() if len(lines) > 1 else (lines[0] if lines else "")
            rows.append((label, done.returncode, seconds, cpu, first))
    width = max(len(r[0]) for r in rows)
    # wall time depends on the machine's load; CPU time (user + system) much less so
    print(f"{'mistake':<{width}}  exit  wall s  cpu s  first problem")
    for label, code, seconds, cpu, first in rows:
        print(f"{label:<{width}}  {code:>4}  {seconds:6.2f}  {cpu:5.2f}  {first[:100]}")


if __name__ == "__main__":
    main()
