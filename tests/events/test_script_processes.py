"""Nothing a script hook starts outlives the hook (issue 15 item 7).

Real /bin/sh scripts that start background children, ``setsid`` grandchildren and double forks;
real signals. Each leftover process writes its pid to a file, and the test then looks it up in
/proc: after the run it must be gone (not merely a zombie: the supervisor reaps what it kills).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sublarr.plugins.hooks.scripts import execute, script_env
from tests.events.conftest import worker_env
from tests.polling import wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pids_in(path: Path, count: int, timeout: float = 10.0) -> list[int]:
    """The pids the script's processes wrote, one per line, once ``count`` of them are there."""
    def read():
        try:
            lines = [line for line in path.read_text().split() if line.strip()]
        except FileNotFoundError:
            return None
        return [int(x) for x in lines] if len(lines) >= count else None
    return wait_until(read, timeout, what=f"{count} pid(s) in {path.name}")


def kill_leftovers(path: Path) -> None:
    """Clean up after a failing test: never leave a sleeper behind on the test machine."""
    try:
        pids = [int(x) for x in path.read_text().split()]
    except (FileNotFoundError, ValueError):
        return
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_background_child_of_a_successful_script_is_killed(make_script, tmp_path):
    """Before: the script exited 0, was logged as success, and `sleep 300` ran on."""
    pids = tmp_path / "pids"
    script = make_script("bg.sh", f'sleep 300 >/dev/null 2>&1 &\necho $! >> "{pids}"\necho done')
    try:
        code, out, _, error = execute(script, script_env("test", {}), timeout=30)
        assert (code, out, error) == (0, "done\n", "")
        [child] = pids_in(pids, 1)
        assert not alive(child), "the background child outlived the hook"
    finally:
        kill_leftovers(pids)


def test_setsid_and_double_forked_grandchildren_are_killed_on_success(make_script, tmp_path):
    """Processes that left the script's session and process group, and whose parent is gone."""
    pids = tmp_path / "pids"
    body = (f'setsid sh -c \'echo $$ >> "{pids}"; exec sleep 300\' </dev/null >/dev/null 2>&1 &\n'
            f'( sh -c \'echo $$ >> "{pids}"; exec sleep 300\' </dev/null >/dev/null 2>&1 & ) \n'
            f'( setsid sh -c \'sh -c "echo \\$\\$ >> {pids}; exec sleep 300" & \' </dev/null >/dev/null 2>&1 & )\n'
            # The file may not exist yet: `wc -l < missing` would end the loop at once (the test
            # then raced the supervisor's kill against the children's own writes).
            f'while [ "$(cat "{pids}" 2>/dev/null | wc -l)" -lt 3 ]; do sleep 0.05; done\nexit 0')
    script = make_script("escape.sh", body)
    try:
        started = time.monotonic()
        code, _, _, error = execute(script, script_env("test", {}), timeout=30)
        assert (code, error) == (0, "")
        assert time.monotonic() - started < 10
        leftovers = pids_in(pids, 3)
        assert [pid for pid in leftovers if alive(pid)] == []
    finally:
        kill_leftovers(pids)


def test_a_setsid_grandchild_holding_the_output_pipe_is_killed_at_the_timeout(make_script, tmp_path):
    """Before: the grandchild survived the timeout (and kept the output pipe open)."""
    pids = tmp_path / "pids"
    body = (f'setsid sh -c \'echo $$ >> "{pids}"; exec sleep 300\' &\n'
            f'echo $$ >> "{pids}"\nsleep 300')
    script = make_script("stuck.sh", body)
    try:
        started = time.monotonic()
        code, _, _, error = execute(script, script_env("test", {}), timeout=1)
        took = time.monotonic() - started
        assert (code, error) == (-1, "Timeout after 1s")
        assert took < 1 + 3, f"the run took {took:.2f} s for a 1 s timeout"
        leftovers = pids_in(pids, 2)
        assert [pid for pid in leftovers if alive(pid)] == []
    finally:
        kill_leftovers(pids)


RUNNER = """
import sys
from pathlib import Path
from sublarr.plugins.hooks.scripts import execute, script_env
print("running", flush=True)
execute(Path(sys.argv[1]), script_env("test", {}), timeout=300)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_the_hook_processes_die_with_the_sublarr_process(make_script, tmp_path, sig):
    """The process running the hook (a worker, `sublarr run`) is killed mid-run: the script, its child
    and its setsid grandchild go with it."""
    pids = tmp_path / "pids"
    body = (f'setsid sh -c \'echo $$ >> "{pids}"; exec sleep 300\' </dev/null >/dev/null 2>&1 &\n'
            f'sleep 300 &\necho $! >> "{pids}"\necho $$ >> "{pids}"\nwait')
    script = make_script("long.sh", body)
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, str(script)], env=worker_env(), stdout=subprocess.PIPE,
                              start_new_session=True)
    try:
        assert runner.stdout.readline() == b"running\n"
        leftovers = pids_in(pids, 3)
        assert all(alive(pid) for pid in leftovers)
        runner.send_signal(sig)
        runner.wait(timeout=10)
        wait_until(lambda: not any(alive(pid) for pid in leftovers), 30,  # a deadline, not a speed: a loaded machine
                   what="every hook process gone")
    finally:
        runner.kill()
        runner.wait()
        kill_leftovers(pids)


@pytest.mark.parametrize("attempt", range(5))  # the race is narrow: each attempt caught the old code about every other time
def test_repeated_stop_signals_do_not_interrupt_the_clean_up(make_script, tmp_path, attempt):
    """Before: the kernel sends the parent-death signal again each time the supervisor is handed to another
    dying thread of its parent (a worker has several), and a second SIGTERM raised in the supervisor's
    clean-up ended it there: the script's children and setsid grandchildren ran on (CI failed once)."""
    pids, supervisor = tmp_path / "pids", tmp_path / "supervisor"
    body = (f'setsid sh -c \'echo $$ >> "{pids}"; exec sleep 300\' </dev/null >/dev/null 2>&1 &\n'
            f'sleep 300 &\necho $! >> "{pids}"\necho $$ >> "{pids}"\necho $PPID > "{supervisor}"\nwait')
    script = make_script("long.sh", body)
    results: list = []
    run = threading.Thread(target=lambda: results.append(execute(script, script_env("test", {}), timeout=300)))
    run.start()
    try:
        leftovers = pids_in(pids, 3)
        [supervisor_pid] = pids_in(supervisor, 1)
        until = time.monotonic() + 30
        while run.is_alive() and time.monotonic() < until:  # signals keep landing while the first is handled
            try:
                os.kill(supervisor_pid, signal.SIGTERM)
            except ProcessLookupError:  # reaped: the run is ending
                break
        run.join(timeout=30)
        assert not run.is_alive()
        [(code, _, _, error)] = results
        assert code == -1 and error.startswith("stopped:"), error
        assert [pid for pid in leftovers if alive(pid)] == []
    finally:
        kill_leftovers(pids)
        run.join(timeout=30)
