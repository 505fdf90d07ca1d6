"""Every domain checks its values with the kernel's vocabulary (sublarr.core.validation): the same bad
value gets the same refusal, worded the same, whichever domain receives it, on every engine."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import sublarr
from sublarr.plugins import cache, hooks, jobs, library, providers, standalone, translation, wanted, whisper

ROOT = Path(sublarr.__file__).parent


def _refusal(call: Callable[[], object]) -> str:
    """The refusal's words, without the position a batch call puts first ("wanted item 0: ...")."""
    with pytest.raises(ValueError) as caught:
        call()
    return re.sub(r"^wanted item \d+: ", "", str(caught.value))


FLAGS = {  # parameter name -> a call passing 5 to it
    "enabled": lambda: hooks.create_hook("n", "e", "/x.sh", enabled=5),
    "enabled ": lambda: standalone.upsert_watched_folder("/w", enabled=5),
    "is_anime": lambda: standalone.upsert_standalone_series("t", "/s", is_anime=5),
    "is_default": lambda: translation.add_prompt_preset("p", "t", is_default=5),
    "upgrade_candidate": lambda: wanted.upsert_wanted_item("episode", "/a.mkv", upgrade_candidate=5),
    "force": lambda: jobs.create_job("/a.mkv", force=5),
    "success": lambda: providers.update_provider_stats("p", 5),
    "success ": lambda: jobs.record_stat(5),
}


def test_a_flag_of_5_is_refused_in_the_same_words_by_every_domain(kernel):
    for name, call in FLAGS.items():
        assert _refusal(call) == f"{name.strip()} must be True or False (or 1 or 0), got 5"


AMOUNTS = {
    "ttl_hours": lambda: providers.cache_provider_results("p", "q", "[]", ttl_hours=-1),
    "response_time_ms": lambda: translation.record_backend_success("b", -1, 1),
    "duration_ms": lambda: hooks.log_hook_execution(event_name="e", duration_ms=-1),
    "response_time_ms ": lambda: providers.record_search("p", True, -1),
    "cooldown_minutes": lambda: providers.auto_disable_provider("p", cooldown_minutes=-1),
}


def test_a_negative_amount_is_refused_in_the_same_words_by_every_domain(kernel):
    for name, call in AMOUNTS.items():
        assert _refusal(call) == f"{name.strip()} must be a finite number >= 0, got -1"


NUMBERS = {  # REAL columns (SQLite would store NaN as NULL, PostgreSQL as 'NaN')
    "mtime": lambda: cache.set_ffprobe_cache("/a.mkv", math.inf, {}),
    "duration_seconds": lambda: whisper.update_whisper_job("j", duration_seconds=math.inf),
}


def test_an_infinite_number_is_refused_in_the_same_words_by_every_domain(kernel):
    for name, call in NUMBERS.items():
        assert _refusal(call) == f"{name} must be a finite number, got inf"


INTEGERS = {
    "current_score": lambda: wanted.upsert_wanted_item("episode", "/a.mkv", current_score=2**31),
    "old_score": lambda: library.record_upgrade("/a.mkv", "srt", 2**31, "ass", 1),
    "series_id": lambda: translation.add_glossary_entry(2**31, "a", "b"),
    "segment_count": lambda: whisper.update_whisper_job("j", segment_count=2**31),
    "timeout_seconds": lambda: hooks.create_hook("n", "e", "/x.sh", timeout_seconds=2**31),
    "episode_count": lambda: standalone.upsert_standalone_series("t", "/s", episode_count=2**31),
}


def test_an_integer_beyond_32_bits_is_refused_in_the_same_words_by_every_domain(kernel):
    for name, call in INTEGERS.items():
        assert _refusal(call) == f"{name} must fit in 32 bits, got {2**31}"


def test_a_cutoff_before_the_year_1_matches_nothing_in_every_cleanup(kernel):
    """Before, one cleanup refused such a count, one returned '' by hand, two raised a raw OverflowError."""
    cache.save_anidb_mapping(1, 2)
    days = 2**31 - 1
    assert cache.cleanup_old_anidb_mappings(days) == 0
    assert hooks.clear_old_hook_logs(days) == 0
    assert jobs.delete_old_jobs(days) == 0
    providers.update_provider_stats("p", True, 1)
    assert providers.get_provider_health_history(days=days)[0]["provider_name"] == "p"
    assert cache.get_anidb_mapping(1) == 2


# Names of the helpers the domains used to copy; the kernel's vocabulary replaced them.
COPIES = {"_flag", "_int", "_int32", "_number", "_duration", "_require_amount", "_optional_str", "_mtime",
          "_optional_score", "_stripped", "_time_after", "_days_ago", "_check_str_list", "_first_line", "_clean"}


def _copies(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.FunctionDef) and node.name in COPIES:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: defines {node.name}")
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant)
                and node.right.value == 31):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: its own 32-bit range")
    return found


def test_no_domain_or_kernel_module_keeps_its_own_copy_of_a_check():
    sources = [p for p in (*(ROOT / "core").rglob("*.py"), *(ROOT / "plugins").rglob("*.py"))
               if "migrations" not in p.parts and p.name != "validation.py"]
    assert len(sources) > 50
    assert [hit for path in sources for hit in _copies(path)] == []
