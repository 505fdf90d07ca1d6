"""Running a script hook: no shell, no arguments, a replaced environment, a timeout, bounded output.

Bazarr runs post-processing with ``shell=True`` and no timeout; Sublarr (0.13.2) had to close
"RCE by configuration" by allowing scripts only under ``/config/hooks``, and (0.12.3) an env
injection by sanitising values. The rules kept and enforced here:

- only an executable file whose *real* path (symlinks resolved) lies under ``hooks_dir`` runs;
  :func:`validate_script_path` is the check, called when a hook is created or updated (by the
  CLI or the application) AND again before every run, because the file or a symlink on its
  path may have changed since. The resolved real path is what gets executed;
- ``subprocess`` with an argument list of one (the script), never a shell; stdin is empty;
- the environment is replaced, not extended: ``PATH``, ``HOME``, ``SUBLARR_EVENT``,
  ``SUBLARR_EVENT_DATA`` (the payload as JSON) and ``SUBLARR_<KEY>`` per payload key, every value
  stripped of ``\\n``, ``\\r`` and NUL and truncated. The service's own environment (database
  URL, Redis password...) never reaches a script;
- ``timeout_seconds``: on expiry the script's whole process group is killed (a shell script's
  children would otherwise keep the output pipes open and the run would never end);
- nothing a hook started outlives it: the script runs under a small supervisor process (a child
  subreaper) that, when the script exits, times out or the run is stopped, kills the script's
  group and every process it left behind, ``setsid`` grandchildren and double forks included.
  A script that must leave something running hands it to a service manager (``systemd-run``...);
- stdout and stderr are read concurrently and only their first bytes are kept (4096 characters
  each are stored), so a chatty script cannot fill the memory.

The result is written with ``create_hook_log`` + ``record_hook_triggered``, then ``hook_executed``
is emitted.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .repository import HookRepository

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel

log = logging.getLogger("sublarr.hooks.scripts")

OUTPUT_LIMIT = 4096  # characters of stdout / stderr stored in hook_log (legacy)
ENV_VALUE_LIMIT = 1024  # characters of one SUBLARR_<KEY> value (legacy sanitize_env_value, 0.12.3)
EVENT_DATA_LIMIT = 4096  # characters of SUBLARR_EVENT_DATA (legacy)
DEFAULT_TIMEOUT = 30  # seconds, the column default; used when a row holds 0 or NULL
_READ_LIMIT = OUTPUT_LIMIT * 4  # bytes kept per stream: 4096 characters of UTF-8 at most
_PIPE_GRACE = 2.0  # seconds to wait for the output pipes once the script has ended
_RESERVED = ("SUBLARR_EVENT", "SUBLARR_EVENT_DATA", "SUBLARR_EVENT_DATA_TRUNCATED")


class ScriptRefused(ValueError):
    """A script path that may not run (outside hooks_dir, missing, not executable)."""


@dataclass
class HookResult:
    """What one run of a script hook did (also the ``hook_log`` row's content)."""

    hook_id: int
    event_name: str
    success: bool
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    duration_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the path rule ---------------------------------------------------------------------------------

def validate_script_path(script_path: str | os.PathLike, hooks_dir: str | os.PathLike) -> Path:
    """The real path of ``script_path`` if it may run, else :class:`ScriptRefused` saying why.

    A relative ``script_path`` is taken relative to ``hooks_dir``. The check is on real paths
    (``os.path.realpath``): a symlink inside ``hooks_dir`` that points outside is refused, and
    so is ``hooks/../elsewhere``. ``hooks_dir`` itself is resolved too (it may be a symlink).
    Call it when a hook is created or updated; the runtime calls it again before every run.
    """
    if not str(script_path).strip():
        raise ScriptRefused("Script refused: the script path is empty")
    root = Path(os.path.realpath(Path(hooks_dir).expanduser()))
    if not root.is_dir():
        raise ScriptRefused(f"Script refused: hooks_dir {str(hooks_dir)!r} is not a directory")
    given = Path(script_path).expanduser()
    if not given.is_absolute():
        given = root / given
    real = Path(os.path.realpath(given))
    if real == root or not real.is_relative_to(root):
        shown = str(given) if real == given else f"{given} (resolves to {real})"
        raise ScriptRefused(f"Script refused: {shown} is outside hooks_dir {root}")
    if not real.exists():
        raise ScriptRefused(f"Script not found: {given}")
    if not real.is_file():
        raise ScriptRefused(f"Script refused: {given} is not a regular file")
    if not os.access(real, os.X_OK):
        raise ScriptRefused(f"Script not executable: {given}")
    return real


# -- the environment -------------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """Lone surrogates (valid in JSON, ``"\\ud800"``, but not encodable as UTF-8, so no environment
    or database can take them) become U+FFFD, the replacement character."""
    return _SURROGATE.sub("\ufffd", text)


def _escape_surrogates(json_text: str) -> str:
    """In a JSON document surrogates only occur inside strings: write them as JSON escapes, so the
    document decodes back to exactly the payload."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


def sanitize_env_value(value: str, limit: int = ENV_VALUE_LIMIT) -> str:
    """Strip ``\\n``, ``\\r`` and NUL (a NUL cannot be passed at all; newlines let a value forge
    further lines for scripts that dump their environment), replace lone surrogates with U+FFFD
    and truncate to ``limit`` characters."""
    return replace_surrogates(value.replace("\n", "").replace("\r", "").replace("\0", ""))[:limit]


def _env_text(value: Any) -> str:
    """Strings as they are; None as empty; anything else as JSON (``true``, ``3``, ``["de"]``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def _env_name(key: str) -> str:
    """``SUBLARR_<KEY>``: upper case, anything but letters, digits and ``_`` becomes ``_``
    (an ``=`` in a name would make the whole environment invalid)."""
    return "SUBLARR_" + "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in key.upper())


def script_env(event: str, payload: Mapping[str, Any]) -> dict[str, str]:
    """The complete environment of a script hook (nothing is inherited but ``PATH``).

    ``SUBLARR_EVENT_DATA`` is the payload as JSON (a lone surrogate written as its ``\\udXXX``
    escape); when it is longer than the limit it is cut (and is then no valid JSON) and
    ``SUBLARR_EVENT_DATA_TRUNCATED=1`` says so. In ``SUBLARR_<KEY>`` values a lone surrogate is
    U+FFFD. The reserved names win over payload keys that would map to them.
    """
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": tempfile.gettempdir()}
    for key, value in payload.items():
        name = _env_name(str(key))
        if name != "SUBLARR_" and name not in _RESERVED:
            env[name] = sanitize_env_value(_env_text(value))
    # JSON escapes every control character inside strings and adds no newlines without
    # ``indent``, so the document never contains \n, \r or NUL: only the length needs a limit.
    data = _escape_surrogates(json.dumps(dict(payload), default=str, ensure_ascii=False))
    env["SUBLARR_EVENT"] = sanitize_env_value(event)
    env["SUBLARR_EVENT_DATA"] = data[:EVENT_DATA_LIMIT]
    if len(data) > EVENT_DATA_LIMIT:
        env["SUBLARR_EVENT_DATA_TRUNCATED"] = "1"
    return env


# -- running ---------------------------------------------------------------------------------------

def _keep_head(stream: IO[bytes], kept: bytearray) -> None:
    """Read ``stream`` to its end, keeping the first bytes only (the rest is read and dropped, so the
    script never blocks on a full pipe)."""
    with stream:
        while chunk := stream.read(65536):
            room = _READ_LIMIT - len(kept)
            if room > 0:
                kept += chunk[:room]


def _text(data: bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")[:OUTPUT_LIMIT]


SUPERVISOR = Path(__file__).with_name("_supervise.py")
STOP_GRACE = 5.0  # seconds the supervisor gets beyond the timeout to clean up and report


def _read_status(stream: IO[bytes], into: list[dict]) -> None:
    with stream:
        for line in stream:
            try:
                into.append(json.loads(line))
            except ValueError:
                pass


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def execute(path: Path, env: Mapping[str, str], timeout: float) -> tuple[int | None, str, str, str]:
    """Run ``path`` (no shell, no arguments) and return ``(exit_code, stdout, stderr, error)``.

    ``error`` is empty on exit code 0, else ``"Exit code N"``, ``"Timeout after Ns"`` or why the
    script could not start (exit code -1 for those, as the legacy engine reported).

    The script runs under a supervisor (``_supervise.py``): a subreaper that gives the script a
    session of its own and, when the script exits or times out, kills its process group and every
    process it left behind (also ones that called ``setsid`` or double-forked). The supervisor dies
    with this process; on every exit path of this function it is ended and waited for, so the
    run takes at most ``timeout`` plus a few seconds and nothing the hook started outlives it.
    """
    status_read, status_write = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(SUPERVISOR), str(os.getpid()), str(status_write), repr(float(timeout)),
             str(path), "1" if "LC_CTYPE" in env else "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(env), cwd=tempfile.gettempdir(), close_fds=True, pass_fds=(status_write,),
            start_new_session=True,  # a terminal's Ctrl-C reaches sublarr, which then ends the run itself
        )
    except (OSError, ValueError, UnicodeError) as exc:
        os.close(status_read)
        return -1, "", "", f"Cannot execute {path}: {getattr(exc, 'strerror', None) or exc}"
    finally:
        os.close(status_write)
    statuses: list[dict] = []
    outputs = (bytearray(), bytearray())
    readers = [threading.Thread(target=_keep_head, args=(stream, kept), daemon=True, name="sublarr-hook-output")
               for stream, kept in zip((process.stdout, process.stderr), outputs, strict=True)]
    readers.append(threading.Thread(target=_read_status, args=(os.fdopen(status_read, "rb"), statuses), daemon=True,
                                    name="sublarr-hook-status"))
    for reader in readers:
        reader.start()
    try:
        process.wait(timeout=timeout + STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.terminate()  # the supervisor kills everything below it, then exits
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    finally:
        if process.returncode is None:  # an exception (KeyboardInterrupt, SystemExit) on the way out
            process.kill()
            process.wait()
        readers[-1].join(timeout=_PIPE_GRACE)  # the status pipe closes with the supervisor
        if not any("cleaned" in status for status in statuses):  # a SIGKILLed supervisor could not clean up
            for status in statuses:
                if "pid" in status:
                    _kill_group(status["pid"])
    for reader in readers:
        # Every process that held the pipes is dead by now; the wait only covers slow readers.
        reader.join(timeout=_PIPE_GRACE)
    stdout, stderr = (_text(kept) for kept in outputs)
    result: dict[str, Any] = {}
    for status in statuses:
        result.update(status)
    if result.get("cleaned"):
        log.info("script %s left %d process(es) behind; killed", path, result["cleaned"])
    if "error" in result:
        return -1, stdout, stderr, result["error"]
    if result.get("timeout"):
        return -1, stdout, stderr, f"Timeout after {timeout:g}s"
    if "exit" not in result:
        return -1, stdout, stderr, (f"Timeout after {timeout:g}s" if process.returncode and process.returncode < 0
                                    else f"the script supervisor failed (exit status {process.returncode})")
    code = result["exit"]
    return code, stdout, stderr, "" if code == 0 else f"Exit code {code}"


def run_script_hook(kernel: Kernel, hook: Mapping[str, Any], event: str, payload: Mapping[str, Any]) -> HookResult:
    """Run one script hook for ``event``: check the path, run, log, record, emit ``hook_executed``."""
    started = time.monotonic()
    timeout = hook.get("timeout_seconds") or DEFAULT_TIMEOUT  # 0/NULL in a row: the column default
    try:
        path = validate_script_path(hook.get("script_path") or "", kernel.settings.hooks_dir)
        exit_code, stdout, stderr, error = execute(path, script_env(event, payload), timeout)
    except ScriptRefused as exc:
        exit_code, stdout, stderr, error = -1, "", "", str(exc)
    except Exception as exc:  # whatever stops a script from starting is logged like any failed run
        log.debug("script hook %s could not start", hook["id"], exc_info=True)
        exit_code, stdout, stderr = -1, "", ""
        error = f"Cannot execute {hook.get('script_path')!r}: {type(exc).__name__}: {exc}"
    result = HookResult(hook_id=hook["id"], event_name=event, success=not error, exit_code=exit_code,
                        stdout=replace_surrogates(stdout), stderr=replace_surrogates(stderr),
                        error=replace_surrogates(error).replace("\0", "\\0"),
                        duration_ms=round((time.monotonic() - started) * 1000, 1))
    if error:
        log.warning("script hook %s (%s) on %s failed: %s", hook["id"], hook.get("name", ""), event, error)
    repo = kernel.repo("hooks", HookRepository)
    repo.create_hook_log(hook_id=result.hook_id, event_name=event, hook_type="script", success=result.success,
                         exit_code=result.exit_code, stdout=result.stdout, stderr=result.stderr,
                         error=result.error, duration_ms=result.duration_ms)
    repo.record_hook_triggered(result.hook_id, result.success)
    kernel.emit("hook_executed", {"hook_id": result.hook_id, "webhook_id": None, "event_name": event,
                                  "success": result.success, "exit_code": result.exit_code, "status_code": None})
    return result
