"""The spinner of long commands (scripts/report.py: working): shown on a terminal, absent
from pipes and files, so what a command prints when redirected is unchanged."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from rich.console import Console

from hetserve.cli.report import working


def test_working_draws_on_a_terminal_and_erases_itself():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=80)
    with working(console, "agh on paper-base"):
        pass
    text = buf.getvalue()
    assert "agh on paper-base" in text
    # transient: the cursor is shown again and the spinner's line erased at the end
    assert "\x1b[?25h" in text and text.endswith("\x1b[2K")


def test_working_writes_nothing_off_a_terminal():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=80)
    with working(console, "agh on paper-base"):
        pass
    assert buf.getvalue() == ""


def _solve(stderr_to_tty: bool) -> tuple[int, bytes, bytes]:
    cmd = [sys.executable, "-m", "hetserve.cli", "solve", "tiny", "--method", "gh", "--json"]
    if not stderr_to_tty:
        done = subprocess.run(cmd, capture_output=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    out, _ = proc.communicate(timeout=120)
    err = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        err += chunk
    os.close(leader)
    return proc.returncode, out, err


def test_solve_shows_the_spinner_on_a_terminal_only():
    code, out, err = _solve(stderr_to_tty=True)
    assert code == 0 and out.startswith(b"{")
    assert b"gh on tiny" in err
    code, out, err = _solve(stderr_to_tty=False)
    assert code == 0 and out.startswith(b"{") and err == b""
