"""The supervisor of one script-hook run: everything the script starts is gone when the run ends.

Started by :func:`sublarr.plugins.hooks.scripts.execute` as ``python -I -S _supervise.py PARENT_PID
STATUS_FD TIMEOUT SCRIPT HAS_LC_CTYPE`` (standard library only, so it starts in a few milliseconds and imports no
sublarr code). It

- makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``): every process the script starts that is
  orphaned, also one that left the script's session with ``setsid`` or double-forked, is re-parented
  to the supervisor instead of to init, so it can still be found;
- dies with the sublarr process that started it (``PR_SET_PDEATHSIG``, SIGTERM), and cleans up first;
- runs the script in a session (and process group) of its own, with ``PR_SET_PDEATHSIG`` SIGKILL;
- when the script exits, times out, or the supervisor is told to stop (SIGTERM/SIGINT/SIGHUP): kills
  the script's process group, then every remaining descendant (found through ``/proc``), reaps them
  all, and only then reports and exits. Neither root nor any capability is needed. The signal handler
  only records the request and the polling loop acts on it (within 50 ms): a stop signal can arrive
  more than once (the kernel sends the parent-death signal again each time the supervisor is handed to
  another dying thread of a multi-threaded parent), and an exception raised by a second one would have
  ended the supervisor in the middle of its clean-up, leaving the script's children running;
- reports on ``STATUS_FD`` one JSON object per line: ``{"pid": N}`` when the script runs, then
  ``{"exit": code}`` (negative: killed by that signal), ``{"timeout": true}`` or ``{"error": "..."}``
  (the script could not be started), and ``{"cleaned": K}`` (descendants killed after the end).
"""

import ctypes
import json
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_libc = None


_stop_requested = False  # SIGTERM / SIGINT / SIGHUP: the sublarr process went away, or it stops the run


def _prctl(option, value):
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        return _libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: the process group is all we have
        return False


def _stop(signum, frame):
    global _stop_requested
    _stop_requested = True


def _descendants(root):
    """Every live process below ``root`` (by parent links in /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), ()):
            found.append(pid)
            todo.append(pid)
    return found


def _reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def clean_up(script_pid):
    """Kill the script's group and every descendant; return how many processes were killed."""
    killed = set()
    if script_pid:
        try:
            os.killpg(script_pid, signal.SIGKILL)  # the group still exists: its leader is not reaped yet
        except (ProcessLookupError, PermissionError):
            pass
    me = os.getpid()
    for _ in range(1000):  # each round kills what exists; forks of a dying process are caught next round
        _reap_all()
        pids = _descendants(me)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)
    _reap_all()
    killed.discard(script_pid)
    return len(killed)


def _exited(pid):
    """The script's status if it has ended, without reaping it (so its group id stays reserved)."""
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if info is None or info.si_pid == 0:
        return None
    if info.si_code == os.CLD_EXITED:
        return info.si_status
    return -info.si_status


def _wait(script_pid, deadline):
    """Poll until the script exits (its status), the deadline passes (a timeout) or a stop is requested (None)."""
    delay = 0.001
    while True:
        code = _exited(script_pid)
        if code is not None:
            return {"exit": code}
        if _stop_requested:
            return None
        if time.monotonic() >= deadline:
            return {"timeout": True}
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.05)


def _child_setup():
    os.setsid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)


def main(argv):
    parent, status_fd, timeout, script = int(argv[1]), int(argv[2]), float(argv[3]), argv[4]
    env = dict(os.environ)
    if argv[5] != "1":  # Python's locale coercion (PEP 538) added it: the script gets exactly its environment
        env.pop("LC_CTYPE", None)
    out = os.fdopen(status_fd, "w", buffering=1)
    os.set_inheritable(status_fd, False)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _stop)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)

    def report(**what):
        try:
            out.write(json.dumps(what) + "\n")
        except OSError:  # nobody listens any more
            pass

    script_pid = 0
    result: dict[str, object] = {}
    stopped: dict[str, object] = {"error": "stopped: the sublarr process ended or stopped the run"}
    try:
        if os.getppid() != parent or _stop_requested:  # the parent died before PR_SET_PDEATHSIG took effect
            result = stopped
        else:
            try:
                process = subprocess.Popen([script], close_fds=True, env=env, preexec_fn=_child_setup)
            except (OSError, ValueError, subprocess.SubprocessError) as exc:  # ENOEXEC (no shebang), EACCES, removed since the check...
                result = {"error": f"Cannot execute {script}: {getattr(exc, 'strerror', None) or exc}"}
            else:
                script_pid = process.pid
                report(pid=script_pid)
                result = _wait(script_pid, time.monotonic() + timeout) or stopped
    finally:  # also on an unexpected error: nothing the script started may outlive the supervisor
        cleaned = clean_up(script_pid)
        report(**result)
        report(cleaned=cleaned)
        try:
            out.close()
        except OSError:  # the reader is gone: what could not be written is lost
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
