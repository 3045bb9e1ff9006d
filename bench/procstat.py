"""CPU time and memory of a process, read from /proc (Linux), and stopping it, for the benchmarks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads); NaN if it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def proc_status(pid: int, keys: tuple[str, ...] = ("VmRSS", "VmHWM")) -> dict[str, int]:
    """Selected kB fields of /proc/PID/status (VmRSS: resident now, VmHWM: peak)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in keys:
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def stop(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM, wait up to `grace` seconds for a clean exit, then SIGKILL."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
