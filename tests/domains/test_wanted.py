"""wanted domain: legacy behaviour, the identity key, batch upserts, paging, concurrency, migrations."""

from __future__ import annotations

import multiprocessing
import random
import re
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, event, func, insert, inspect, select, text, update

from sublarr.core.timeutil import now_iso
from sublarr.plugins import wanted
from sublarr.plugins.wanted import (
    cleanup_wanted_items,
    delete_wanted_by_file_path,
    delete_wanted_item,
    delete_wanted_items,
    delete_wanted_items_by_ids,
    find_wanted_by_episode,
    get_all_wanted_file_paths,
    get_upgradeable_count,
    get_wanted_by_file_path,
    get_wanted_by_subtitle_type,
    get_wanted_count,
    get_wanted_for_movie,
    get_wanted_for_series,
    get_wanted_item,
    get_wanted_item_by_path,
    get_wanted_items,
    get_wanted_items_for_cleanup,
    get_wanted_summary,
    mark_search_attempted,
    update_wanted_search,
    update_wanted_status,
    upsert_wanted_item,
    upsert_wanted_items,
)
from sublarr.plugins.wanted.models import wanted_items as items_table
from tests.conftest import boot
from tests.domains.schema import at_revision, compare_with_legacy, create_legacy_tables, reflect

ROW_KEYS = ["id", "item_type", "sonarr_series_id", "sonarr_episode_id", "radarr_movie_id", "title", "season_episode",
            "file_path", "existing_sub", "missing_languages", "status", "last_search_at", "search_count", "error",
            "added_at", "updated_at", "upgrade_candidate", "current_score", "target_language", "instance_name",
            "standalone_series_id", "standalone_movie_id", "subtitle_type"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def stored(kernel) -> list[dict]:
    with kernel.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(items_table).order_by(items_table.c.id)).mappings()]


def set_columns(kernel, item_id: int, **values) -> None:
    with kernel.engine.begin() as conn:
        conn.execute(update(items_table).where(items_table.c.id == item_id).values(**values))


def episode(path: str, **fields) -> dict:
    return {"item_type": "episode", "file_path": path, **fields}


# -- upsert_wanted_item ----------------------------------------------------------------------------

def test_upsert_inserts_a_wanted_row_with_every_column(kernel):
    item_id = upsert_wanted_item("episode", "/tv/Show/S01E01.mkv", title="Show", season_episode="S01E01",
                                 existing_sub="srt", missing_languages=["de", "fr"], sonarr_series_id=7,
                                 sonarr_episode_id=70, upgrade_candidate=True, current_score=120,
                                 target_language="de", instance_name="main", subtitle_type="forced")
    assert isinstance(item_id, int)
    item = get_wanted_item(item_id)
    assert list(item) == ROW_KEYS
    assert item == {
        "id": item_id, "item_type": "episode", "sonarr_series_id": 7, "sonarr_episode_id": 70,
        "radarr_movie_id": None, "title": "Show", "season_episode": "S01E01", "file_path": "/tv/Show/S01E01.mkv",
        "existing_sub": "srt", "missing_languages": ["de", "fr"], "status": "wanted", "last_search_at": "",
        "search_count": 0, "error": "", "added_at": item["added_at"], "updated_at": item["added_at"],
        "upgrade_candidate": 1, "current_score": 120, "target_language": "de", "instance_name": "main",
        "standalone_series_id": None, "standalone_movie_id": None, "subtitle_type": "forced",
    }
    assert TIMESTAMP.match(item["added_at"])
    assert stored(kernel)[0]["missing_languages"] == '["de", "fr"]'  # the legacy json.dumps text


def test_repository_and_package_function_are_one_implementation(kernel):
    first = kernel.repo("wanted").upsert_wanted_item("movie", "/movies/A.mkv", radarr_movie_id=3)
    assert upsert_wanted_item("movie", "/movies/A.mkv", radarr_movie_id=3) == first
    assert kernel.repo("wanted").get_wanted_item(first) == get_wanted_item(first)
    assert mark_search_attempted.__name__ == "update_wanted_search"  # aliases: one implementation
    assert get_wanted_items_for_cleanup.__name__ == "cleanup_wanted_items"
    assert get_wanted_item_by_path.__name__ == "get_wanted_by_file_path"


def test_upsert_of_an_existing_item_updates_it_and_keeps_its_history(kernel):
    item_id = upsert_wanted_item("episode", "/tv/a.mkv", title="Old", sonarr_series_id=1, sonarr_episode_id=10,
                                 missing_languages=["de"], target_language="de")
    assert update_wanted_search(item_id)
    assert update_wanted_status(item_id, "failed", "no subtitles found")
    before = get_wanted_item(item_id)
    again = upsert_wanted_item("movie", "/tv/a.mkv", title="New", radarr_movie_id=5, target_language="de",
                               missing_languages=["de", "en"], upgrade_candidate=True, current_score=7)
    assert again == item_id
    after = get_wanted_item(item_id)
    # legacy: status back to 'wanted', item_type follows; None ids overwrite the stored ones
    assert after["status"] == "wanted" and after["item_type"] == "movie"
    assert (after["title"], after["radarr_movie_id"], after["sonarr_series_id"], after["sonarr_episode_id"]) == \
        ("New", 5, None, None)
    assert after["missing_languages"] == ["de", "en"] and after["upgrade_candidate"] == 1
    # never touched by an upsert: added_at, search_count, last_search_at, error (not cleared on reset)
    for kept in ("added_at", "search_count", "last_search_at", "error"):
        assert after[kept] == before[kept]
    assert after["error"] == "no subtitles found" and after["search_count"] == 1
    assert after["updated_at"] >= before["updated_at"]
    assert len(stored(kernel)) == 1


def test_an_ignored_item_keeps_its_status_and_item_type(kernel):
    item_id = upsert_wanted_item("episode", "/tv/b.mkv", title="B")
    update_wanted_status(item_id, "ignored")
    assert upsert_wanted_item("movie", "/tv/b.mkv", title="B2", existing_sub="ass") == item_id
    item = get_wanted_item(item_id)
    assert (item["status"], item["item_type"], item["title"], item["existing_sub"]) == ("ignored", "episode", "B2", "ass")
    # the same rule in a batch
    upsert_wanted_items([{"item_type": "movie", "file_path": "/tv/b.mkv", "title": "B3"}])
    item = get_wanted_item(item_id)
    assert (item["status"], item["item_type"], item["title"]) == ("ignored", "episode", "B3")


@pytest.mark.parametrize("status", ["searching", "found", "failed"])
def test_any_other_status_returns_to_wanted(kernel, status):
    item_id = upsert_wanted_item("episode", "/tv/c.mkv")
    update_wanted_status(item_id, status)
    upsert_wanted_item("episode", "/tv/c.mkv")
    assert get_wanted_item(item_id)["status"] == "wanted"


def test_identity_is_path_language_and_subtitle_type(kernel):
    base = upsert_wanted_item("episode", "/tv/d.mkv")
    ids = {
        base,
        upsert_wanted_item("episode", "/tv/d.mkv", target_language="de"),
        upsert_wanted_item("episode", "/tv/d.mkv", target_language="fr"),
        upsert_wanted_item("episode", "/tv/d.mkv", target_language="de", subtitle_type="forced"),
        upsert_wanted_item("episode", "/tv/D.mkv"),  # paths are case-sensitive
    }
    assert len(ids) == 5
    # None means '' for the language and 'full' for the type, as the legacy lookup treated NULL
    assert upsert_wanted_item("episode", "/tv/d.mkv", target_language=None, subtitle_type=None) == base
    assert get_wanted_item(base)["target_language"] == "" and get_wanted_item(base)["subtitle_type"] == "full"


# The long value goes into the identity key too: file_path + target_language + subtitle_type <= 2600 bytes.
@pytest.mark.parametrize("value", ["it's \"quoted\"", "100% _done_ \\", "Ünïcödé 字幕 🎬", "x" * 800])
def test_strings_round_trip_exactly(kernel, value):
    item_id = upsert_wanted_item("episode", "/tv/" + value, title=value, season_episode=value, existing_sub=value,
                                 missing_languages=[value], target_language=value, instance_name=value,
                                 subtitle_type=value)
    item = get_wanted_item(item_id)
    assert item["file_path"] == "/tv/" + value
    assert [item[k] for k in ("title", "season_episode", "existing_sub", "target_language", "instance_name",
                              "subtitle_type")] == [value] * 6
    assert item["missing_languages"] == [value]
    assert get_wanted_by_file_path("/tv/" + value, value, value)["id"] == item_id
    assert upsert_wanted_item("episode", "/tv/" + value, target_language=value, subtitle_type=value) == item_id


BAD_UPSERTS = [
    {"item_type": "series"},
    {"item_type": None},
    {"file_path": None},
    {"file_path": ""},
    {"file_path": b"/tv/x.mkv"},
    {"title": None},
    {"title": 5},
    {"existing_sub": None},
    {"missing_languages": "de"},
    {"missing_languages": [1]},
    {"missing_languages": [["de"]]},
    {"sonarr_series_id": "7"},
    {"sonarr_episode_id": 1.5},
    {"radarr_movie_id": True},
    {"standalone_series_id": 2**31},
    {"current_score": None},
    {"upgrade_candidate": 2},
    {"upgrade_candidate": "yes"},
    {"target_language": 1},
    {"subtitle_type": ""},
    {"instance_name": "a\x00b"},
]


@pytest.mark.parametrize("bad", BAD_UPSERTS, ids=lambda b: f"{next(iter(b))}={next(iter(b.values()))!r}"[:40])
def test_bad_upserts_raise_value_error_and_write_nothing(kernel, bad):
    arguments = {"item_type": "episode", "file_path": "/tv/x.mkv", **bad}
    with pytest.raises(ValueError):
        upsert_wanted_item(**arguments)
    with pytest.raises(ValueError):
        upsert_wanted_items([episode("/tv/good.mkv"), arguments])
    assert stored(kernel) == []


def test_batch_errors_name_the_item_and_the_field(kernel):
    with pytest.raises(ValueError, match=r"wanted item 1: unknown wanted item field\(s\): colour"):
        upsert_wanted_items([episode("/tv/1.mkv"), episode("/tv/2.mkv", colour="red")])
    with pytest.raises(ValueError, match="wanted item 0: item_type and file_path are required"):
        upsert_wanted_items([{"file_path": "/tv/1.mkv"}])
    with pytest.raises(ValueError, match="title must be a string"):
        upsert_wanted_items([episode("/tv/1.mkv", title=None)])
    for not_a_list in ("/tv/1.mkv", episode("/tv/1.mkv"), None, 5):
        with pytest.raises(ValueError):
            upsert_wanted_items(not_a_list)
    with pytest.raises(ValueError):
        upsert_wanted_items(["/tv/1.mkv"])
    assert stored(kernel) == []


# -- upsert_wanted_items ---------------------------------------------------------------------------

def test_batch_returns_ids_in_input_order_and_matches_single_upserts(kernel):
    existing = upsert_wanted_item("episode", "/tv/b.mkv", title="old")
    ids = upsert_wanted_items([
        episode("/tv/c.mkv", title="c"),
        episode("/tv/b.mkv", title="b"),
        episode("/tv/a.mkv", title="a", target_language="de"),
        episode("/tv/a.mkv", title="a"),
    ])
    assert ids[1] == existing and len(set(ids)) == 4
    assert [get_wanted_item(i)["title"] for i in ids] == ["c", "b", "a", "a"]
    assert [get_wanted_item(i)["file_path"] for i in ids] == ["/tv/c.mkv", "/tv/b.mkv", "/tv/a.mkv", "/tv/a.mkv"]
    assert upsert_wanted_items([]) == []
    assert upsert_wanted_items(iter([episode("/tv/c.mkv")])) == [ids[0]]  # any iterable of dicts


def test_an_identity_given_twice_in_a_batch_gets_one_row_and_the_later_values(kernel):
    ids = upsert_wanted_items([episode("/tv/a.mkv", title="first"), episode("/tv/z.mkv"),
                               {"item_type": "movie", "file_path": "/tv/a.mkv", "title": "second"}])
    assert ids[0] == ids[2] != ids[1]
    item = get_wanted_item(ids[0])
    assert (item["title"], item["item_type"]) == ("second", "movie")
    assert get_wanted_count() == 2


def test_ten_thousand_items_then_a_rescan(kernel):
    scan = [episode(f"/tv/Show {n // 100}/S01E{n % 100:02d}.mkv", title=f"Show {n // 100}", sonarr_series_id=n // 100,
                    sonarr_episode_id=n, missing_languages=["de"], target_language="de") for n in range(10_000)]
    ids = upsert_wanted_items(scan)
    assert len(set(ids)) == 10_000 and get_wanted_count() == 10_000
    update_wanted_status(ids[5], "ignored")
    update_wanted_status(ids[6], "failed", "gone")
    mark_search_attempted(ids[6])
    for item in scan:
        item["title"] += " (rescan)"
        item["item_type"] = "movie"
    reversed_ids = upsert_wanted_items(scan[::-1])
    assert reversed_ids == ids[::-1]
    assert get_wanted_count() == 10_000
    ignored, failed, other = get_wanted_item(ids[5]), get_wanted_item(ids[6]), get_wanted_item(ids[7])
    assert (ignored["status"], ignored["item_type"], ignored["title"]) == ("ignored", "episode", "Show 0 (rescan)")
    assert (failed["status"], failed["error"], failed["search_count"]) == ("wanted", "gone", 1)
    assert (other["status"], other["item_type"]) == ("wanted", "movie")


def test_batches_stay_within_the_bound_parameter_limit(make_kernel):
    """SQLite before 3.32 allowed 999 bound parameters per statement (Bazarr: "too many SQL variables")."""
    k = make_kernel()
    k.engine.dialect.insertmanyvalues_max_parameters = 999
    largest = []

    @event.listens_for(k.engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO wanted_items"):
            largest.append(len(parameters))

    ids = k.repo("wanted").upsert_wanted_items([episode(f"/tv/{n}.mkv") for n in range(600)])
    assert len(set(ids)) == 600
    assert len(largest) > 1 and max(largest) <= 999


def test_batch_upsert_without_returning_looks_the_ids_up(make_kernel):
    """The path for SQLite before 3.35 (no RETURNING): one SELECT per batch maps identities to ids."""
    k = make_kernel()
    k.engine.dialect.insert_returning = False
    repo = k.repo("wanted")
    existing = repo.upsert_wanted_item("episode", "/tv/b.mkv", target_language="de")
    repo.upsert_wanted_item("episode", "/tv/b.mkv", target_language="fr")
    ids = repo.upsert_wanted_items([episode("/tv/a.mkv"), episode("/tv/b.mkv", target_language="de")])
    assert ids[1] == existing and ids[0] != existing
    assert repo.get_wanted_item(ids[0])["file_path"] == "/tv/a.mkv"


# -- upsert_wanted_items_in_batches ----------------------------------------------------------------

def scan_of(n: int, **fields):
    """A generator of n items: the scan a caller streams without building it."""
    return (episode(f"/tv/Show {i // 10}/S01E{i % 10:02d}.mkv", sonarr_episode_id=i, **fields) for i in range(n))


def comparable(rows: list[dict]) -> list[dict]:
    times = ("id", "added_at", "updated_at", "last_search_at")
    return sorted(({k: v for k, v in row.items() if k not in times} for row in rows),
                  key=lambda row: (row["file_path"], row["target_language"], row["subtitle_type"]))


def test_batches_leave_what_one_transaction_leaves(kernel):
    """Same rules and same rows as upsert_wanted_items, with identities repeated across batches
    (the later item wins), an ignored item kept ignored, and ids, history and added_at kept."""
    def scan():
        yield from scan_of(7, title="first")
        yield episode("/tv/Show 0/S01E01.mkv", sonarr_episode_id=1, title="again", item_type="movie")
        yield from scan_of(3, title="last")

    results = []
    repo = kernel.repo("wanted")
    for batched in (False, True):
        with kernel.engine.begin() as conn:
            conn.execute(items_table.delete())
        ignored = repo.upsert_wanted_item("episode", "/tv/Show 0/S01E02.mkv", title="before")
        repo.update_wanted_status(ignored, "ignored")
        repo.update_wanted_search(ignored)
        searches = repo.get_wanted_item(ignored)["search_count"]
        if batched:
            assert repo.upsert_wanted_items_in_batches(scan(), batch_size=3) == 11
        else:
            repo.upsert_wanted_items(list(scan()))
        rows = stored(kernel)
        assert len(rows) == 7
        kept = repo.get_wanted_item(ignored)
        assert (kept["status"], kept["item_type"], kept["title"], kept["search_count"]) == \
            ("ignored", "episode", "last", searches)
        results.append(comparable(rows))
    assert results[0] == results[1]
    assert {row["title"] for row in results[1]} == {"last", "first"}


def test_a_bad_item_stops_the_batches_at_its_own(kernel):
    def scan():
        yield from scan_of(5)
        yield episode("/tv/bad.mkv", sonarr_episode_id="seven")
        yield episode("/tv/after.mkv")

    repo = kernel.repo("wanted")
    with pytest.raises(ValueError, match=r"wanted item 5: sonarr_episode_id .*\(the 4 items before its batch were "
                                         r"written; none from item 4 on\)"):
        repo.upsert_wanted_items_in_batches(scan(), batch_size=2)
    assert sorted(row["sonarr_episode_id"] for row in stored(kernel)) == [0, 1, 2, 3]


def test_batches_refuse_bad_arguments_before_writing(kernel):
    repo = kernel.repo("wanted")
    for size in (0, -1, "10", 2.5, None):
        with pytest.raises(ValueError, match="batch_size"):
            repo.upsert_wanted_items_in_batches(scan_of(3), batch_size=size)
    for not_a_list in ("/tv/1.mkv", episode("/tv/1.mkv"), None, 5):
        with pytest.raises(ValueError, match="items must be a list"):
            repo.upsert_wanted_items_in_batches(not_a_list)
    assert repo.upsert_wanted_items_in_batches([]) == 0
    assert stored(kernel) == []


def test_batches_commit_one_by_one_and_write_no_returning_clause(make_kernel):
    k = make_kernel()
    inserts = []

    @event.listens_for(k.engine, "before_cursor_execute")
    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO wanted_items"):
            inserts.append(statement)

    commits = []
    event.listen(k.engine, "commit", lambda conn: commits.append(1))
    assert k.repo("wanted").upsert_wanted_items_in_batches(scan_of(10), batch_size=4) == 10
    assert get_wanted_count() == 10
    assert inserts and not any("RETURNING" in statement.upper() for statement in inserts)
    assert len(commits) >= 3  # 4 + 4 + 2 items: a transaction each


# -- concurrency -----------------------------------------------------------------------------------

def test_threads_upserting_the_same_items_create_no_duplicates(patient_kernel):
    keys = [(f"/tv/race/{n % 25}.mkv", ("de", "")[n % 2]) for n in range(50)]
    seen: dict[tuple, set] = {}
    lock = threading.Lock()

    def work(worker: int) -> None:
        for call in range(500):
            path, language = keys[(worker * 7 + call) % len(keys)]
            item_id = upsert_wanted_item("episode", path, title=f"w{worker}", target_language=language)
            with lock:
                seen.setdefault((path, language), set()).add(item_id)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert get_wanted_count() == len(set(keys)) == len(seen)
    assert all(len(ids) == 1 for ids in seen.values())


def test_concurrent_batch_scans_in_different_orders_do_not_deadlock(patient_kernel):
    scan = [episode(f"/tv/scan/{n}.mkv", target_language="de") for n in range(2_000)]

    def work(seed: int) -> list[int]:
        shuffled = scan[:]
        random.Random(seed).shuffle(shuffled)
        ids = upsert_wanted_items(shuffled)
        return [i for _, i in sorted(zip((s["file_path"] for s in shuffled), ids))]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert all(r == results[0] for r in results)
    assert get_wanted_count() == 2_000


def _upsert_in_another_process(url: str, worker: int) -> list[int]:
    k = boot(url, db_busy_timeout_ms=120_000)
    try:
        return [upsert_wanted_item("episode", f"/tv/proc/{(worker + n) % 20}.mkv") for n in range(60)]
    finally:
        k.close()


def test_processes_upserting_the_same_items_create_no_duplicates(kernel):
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_upsert_in_another_process, [kernel.database_url] * 3, range(3)))
    assert get_wanted_count() == 20
    by_path = {get_wanted_item(i)["file_path"]: i for ids in results for i in ids}
    assert len(by_path) == 20 and len({i for ids in results for i in ids}) == 20


def test_concurrent_search_marks_all_count(patient_kernel):
    item_id = upsert_wanted_item("episode", "/tv/marks.mkv")
    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(lambda _: update_wanted_search(item_id), range(200)))
    assert get_wanted_item(item_id)["search_count"] == 200


# -- status, search marks, deletes -----------------------------------------------------------------

def test_update_status_sets_status_and_error_and_reports_missing_items(kernel):
    item_id = upsert_wanted_item("episode", "/tv/s.mkv")
    before = get_wanted_item(item_id)
    assert update_wanted_status(item_id, "failed", "Max search attempts reached") is True
    item = get_wanted_item(item_id)
    assert (item["status"], item["error"]) == ("failed", "Max search attempts reached")
    assert item["updated_at"] >= before["updated_at"]
    assert update_wanted_status(item_id, "wanted") is True
    assert get_wanted_item(item_id)["error"] == ""  # legacy: the default '' overwrites the error
    assert update_wanted_status(item_id + 100, "found") is False
    assert len(stored(kernel)) == 1


@pytest.mark.parametrize("args", [(1, "done"), (1, None), (1, "wanted", None), ("1", "wanted"), (None, "wanted")])
def test_bad_status_updates_raise_value_error(kernel, args):
    item_id = upsert_wanted_item("episode", "/tv/s.mkv")
    with pytest.raises(ValueError):
        update_wanted_status(*args)
    assert get_wanted_item(item_id)["status"] == "wanted"


def test_search_marks_count_and_stamp(kernel):
    item_id = upsert_wanted_item("episode", "/tv/m.mkv")
    assert update_wanted_search(item_id) is True
    assert mark_search_attempted(item_id) is True
    item = get_wanted_item(item_id)
    assert item["search_count"] == 2 and TIMESTAMP.match(item["last_search_at"])
    assert item["updated_at"] == item["last_search_at"]
    assert mark_search_attempted(item_id + 1) is False
    set_columns(kernel, item_id, search_count=None)  # a legacy NULL counter counts from 0
    assert mark_search_attempted(item_id) and get_wanted_item(item_id)["search_count"] == 1


def test_deletes_report_what_they_removed(kernel):
    a = upsert_wanted_item("episode", "/tv/a.mkv")
    upsert_wanted_item("episode", "/tv/a.mkv", target_language="de")
    b = upsert_wanted_item("episode", "/tv/b.mkv")
    c = upsert_wanted_item("episode", "/tv/c.mkv")
    d = upsert_wanted_item("episode", "/tv/d.mkv")
    assert delete_wanted_item(b) is True and delete_wanted_item(b) is False
    assert delete_wanted_by_file_path("/tv/a.mkv") == 2  # every language and type of the file
    assert delete_wanted_by_file_path("/tv/a.mkv") == 0
    assert delete_wanted_items([]) == 0 and delete_wanted_items_by_ids([]) == 0
    assert delete_wanted_items(["/tv/c.mkv", "/tv/nope.mkv"]) == 1
    assert delete_wanted_items_by_ids([d, c, a]) == 1
    assert stored(kernel) == []


def test_bulk_deletes_stay_within_the_bound_parameter_limit(make_kernel):
    k = make_kernel()
    k.engine.dialect.insertmanyvalues_max_parameters = 999
    repo = k.repo("wanted")
    ids = repo.upsert_wanted_items([episode(f"/tv/bulk/{n}.mkv") for n in range(2_500)])
    largest = []

    @event.listens_for(k.engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("DELETE"):
            largest.append(len(parameters))

    assert repo.delete_wanted_items_by_ids(ids[:2_000] + [10**6]) == 2_000
    assert repo.delete_wanted_items([f"/tv/bulk/{n}.mkv" for n in range(2_000, 2_500)] * 3) == 500
    assert repo.get_wanted_count() == 0
    assert len(largest) > 2 and max(largest) <= 999


@pytest.mark.parametrize("call", [
    lambda: delete_wanted_item("1"), lambda: delete_wanted_items("/tv/a.mkv"), lambda: delete_wanted_items([None]),
    lambda: delete_wanted_items_by_ids(["1"]), lambda: delete_wanted_by_file_path(None),
    lambda: get_wanted_item(None), lambda: get_wanted_by_file_path(None), lambda: find_wanted_by_episode("70"),
    lambda: get_wanted_for_series(None), lambda: get_wanted_for_movie("3"), lambda: get_wanted_count("done"),
    lambda: get_wanted_items(status="done"), lambda: get_wanted_items(item_type="series"),
    lambda: get_wanted_items(series_id="1"), lambda: cleanup_wanted_items(instance_name=5),
])
def test_bad_arguments_raise_value_error_and_delete_nothing(kernel, call):
    upsert_wanted_item("episode", "/tv/a.mkv")
    with pytest.raises(ValueError):
        call()
    assert get_wanted_count() == 1


# -- reads -----------------------------------------------------------------------------------------

def test_pages_are_newest_first_with_ties_broken_by_id(kernel):
    ids = [upsert_wanted_item("episode", f"/tv/{n:03d}.mkv") for n in range(25)]
    same_scan = upsert_wanted_items([episode(f"/tv/scan/{n}.mkv") for n in range(5)])  # one added_at
    everything = ids + same_scan
    expected = sorted(everything, key=lambda i: (get_wanted_item(i)["added_at"], i), reverse=True)
    seen = []
    for page in range(1, 5):
        result = get_wanted_items(page=page, per_page=8)
        assert (result["page"], result["per_page"], result["total"], result["total_pages"]) == (page, 8, 30, 4)
        seen += [r["id"] for r in result["data"]]
    assert seen == expected
    assert get_wanted_items(page=9, per_page=8)["data"] == []
    assert list(get_wanted_items()) == ["data", "page", "per_page", "total", "total_pages"]
    assert list(get_wanted_items()["data"][0]) == ROW_KEYS


def test_page_n_of_many_items(kernel):
    upsert_wanted_items([episode(f"/tv/{n:05d}.mkv") for n in range(5_000)])
    ordered = [r["id"] for r in get_wanted_items(page=1, per_page=5_000)["data"]]
    result = get_wanted_items(page=17, per_page=200)
    assert result["total_pages"] == 25
    assert [r["id"] for r in result["data"]] == ordered[3_200:3_400]


def test_every_page_from_either_end_matches_one_big_page(kernel):
    """Pages past the middle are read from the far end and turned around; ties in added_at (one scan)
    and a short last page come out exactly as a single forward read orders them."""
    for n in range(4):
        upsert_wanted_items([episode(f"/tv/{n}/{i:03d}.mkv") for i in range(25)])  # 4 scans of one added_at
        upsert_wanted_item("episode", f"/tv/single-{n}.mkv")
    update_wanted_status(get_wanted_by_file_path("/tv/2/007.mkv")["id"], "failed")
    for status in (None, "wanted"):
        everything = get_wanted_items(per_page=1_000, status=status)["data"]
        total = len(everything)
        for per_page in (1, 7, 50):
            last = -(-total // per_page)
            pages = [get_wanted_items(page=p, per_page=per_page, status=status) for p in range(1, last + 2)]
            assert [r for page in pages for r in page["data"]] == everything
            assert {(page["total"], page["total_pages"]) for page in pages} == {(total, last)}
            assert pages[-1]["data"] == [] and len(pages[-2]["data"]) == (total % per_page or per_page)


def test_paging_needs_a_total_order(kernel):
    from sublarr.core.domain import paginate
    from sublarr.plugins.wanted.models import wanted_items as table

    with kernel.repo("wanted").read() as conn:
        with pytest.raises(TypeError, match="primary key"):  # ties could sit on two pages, or none
            paginate(conn, select(table), 1, 10, [table.c.added_at.desc()])
        with pytest.raises(TypeError, match="asc"):
            paginate(conn, select(table), 1, 10, [table.c.id])


def test_page_filters_are_combined(kernel):
    a = upsert_wanted_item("episode", "/tv/a.mkv", sonarr_series_id=1)
    b = upsert_wanted_item("episode", "/tv/b.mkv", sonarr_series_id=1, subtitle_type="forced")
    c = upsert_wanted_item("episode", "/tv/c.mkv", sonarr_series_id=2)
    m = upsert_wanted_item("movie", "/movies/m.mkv", radarr_movie_id=9)
    update_wanted_status(a, "failed")

    def ids(**filters):
        return sorted(r["id"] for r in get_wanted_items(**filters)["data"])

    assert ids() == sorted([a, b, c, m])
    assert ids(item_type="episode") == sorted([a, b, c])
    assert ids(status="wanted") == sorted([b, c, m])
    assert ids(series_id=1) == sorted([a, b])
    assert ids(series_id=1, status="wanted") == [b]
    assert ids(subtitle_type="forced") == [b]
    assert ids(item_type="movie", series_id=1) == []
    assert ids(item_type="", status="", subtitle_type="") == sorted([a, b, c, m])  # falsy = no filter (legacy)
    assert get_wanted_items(series_id=0)["total"] == 0  # series_id filters whenever it is not None


@pytest.mark.parametrize("page, per_page", [(0, 50), (1, 0), (-1, 5), ("1", 5), (1, None)])
def test_bad_paging_raises_value_error(kernel, page, per_page):
    with pytest.raises(ValueError):
        get_wanted_items(page=page, per_page=per_page)


def test_empty_table_reads(kernel):
    assert get_wanted_items() == {"data": [], "page": 1, "per_page": 50, "total": 0, "total_pages": 1}
    assert get_wanted_item(1) is None
    assert get_wanted_by_file_path("/tv/a.mkv") is None and get_wanted_item_by_path("/tv/a.mkv") is None
    assert find_wanted_by_episode(1) is None
    assert get_wanted_for_series(1) == [] and get_wanted_for_movie(1) == []
    assert get_wanted_count() == 0 and get_upgradeable_count() == 0
    assert get_wanted_summary() == {"total": 0, "by_type": {}, "by_status": {}, "by_existing": {}, "upgradeable": 0}
    assert get_wanted_by_subtitle_type() == {}
    assert get_all_wanted_file_paths() == set()
    assert cleanup_wanted_items() == [] and get_wanted_items_for_cleanup() == []


def test_lookups_by_path_take_the_lowest_id(kernel):
    first = upsert_wanted_item("episode", "/tv/a.mkv", target_language="de")
    forced = upsert_wanted_item("episode", "/tv/a.mkv", target_language="de", subtitle_type="forced")
    french = upsert_wanted_item("episode", "/tv/a.mkv", target_language="fr")
    assert get_wanted_item_by_path("/tv/a.mkv")["id"] == first
    assert get_wanted_by_file_path("/tv/a.mkv", target_language="fr")["id"] == french
    assert get_wanted_by_file_path("/tv/a.mkv", subtitle_type="forced")["id"] == forced
    assert get_wanted_by_file_path("/tv/a.mkv", "de", "forced")["id"] == forced
    assert get_wanted_by_file_path("/tv/a.mkv", target_language="") is None
    assert get_wanted_item_by_path("/tv/A.mkv") is None
    assert list(get_wanted_item_by_path("/tv/a.mkv")) == ROW_KEYS


def test_find_by_episode_filters_the_language_only_when_given(kernel):
    de = upsert_wanted_item("episode", "/tv/e.mkv", sonarr_episode_id=70, target_language="de")
    fr = upsert_wanted_item("episode", "/tv/e.mkv", sonarr_episode_id=70, target_language="fr")
    assert find_wanted_by_episode(70)["id"] == de
    assert find_wanted_by_episode(70, "fr")["id"] == fr
    assert find_wanted_by_episode(70, "it") is None
    assert find_wanted_by_episode(71) is None


def test_items_of_a_series_or_movie(kernel):
    a = upsert_wanted_item("episode", "/tv/a.mkv", sonarr_series_id=4)
    b = upsert_wanted_item("episode", "/tv/b.mkv", sonarr_series_id=4)
    upsert_wanted_item("episode", "/tv/c.mkv", sonarr_series_id=5)
    m = upsert_wanted_item("movie", "/movies/m.mkv", radarr_movie_id=4)
    assert [r["id"] for r in get_wanted_for_series(4)] == [a, b]
    assert [r["id"] for r in get_wanted_for_movie(4)] == [m]
    assert list(get_wanted_for_series(4)[0]) == ROW_KEYS and get_wanted_for_series(4)[0]["missing_languages"] == []


def test_counts_and_summary(kernel):
    a = upsert_wanted_item("episode", "/tv/a.mkv", existing_sub="srt", upgrade_candidate=True)
    upsert_wanted_item("episode", "/tv/b.mkv")
    c = upsert_wanted_item("movie", "/movies/c.mkv", existing_sub="ass")
    d = upsert_wanted_item("movie", "/movies/d.mkv", subtitle_type="forced")
    update_wanted_status(c, "ignored")
    set_columns(kernel, d, existing_sub=None)  # a legacy NULL: counted with '' under "none"
    assert get_wanted_count() == 4 and get_wanted_count("ignored") == 1 and get_wanted_count("found") == 0
    assert get_wanted_count("") == 4
    assert get_upgradeable_count() == 1
    assert get_wanted_summary() == {
        "total": 4,
        "by_type": {"episode": 2, "movie": 2},
        "by_status": {"ignored": 1, "wanted": 3},
        "by_existing": {"none": 2, "ass": 1, "srt": 1},
        "upgradeable": 1,
    }
    assert get_wanted_item(a)["upgrade_candidate"] == 1


def test_counts_by_subtitle_type(kernel):
    upsert_wanted_items([episode("/tv/a.mkv"), episode("/tv/b.mkv"), episode("/tv/b.mkv", subtitle_type="forced")])
    assert get_wanted_by_subtitle_type() == {"forced": 1, "full": 2}
    with kernel.engine.begin() as conn:  # a legacy '' type counts as "full", summed with it
        conn.execute(insert(items_table).values(item_type="episode", file_path="/tv/c.mkv", subtitle_type="",
                                                added_at=now_iso(), updated_at=now_iso()))
    assert get_wanted_by_subtitle_type() == {"forced": 1, "full": 3}


def test_file_paths_and_cleanup_rows(kernel):
    a = upsert_wanted_item("episode", "/tv/a.mkv", target_language="de", instance_name="main")
    b = upsert_wanted_item("episode", "/tv/a.mkv", instance_name="main")
    s = upsert_wanted_item("movie", "/standalone/s.mkv", instance_name="standalone")
    assert get_all_wanted_file_paths() == {"/tv/a.mkv", "/standalone/s.mkv"}
    assert get_wanted_items_for_cleanup() == [
        {"id": a, "file_path": "/tv/a.mkv", "target_language": "de", "instance_name": "main"},
        {"id": b, "file_path": "/tv/a.mkv", "target_language": "", "instance_name": "main"},
        {"id": s, "file_path": "/standalone/s.mkv", "target_language": "", "instance_name": "standalone"},
    ]
    assert cleanup_wanted_items("standalone") == [
        {"id": s, "file_path": "/standalone/s.mkv", "target_language": "", "instance_name": "standalone"}]
    set_columns(kernel, s, instance_name=None)  # legacy NULLs read as ''
    assert cleanup_wanted_items()[2]["instance_name"] == ""


def test_invalid_missing_languages_json_reads_as_an_empty_list(kernel):
    item_id = upsert_wanted_item("episode", "/tv/j.mkv", missing_languages=["de"])
    for raw in ("not json", "", None, "[unclosed"):
        set_columns(kernel, item_id, missing_languages=raw)
        assert get_wanted_item(item_id)["missing_languages"] == []
    set_columns(kernel, item_id, missing_languages='{"de": 1}')  # other JSON is returned parsed (legacy)
    assert get_wanted_item(item_id)["missing_languages"] == {"de": 1}


def test_rows_with_the_same_languages_get_lists_of_their_own(kernel):
    """Parsed language lists are shared by text (a page repeats a handful of them), never by rows:
    changing one row's list changes no other row, nor what the next read returns."""
    for name in ("a", "b"):
        upsert_wanted_item("episode", f"/tv/{name}.mkv", missing_languages=["de", "en"])
    first, second = get_wanted_items(per_page=10)["data"]
    assert first["missing_languages"] == second["missing_languages"] == ["de", "en"]
    first["missing_languages"].append("fr")
    assert second["missing_languages"] == ["de", "en"]
    assert [row["missing_languages"] for row in get_wanted_items(per_page=10)["data"]] == [["de", "en"]] * 2


def test_package_exports_every_function():
    assert set(wanted.__all__) >= {
        "upsert_wanted_item", "upsert_wanted_items", "get_wanted_items", "get_wanted_item", "update_wanted_status",
        "update_wanted_search", "mark_search_attempted", "delete_wanted_item", "delete_wanted_items",
        "delete_wanted_by_file_path", "delete_wanted_items_by_ids", "get_wanted_count", "get_upgradeable_count",
        "get_wanted_summary", "get_all_wanted_file_paths", "get_wanted_items_for_cleanup", "cleanup_wanted_items",
        "get_wanted_item_by_path", "get_wanted_by_file_path", "find_wanted_by_episode", "get_wanted_for_series",
        "get_wanted_for_movie", "get_wanted_by_subtitle_type", "ITEM_TYPES", "STATUSES"}


# -- migrations ------------------------------------------------------------------------------------

def describe(url: str) -> dict:
    """Columns (order, type, nullability, default without PostgreSQL's cast), unique keys, named indexes."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        insp = reflect(engine)
        return {
            "columns": [(c["name"], str(c["type"]), c["nullable"] or c["name"] == "id",
                         c["default"] and c["default"].replace("::text", ""))
                        for c in insp.get_columns("wanted_items")],
            "unique": sorted((u["name"], u["column_names"]) for u in insp.get_unique_constraints("wanted_items")),
            "indexes": sorted((i["name"], i["column_names"]) for i in insp.get_indexes("wanted_items")
                              if not i["name"].startswith("sqlite_autoindex") and "duplicates_constraint" not in i),
        }
    finally:
        engine.dispose()


LEGACY_INDEXES = [("idx_wanted_file_path", ["file_path"]), ("idx_wanted_item_type", ["item_type"]),
                  ("idx_wanted_radarr_movie", ["radarr_movie_id"]), ("idx_wanted_sonarr_episode", ["sonarr_episode_id"]),
                  ("idx_wanted_sonarr_series", ["sonarr_series_id"]), ("idx_wanted_status", ["status"])]


def test_sqlite_baseline_reproduces_the_legacy_table(empty_database):
    # the legacy SCHEMA statement plus the _run_migrations ALTER TABLE columns, in their order
    compared = compare_with_legacy(empty_database, ["wanted_items"], "wanted", "wanted_0001")
    assert compared.ours == compared.legacy
    ours = describe(compared.url)  # this file's describe: also the names of unique keys
    assert ours == describe(compared.legacy_url)
    assert ours["indexes"] == LEGACY_INDEXES and ours["unique"] == []
    assert compared.autoincrement("wanted_items")


def test_postgresql_baseline_has_the_legacy_columns_and_indexes(empty_database):
    legacy_url, url = empty_database("sqlite"), empty_database("postgresql")
    create_legacy_tables(legacy_url, ["wanted_items"])
    at_revision(url, "wanted", "wanted_0001").close()
    ours, legacy = describe(url), describe(legacy_url)
    assert [c[:3] for c in ours["columns"]] == [c[:3] for c in legacy["columns"]]
    assert [c[3] for c in ours["columns"][1:]] == [c[3] for c in legacy["columns"][1:]]
    assert ours["columns"][0][3].startswith("nextval(")
    assert ours["indexes"] == LEGACY_INDEXES and ours["unique"] == []


def test_head_has_the_identity_key_and_the_paging_indexes(kernel):
    described = describe(kernel.database_url)
    columns = {c[0]: c for c in described["columns"]}
    assert columns["target_language"][2:] == (False, "''")
    assert columns["subtitle_type"][2:] == (False, "'full'")
    assert described["unique"] == [("uq_wanted_identity", ["file_path", "target_language", "subtitle_type"])]
    assert described["indexes"] == sorted(LEGACY_INDEXES + [
        ("idx_wanted_added", ["added_at", "id"]), ("idx_wanted_status_added", ["status", "added_at", "id"]),
        ("idx_wanted_item_type_added", ["item_type", "added_at", "id"]),
        ("idx_wanted_subtitle_type_added", ["subtitle_type", "added_at", "id"]),
        ("idx_wanted_series_status", ["sonarr_series_id", "status"])])
    assert [c[0] for c in described["columns"]] == ROW_KEYS


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mariadb"])
def test_empty_to_head_to_base_to_head(empty_database, dialect):
    url = empty_database(dialect)
    k = boot(url)
    try:
        assert k.migrator.current()["wanted"] == k.migrator.heads()["wanted"] == "wanted_0006"
        upsert_wanted_item("episode", "/tv/a.mkv")
        k.migrator.downgrade("base", domain="wanted")
        assert k.migrator.current()["wanted"] is None
        assert "wanted_items" not in inspect(k.engine).get_table_names()
        k.migrator.upgrade(domain="wanted")
        assert k.migrator.current()["wanted"] == "wanted_0006"
        assert get_wanted_count() == 0
        assert upsert_wanted_item("episode", "/tv/a.mkv") == upsert_wanted_item("episode", "/tv/a.mkv")
    finally:
        k.close()


PAGE_PLAN = "SELECT id FROM wanted_items WHERE status = 'wanted' ORDER BY added_at DESC, id DESC LIMIT 50"


def sorts(kernel) -> bool:
    """Whether the engine sorts rows for a page instead of reading them in index order."""
    with kernel.engine.connect() as conn:
        if kernel.engine.dialect.name == "sqlite":
            return any("TEMP B-TREE" in row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + PAGE_PLAN))
        if kernel.engine.dialect.name == "postgresql":
            return any("Sort" in row[0] for row in conn.exec_driver_sql("EXPLAIN " + PAGE_PLAN))
        return any("filesort" in str(row._mapping["Extra"]) for row in conn.exec_driver_sql("EXPLAIN " + PAGE_PLAN))


def test_pages_are_read_in_index_order_on_every_engine(kernel):
    """wanted_0005: MariaDB indexed a prefix of a LONGTEXT added_at, which cannot order a page, so
    every page sorted all matching rows; a Timestamp column is indexed whole. Down to wanted_0004
    and up again keeps every row and value."""
    repo = kernel.repo("wanted")
    repo.upsert_wanted_items_in_batches(scan_of(3000))
    kernel.storage.after_bulk_write("wanted_items", 3000)  # statistics, as after a scan
    before = stored(kernel)
    assert not sorts(kernel)
    kernel.migrator.downgrade("wanted_0004", domain="wanted")
    assert stored(kernel) == before
    kernel.storage.after_bulk_write("wanted_items", 3000)
    assert sorts(kernel) == (kernel.engine.dialect.name == "mariadb")  # what wanted_0005 fixed
    kernel.migrator.upgrade(domain="wanted")
    kernel.storage.after_bulk_write("wanted_items", 3000)
    assert stored(kernel) == before and not sorts(kernel)
    page = repo.get_wanted_items(page=2, per_page=50, status="wanted")["data"]
    assert [row["id"] for row in page] == sorted((r["id"] for r in before), reverse=True)[50:100]


COUNT_PLANS = ("SELECT count(*) FROM wanted_items WHERE status = 'failed'",
               "SELECT status, count(*) FROM wanted_items GROUP BY status",
               "SELECT item_type, count(*) FROM wanted_items GROUP BY item_type")


def read_whole_from_an_index(kernel) -> bool:
    """Whether MariaDB answers a page's count and the summary's groups from an index alone."""
    with kernel.engine.connect() as conn:
        plans = [conn.exec_driver_sql("EXPLAIN " + sql).mappings().one() for sql in COUNT_PLANS]
    return all("Using index" in str(plan["Extra"]) and "temporary" not in str(plan["Extra"]) for plan in plans)


def test_counts_and_groups_by_status_and_type_are_read_from_an_index(kernel):
    """wanted_0006: MariaDB indexed a prefix of a LONGTEXT status / item_type, so the count behind a
    page's total read every matching row and the summary grouped through temporary tables; a
    ShortText column is indexed whole. Down to wanted_0005 and up again keeps every row, value and
    the status default; the summary and the pages read the same."""
    repo = kernel.repo("wanted")
    repo.upsert_wanted_items_in_batches(scan_of(2000))
    repo.upsert_wanted_items_in_batches({"item_type": "movie", "file_path": f"/movies/M{i}.mkv", "radarr_movie_id": i}
                                        for i in range(500))
    for item_id in range(1, 300):
        repo.update_wanted_status(item_id, "failed" if item_id % 2 else "found", "e")
    kernel.storage.after_bulk_write("wanted_items", 2500)
    before, summary = stored(kernel), repo.get_wanted_summary()
    page = repo.get_wanted_items(page=3, per_page=50, status="failed", item_type="episode")
    mariadb = kernel.engine.dialect.name == "mariadb"  # the engine here that keys text by a prefix
    assert not mariadb or read_whole_from_an_index(kernel)
    kernel.migrator.downgrade("wanted_0005", domain="wanted")
    assert stored(kernel) == before and repo.get_wanted_summary() == summary
    if mariadb:
        assert not read_whole_from_an_index(kernel)  # what wanted_0006 fixed
    kernel.migrator.upgrade(domain="wanted")
    kernel.storage.after_bulk_write("wanted_items", 2500)
    assert stored(kernel) == before and repo.get_wanted_summary() == summary
    assert repo.get_wanted_items(page=3, per_page=50, status="failed", item_type="episode") == page
    assert not mariadb or read_whole_from_an_index(kernel)
    with kernel.engine.begin() as conn:  # the column default survived the retype
        conn.execute(insert(items_table).values(item_type="episode", file_path="/tv/default.mkv",
                                                added_at=now_iso(), updated_at=now_iso()))
    assert get_wanted_by_file_path("/tv/default.mkv")["status"] == "wanted"


def baseline_row(path, language, kind, title, **extra):
    now = now_iso()
    return {"item_type": "episode", "file_path": path, "target_language": language, "subtitle_type": kind,
            "title": title, "added_at": now, "updated_at": now, **extra}


def test_identity_migration_merges_duplicates_keeping_the_lowest_id(kernel):
    keep = upsert_wanted_item("episode", "/tv/keep.mkv", title="kept")
    kernel.migrator.downgrade("wanted_0001", domain="wanted")
    assert describe(kernel.database_url)["unique"] == []
    with kernel.engine.begin() as conn:  # what the legacy race (no unique key) left behind
        for row in [
            baseline_row("/tv/a.mkv", "", "full", "a1"), baseline_row("/tv/a.mkv", None, "full", "a2"),
            baseline_row("/tv/a.mkv", "", None, "a3"), baseline_row("/tv/a.mkv", "de", "full", "a-de"),
            baseline_row("/tv/b.mkv", None, None, "b1", status="ignored"), baseline_row("/tv/b.mkv", "", "full", "b2"),
            baseline_row("/tv/c.mkv", "de", "forced", "c1"), baseline_row("/tv/c.mkv", "de", "forced", "c2"),
            baseline_row("/tv/top.mkv", "", "full", "top1"), baseline_row("/tv/top.mkv", "", "full", "top2"),
        ]:
            conn.execute(insert(items_table).values(**row))
    before = {r["title"]: r["id"] for r in stored(kernel)}
    kernel.migrator.upgrade(domain="wanted")
    after = {r["title"]: r for r in stored(kernel)}
    assert sorted(after) == ["a-de", "a1", "b1", "c1", "kept", "top1"]
    assert {t: r["id"] for t, r in after.items()} == {t: before[t] for t in after}
    assert after["b1"]["target_language"] == "" and after["b1"]["subtitle_type"] == "full"
    assert after["b1"]["status"] == "ignored" and after["kept"]["id"] == keep
    assert describe(kernel.database_url)["unique"] == [
        ("uq_wanted_identity", ["file_path", "target_language", "subtitle_type"])]
    # ids of the deleted duplicates are not handed out again (AUTOINCREMENT counter kept on SQLite)
    assert upsert_wanted_item("episode", "/tv/new.mkv") > before["top2"]
    assert upsert_wanted_item("episode", "/tv/a.mkv", target_language=None) == before["a1"]


def test_identity_migration_downgrades_to_the_legacy_shape(kernel):
    upsert_wanted_item("episode", "/tv/a.mkv")
    kernel.migrator.downgrade("wanted_0001", domain="wanted")
    described = describe(kernel.database_url)
    assert described["unique"] == [] and described["indexes"] == LEGACY_INDEXES
    assert {c[0]: c[2] for c in described["columns"]}["target_language"] is True
    with kernel.engine.begin() as conn:  # duplicates and NULLs are possible again, as in legacy
        conn.execute(insert(items_table).values(**baseline_row("/tv/a.mkv", None, None, "dup")))
        assert conn.execute(select(func.count()).select_from(items_table)).scalar() == 2
        conn.execute(text("DELETE FROM wanted_items WHERE title = 'dup'"))
    kernel.migrator.upgrade(domain="wanted")
    assert get_wanted_count() == 1


def test_legacy_database_with_duplicates_is_adopted(empty_database):
    url = empty_database("sqlite")
    create_legacy_tables(url, ["wanted_items"])
    engine = create_engine(url)
    with engine.begin() as conn:
        for title, language in (("first", ""), ("second", None), ("german", "de")):
            conn.execute(text("INSERT INTO wanted_items (item_type, file_path, title, target_language, added_at, "
                              "updated_at) VALUES ('episode', '/tv/a.mkv', :t, :l, '2024-01-01T10:00:00', "
                              "'2024-01-01T10:00:00')"), {"t": title, "l": language})
    engine.dispose()
    k = boot(url, auto_migrate=False)
    try:
        k.migrator.stamp({"wanted": "wanted_0001"})
        k.migrator.upgrade(domain="wanted")
        assert [(r["id"], r["title"]) for r in stored(k)] == [(1, "first"), (3, "german")]
        assert upsert_wanted_item("episode", "/tv/a.mkv") == 1
        assert upsert_wanted_item("episode", "/tv/b.mkv") > 3
    finally:
        k.close()


def test_ids_do_not_run_out_on_postgresql(empty_database):
    """Upserts use up an id per conflicting row; wanted_0004 made the PostgreSQL ids 64-bit
    (SQLite's INTEGER PRIMARY KEY is 64-bit already)."""
    from sqlalchemy import text

    k = boot(empty_database("postgresql"))
    try:
        with k.engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('wanted_items', 'id'), 3000000000)"))
        item_id = upsert_wanted_item("episode", "/tv/big.mkv")
        assert item_id > 2**31
        assert get_wanted_item(item_id)["file_path"] == "/tv/big.mkv"
    finally:
        k.close()
