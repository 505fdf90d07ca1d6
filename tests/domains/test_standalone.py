"""standalone domain: watched folders, series, movies, metadata cache, AniDB delegation."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect, select

import sublarr.plugins.standalone as standalone_pkg
from sublarr.core.timeutil import iso_in, now_iso, parse, utcnow
from sublarr.plugins.cache.models import anidb_mappings
from sublarr.plugins.standalone.models import (
    metadata_cache,
    standalone_movies,
    standalone_series,
    watched_folders,
)
from tests.conftest import boot
from tests.domains.rows import counts, set_columns
from tests.domains.schema import (
    compare_with_legacy,
    create_legacy_tables,
    describe_sqlite,
    model_drift,
    reflect,
)

TABLES = ("watched_folders", "standalone_series", "standalone_movies", "metadata_cache")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
FOLDER_KEYS = ["id", "path", "label", "media_type", "enabled", "last_scan_at", "created_at", "updated_at"]
SERIES_KEYS = ["id", "title", "year", "folder_path", "tmdb_id", "tvdb_id", "anilist_id", "imdb_id", "poster_url",
               "is_anime", "episode_count", "season_count", "metadata_source", "created_at", "updated_at"]
MOVIE_KEYS = ["id", "title", "year", "file_path", "tmdb_id", "imdb_id", "poster_url", "metadata_source",
              "created_at", "updated_at"]
METADATA_KEYS = ["cache_key", "provider", "response_json", "cached_at", "expires_at"]
TRICKY = ["it's \"quoted\"", "/media/100%_done\\", "/média/Ünïcødé ✓ 字幕", "/m/" + "x" * 1997]  # the longest indexed value (MAX_INDEXED_BYTES)
OLD = "2000-01-01T00:00:00.000000"


@pytest.fixture
def repo(kernel):
    return kernel.repo("standalone")


def patient_repo(make_kernel):
    # A generous busy timeout: on a loaded machine SQLite's busy handler (not fair) can keep one of
    # 8 writers waiting longer than the default 5 s; the concurrency tests are about duplicates.
    return make_kernel(db_busy_timeout_ms=60_000).repo("standalone")


# -- watched folders -----------------------------------------------------------------------------

def test_upsert_watched_folder_inserts_then_updates_and_returns_the_id(kernel, repo):
    folder_id = repo.upsert_watched_folder("/media/anime", "Anime", "series")
    assert type(folder_id) is int
    row = repo.get_watched_folder(folder_id)
    assert list(row) == FOLDER_KEYS
    assert {k: row[k] for k in FOLDER_KEYS[1:6]} == {
        "path": "/media/anime", "label": "Anime", "media_type": "series", "enabled": 1, "last_scan_at": ""}
    assert STAMP.match(row["created_at"]) and row["created_at"] == row["updated_at"]
    set_columns(kernel, watched_folders, watched_folders.c.id == folder_id, updated_at=OLD)
    assert repo.upsert_watched_folder("/media/anime", media_type="auto", enabled=False) == folder_id
    after = repo.get_watched_folder(folder_id)
    assert (after["label"], after["media_type"], after["enabled"]) == ("", "auto", 0)  # every listed field
    assert after["created_at"] == row["created_at"] and after["updated_at"] > OLD
    assert counts(kernel, TABLES)["watched_folders"] == 1


def test_re_upserts_draw_no_ids(repo):
    """Every scan re-upserts its rows: that must not consume the id sequence (PostgreSQL's
    nextval() runs before ON CONFLICT; a 4-byte SERIAL would run out)."""
    for _ in range(5):
        assert repo.upsert_watched_folder("/a") == 1
        assert repo.create_watched_folder("/a")["id"] == 1
        assert repo.upsert_standalone_series("S", "/s") == 1
        assert repo.upsert_standalone_movie("M", "/m.mkv") == 1
    assert repo.upsert_watched_folder("/b") == 2
    assert repo.create_watched_folder("/c")["id"] == 3
    assert repo.upsert_standalone_series("S2", "/s2") == 2
    assert repo.upsert_standalone_movie("M2", "/m2.mkv") == 2


def test_get_watched_folders_filters_and_orders_by_path(repo):
    b = repo.upsert_watched_folder("/b")
    a = repo.upsert_watched_folder("/a", enabled=False)  # legacy: a new disabled folder
    c = repo.upsert_watched_folder("/C")
    assert [f["id"] for f in repo.get_watched_folders()] == [c, b]  # enabled only, by path (binary order)
    assert [f["id"] for f in repo.get_watched_folders(enabled_only=False)] == [c, a, b]
    assert repo.get_watched_folders(False)[1] == repo.get_watched_folder(a)
    with pytest.raises(ValueError):
        repo.get_watched_folders(enabled_only="yes")


def test_create_watched_folder_returns_the_existing_folder(kernel, repo):
    created = repo.create_watched_folder("/media/tv", "TV", "series")
    assert list(created) == FOLDER_KEYS
    assert (created["enabled"], created["label"], created["last_scan_at"]) == (1, "TV", "")
    # legacy: the repository insert hit UNIQUE(path) and raised; now the existing folder comes back unchanged
    again = repo.create_watched_folder("/media/tv", "Other label", "movie")
    assert again == created
    disabled = repo.upsert_watched_folder("/media/off", enabled=False)
    assert repo.create_watched_folder("/media/off")["id"] == disabled
    assert repo.create_watched_folder("/media/off")["enabled"] == 0
    assert counts(kernel, TABLES)["watched_folders"] == 2


def test_watched_folder_missing_rows(repo):
    assert repo.get_watched_folder(1) is None
    assert repo.delete_watched_folder(1) is False
    assert repo.update_watched_folder(1, label="x") is False
    assert repo.update_watched_folder(1) is False
    assert repo.update_last_scan(1) is False
    folder_id = repo.upsert_watched_folder("/x")
    assert repo.delete_watched_folder(folder_id) is True
    assert repo.get_watched_folder(folder_id) is None and repo.get_watched_folders(False) == []


def test_update_watched_folder(kernel, repo):
    folder_id = repo.upsert_watched_folder("/a", "A")
    other = repo.upsert_watched_folder("/b")
    set_columns(kernel, watched_folders, watched_folders.c.id == folder_id, updated_at=OLD)
    assert repo.update_watched_folder(folder_id) is True  # nothing to change: nothing written
    assert repo.get_watched_folder(folder_id)["updated_at"] == OLD
    assert repo.update_watched_folder(folder_id, path="/a2", label="A2", media_type="movie", enabled=False) is True
    row = repo.get_watched_folder(folder_id)
    assert (row["path"], row["label"], row["media_type"], row["enabled"]) == ("/a2", "A2", "movie", 0)
    assert row["updated_at"] > OLD
    for bad in ({"last_scan_at": "x"}, {"id": 5}, {"created_at": "x"}, {"bogus": 1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            repo.update_watched_folder(folder_id, label="changed", **bad)
    for bad in ({"path": None}, {"path": ""}, {"label": None}, {"enabled": "no"}, {"media_type": 3}):
        with pytest.raises(ValueError):
            repo.update_watched_folder(folder_id, **bad)
    with pytest.raises(ValueError, match="/b"):  # another folder's path: ValueError, not IntegrityError
        repo.update_watched_folder(folder_id, path="/b", label="changed")
    assert repo.get_watched_folder(folder_id) == row
    assert repo.get_watched_folder(other)["path"] == "/b"


def test_update_last_scan(kernel, repo):
    folder_id = repo.upsert_watched_folder("/a")
    assert repo.update_last_scan(folder_id) is True
    row = repo.get_watched_folder(folder_id)
    assert STAMP.match(row["last_scan_at"]) and row["updated_at"] == row["last_scan_at"]


# -- series --------------------------------------------------------------------------------------

def test_upsert_standalone_series_returns_the_id_and_overwrites_every_field(kernel, repo):
    series_id = repo.upsert_standalone_series("Frieren", "/anime/Frieren", year=2023, tmdb_id=209867, tvdb_id=424536,
                                              anilist_id=154587, imdb_id="tt22248376", poster_url="https://p/x.jpg",
                                              is_anime=True, episode_count=28, season_count=1,
                                              metadata_source="anilist")
    assert type(series_id) is int  # the legacy shape, not the old repository's dict
    row = repo.get_standalone_series(series_id)
    assert list(row) == SERIES_KEYS
    assert {k: row[k] for k in SERIES_KEYS[1:13]} == {
        "title": "Frieren", "year": 2023, "folder_path": "/anime/Frieren", "tmdb_id": 209867, "tvdb_id": 424536,
        "anilist_id": 154587, "imdb_id": "tt22248376", "poster_url": "https://p/x.jpg", "is_anime": 1,
        "episode_count": 28, "season_count": 1, "metadata_source": "anilist"}
    assert STAMP.match(row["created_at"]) and row["created_at"] == row["updated_at"]
    set_columns(kernel, standalone_series, standalone_series.c.id == series_id, updated_at=OLD)
    assert repo.upsert_standalone_series("Frieren 2", "/anime/Frieren") == series_id
    again = repo.get_standalone_series(series_id)
    # legacy: every listed field is overwritten, None included; created_at is kept
    assert {k: again[k] for k in SERIES_KEYS[1:13]} == {
        "title": "Frieren 2", "year": None, "folder_path": "/anime/Frieren", "tmdb_id": None, "tvdb_id": None,
        "anilist_id": None, "imdb_id": "", "poster_url": "", "is_anime": 0, "episode_count": 0,
        "season_count": 0, "metadata_source": ""}
    assert again["created_at"] == row["created_at"] and again["updated_at"] > OLD
    assert counts(kernel, TABLES)["standalone_series"] == 1


def test_series_getters_ordering_and_delete(repo):
    b = repo.upsert_standalone_series("Bleach", "/s/b")
    a2 = repo.upsert_standalone_series("Akira", "/s/a2")
    a1 = repo.upsert_standalone_series("Akira", "/s/a1")
    z = repo.upsert_standalone_series("zeta", "/s/z")
    everything = repo.get_standalone_series()  # legacy overload: no id -> every series
    assert [s["id"] for s in everything] == [a2, a1, b, z]  # by title, then id
    assert repo.get_all_standalone_series() == everything
    assert repo.get_standalone_series_by_folder("/s/b") == repo.get_standalone_series(b)
    assert repo.get_standalone_series_by_folder("/s/") is None  # exact match, not a prefix
    assert repo.get_standalone_series(999) is None
    assert repo.delete_standalone_series(b) is True and repo.delete_standalone_series(b) is False
    assert repo.get_standalone_series_by_folder("/s/b") is None


@pytest.mark.parametrize("kind", ["series", "movie"])
def test_bad_series_and_movie_values_raise_and_write_nothing(kernel, repo, kind):
    upsert = repo.upsert_standalone_series if kind == "series" else repo.upsert_standalone_movie
    path = "folder_path" if kind == "series" else "file_path"
    existing = upsert("T", "/existing")
    before = counts(kernel, TABLES)
    bad_values = [{"title": None}, {path: None}, {path: ""}, {path: 5}, {"year": "2020"}, {"year": 2020.0},
                  {"tmdb_id": "1"}, {"imdb_id": None}, {"poster_url": 1}, {"metadata_source": None},
                  {"title": "nul\x00"}]
    if kind == "series":
        bad_values += [{"is_anime": "no"}, {"is_anime": 2}, {"episode_count": -1}, {"season_count": "1"},
                       {"tvdb_id": True}, {"anilist_id": 1.5}]
    for bad in bad_values:
        with pytest.raises(ValueError):
            upsert(**{"title": "T", path: "/existing", **bad})
    assert counts(kernel, TABLES) == before
    getter = repo.get_standalone_series if kind == "series" else repo.get_standalone_movie
    assert getter(existing)["title"] == "T"
    for bad_id in ("1", 1.0, True):
        with pytest.raises(ValueError):
            getter(bad_id)


# -- movies --------------------------------------------------------------------------------------

def test_upsert_standalone_movie_and_getters(kernel, repo):
    movie_id = repo.upsert_standalone_movie("Akira", "/movies/Akira (1988)/akira.mkv", year=1988, tmdb_id=149,
                                            imdb_id="tt0094625", poster_url="p", metadata_source="tmdb")
    assert type(movie_id) is int
    row = repo.get_standalone_movie(movie_id)
    assert list(row) == MOVIE_KEYS
    assert {k: row[k] for k in MOVIE_KEYS[1:8]} == {
        "title": "Akira", "year": 1988, "file_path": "/movies/Akira (1988)/akira.mkv", "tmdb_id": 149,
        "imdb_id": "tt0094625", "poster_url": "p", "metadata_source": "tmdb"}
    assert repo.get_standalone_movies(movie_id) == row  # legacy overload with an id
    assert repo.get_standalone_movie_by_path("/movies/Akira (1988)/akira.mkv") == row
    set_columns(kernel, standalone_movies, standalone_movies.c.id == movie_id, updated_at=OLD)
    assert repo.upsert_standalone_movie("Akira (Remaster)", "/movies/Akira (1988)/akira.mkv") == movie_id
    again = repo.get_standalone_movie(movie_id)
    assert (again["title"], again["year"], again["tmdb_id"], again["imdb_id"]) == ("Akira (Remaster)", None, None, "")
    assert again["created_at"] == row["created_at"] and again["updated_at"] > OLD
    b = repo.upsert_standalone_movie("Barbie", "/movies/b.mkv")
    a = repo.upsert_standalone_movie("Alien", "/movies/a.mkv")
    assert [m["id"] for m in repo.get_standalone_movies()] == [movie_id, a, b]
    assert repo.get_all_standalone_movies() == repo.get_standalone_movies()
    assert repo.get_standalone_movie(999) is None and repo.get_standalone_movies(999) is None
    assert repo.get_standalone_movie_by_path("/movies/") is None
    assert repo.delete_standalone_movie(a) is True and repo.delete_standalone_movie(a) is False
    assert counts(kernel, TABLES)["standalone_movies"] == 2


# -- metadata cache ------------------------------------------------------------------------------

def test_cache_metadata_round_trip_and_replace(kernel, repo):
    assert repo.get_cached_metadata("tmdb:tv:1") is None
    assert repo.cache_metadata("tmdb:tv:1", "tmdb", '{"name": "x"}') is None
    entry = repo.get_cached_metadata("tmdb:tv:1")
    assert list(entry) == METADATA_KEYS
    assert (entry["provider"], entry["response_json"]) == ("tmdb", '{"name": "x"}')  # opaque string
    assert STAMP.match(entry["cached_at"]) and STAMP.match(entry["expires_at"])
    ttl = parse(entry["expires_at"]) - parse(entry["cached_at"])
    assert abs(ttl.total_seconds() - 30 * 86400) < 60  # the metadata_cache_ttl_days default
    repo.save_metadata_cache("tmdb:tv:1", "anilist", "[]", ttl_days=1)  # repository name: replaces
    replaced = repo.get_metadata_cache("tmdb:tv:1")
    assert (replaced["provider"], replaced["response_json"]) == ("anilist", "[]")
    assert abs((parse(replaced["expires_at"]) - utcnow()).total_seconds() - 86400) < 60
    assert counts(kernel, TABLES)["metadata_cache"] == 1


def test_cache_metadata_ttl_default_comes_from_settings(make_kernel):
    repo = make_kernel(metadata_cache_ttl_days=2).repo("standalone")
    repo.cache_metadata("k", "p", "{}")
    entry = repo.get_cached_metadata("k")
    assert abs((parse(entry["expires_at"]) - parse(entry["cached_at"])).total_seconds() - 2 * 86400) < 60
    repo.cache_metadata("k", "p", "{}", 5)  # an explicit ttl wins
    assert abs((parse(repo.get_cached_metadata("k")["expires_at"]) - utcnow()).total_seconds() - 5 * 86400) < 60


def test_expired_metadata_is_hidden_and_cleaned_up(kernel, repo):
    for key in ("past", "edge", "future"):
        repo.cache_metadata(key, "p", key)
    table = metadata_cache
    set_columns(kernel, table, table.c.cache_key == "past", expires_at=iso_in(days=-1))
    set_columns(kernel, table, table.c.cache_key == "edge", expires_at=now_iso())
    repo.cache_metadata("zero", "p", "{}", ttl_days=0)  # expires at once
    assert repo.get_cached_metadata("past") is None and repo.get_cached_metadata("edge") is None
    assert repo.get_cached_metadata("zero") is None
    assert repo.get_cached_metadata("future")["response_json"] == "future"
    assert repo.cleanup_expired_cache() == 3  # expires_at <= now
    assert repo.clear_expired_metadata_cache() == 0  # repository name, same function
    with kernel.engine.connect() as conn:
        assert conn.execute(select(table.c.cache_key)).scalars().all() == ["future"]


def test_bad_metadata_values_raise_and_write_nothing(kernel, repo):
    for bad in ({"cache_key": None}, {"cache_key": ""}, {"provider": None}, {"response_json": {"a": 1}},
                {"ttl_days": -1}, {"ttl_days": "30"}, {"ttl_days": 1.5}, {"ttl_days": 10**9}):
        with pytest.raises(ValueError):
            repo.cache_metadata(**{"cache_key": "k", "provider": "p", "response_json": "{}", **bad})
    with pytest.raises(ValueError):
        repo.get_cached_metadata(None)
    assert counts(kernel, TABLES)["metadata_cache"] == 0


# -- AniDB (cache domain) ------------------------------------------------------------------------

def test_anidb_functions_delegate_to_the_cache_domain(kernel, repo):
    assert repo.get_anidb_mapping(81797) is None
    assert repo.save_anidb_mapping(81797, 69, "One Piece") is None
    assert repo.get_anidb_mapping(81797) == 69 == kernel.repo("cache").get_anidb_mapping(81797)
    kernel.repo("cache").save_anidb_mapping(1, 2)
    assert repo.get_anidb_mapping(1) == 2
    table = anidb_mappings
    set_columns(kernel, table, table.c.tvdb_id == 1, last_used=iso_in(days=-100))
    assert repo.clear_old_anidb_mappings() == 1  # days=90 by default
    assert repo.clear_old_anidb_mappings(90) == 0
    assert repo.get_anidb_mapping(1) is None and repo.get_anidb_mapping(81797) == 69
    with pytest.raises(ValueError):
        repo.save_anidb_mapping("81797", 1)
    assert kernel.domains["standalone"].requires == ("cache",)
    order = [d.name for d in kernel.migrator.domains]
    assert order.index("cache") < order.index("standalone")


# -- strings, package functions, concurrency -----------------------------------------------------

def test_strings_round_trip_exactly(repo):
    for value in TRICKY:
        folder_id = repo.upsert_watched_folder(value, label=value, media_type=value)
        folder = repo.get_watched_folder(folder_id)
        assert folder["path"] == folder["label"] == folder["media_type"] == value
        assert repo.create_watched_folder(value)["id"] == folder_id
        series_id = repo.upsert_standalone_series(value, value, imdb_id=value, poster_url=value, metadata_source=value)
        assert repo.get_standalone_series_by_folder(value)["id"] == series_id
        assert repo.get_standalone_series(series_id)["title"] == value
        movie_id = repo.upsert_standalone_movie(value, value, imdb_id=value)
        assert repo.get_standalone_movie_by_path(value)["imdb_id"] == value
        assert repo.get_standalone_movie(movie_id)["title"] == value
        repo.cache_metadata(value, value, value)
        assert repo.get_cached_metadata(value)["response_json"] == value
    # "%" and "_" are plain characters: no lookup matches another row by pattern
    assert repo.get_standalone_series_by_folder("/media/1000%_done\\") is None
    assert repo.get_standalone_movie_by_path("/media/100__done\\") is None
    assert len(repo.get_watched_folders()) == len(TRICKY)


def test_package_functions_act_on_the_active_kernel(kernel):
    folder_id = standalone_pkg.upsert_watched_folder("/pkg")
    assert standalone_pkg.get_watched_folders() == kernel.repo("standalone").get_watched_folders()
    assert standalone_pkg.create_watched_folder("/pkg")["id"] == folder_id
    series_id = standalone_pkg.upsert_standalone_series("T", "/pkg/T")
    assert standalone_pkg.get_standalone_series(series_id)["folder_path"] == "/pkg/T"
    standalone_pkg.cache_metadata("k", "p", "{}")
    assert standalone_pkg.cleanup_expired_cache() == 0
    for name in ("upsert_watched_folder", "get_watched_folders", "get_watched_folder", "delete_watched_folder",
                 "upsert_standalone_series", "get_standalone_series", "get_standalone_series_by_folder",
                 "delete_standalone_series", "upsert_standalone_movie", "get_standalone_movies",
                 "delete_standalone_movie", "cache_metadata", "get_cached_metadata", "cleanup_expired_cache",
                 "create_watched_folder", "update_watched_folder", "update_last_scan", "get_all_standalone_series",
                 "get_standalone_movie", "get_all_standalone_movies", "get_standalone_movie_by_path",
                 "get_metadata_cache", "save_metadata_cache", "clear_expired_metadata_cache", "get_anidb_mapping",
                 "save_anidb_mapping", "clear_old_anidb_mappings"):
        assert name in standalone_pkg.__all__ and hasattr(standalone_pkg, name), name


def test_concurrent_upserts_create_one_row(make_kernel):
    repo = patient_repo(make_kernel)

    def work(n: int) -> set[int]:
        ids = set()
        for i in range(50):
            ids.add(repo.upsert_watched_folder("/race", label=f"t{n}-{i}"))
            ids.add(repo.create_watched_folder("/race-create")["id"])
            ids.add(-repo.upsert_standalone_series(f"t{n}", "/race/series", episode_count=i))
            ids.add(-1_000_000 - repo.upsert_standalone_movie(f"t{n}", "/race/movie.mkv"))
        return ids

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert len(set.union(*results)) == 4  # every caller got the same id per key
    assert counts(repo.kernel, TABLES) == {"watched_folders": 2, "standalone_series": 1, "standalone_movies": 1,
                                   "metadata_cache": 0}


def test_concurrent_metadata_writes_keep_one_row(make_kernel):
    repo = patient_repo(make_kernel)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: [repo.cache_metadata("tmdb:tv:1", "tmdb", f"{n}-{i}") for i in range(100)],
                      range(8)))
    assert counts(repo.kernel, TABLES)["metadata_cache"] == 1
    assert re.match(r"^\d-\d+$", repo.get_cached_metadata("tmdb:tv:1")["response_json"])


# -- schema and migrations -----------------------------------------------------------------------

def test_single_linear_head(kernel):
    assert kernel.migrator.heads()["standalone"] == "standalone_0001"
    assert [s.revision for s in kernel.migrator.history("standalone")] == ["standalone_0001"]
    assert kernel.migrator.current()["standalone"] == "standalone_0001"


def test_models_match_the_migrated_schema(kernel):
    assert model_drift(kernel, TABLES) == []


def test_migrations_round_trip(storage, empty_database):
    with boot(empty_database(storage)) as kernel:
        kernel.repo("standalone").upsert_watched_folder("/a")
        kernel.migrator.downgrade("base", domain="standalone")
        assert not set(TABLES) & set(inspect(kernel.engine).get_table_names())
        assert kernel.migrator.current()["standalone"] is None
        assert "anidb_mappings" in inspect(kernel.engine).get_table_names()  # the cache domain is untouched
        kernel.migrator.upgrade(domain="standalone")
        assert set(TABLES) <= set(inspect(kernel.engine).get_table_names())
        assert kernel.migrator.current()["standalone"] == "standalone_0001"
        assert kernel.repo("standalone").get_watched_folders() == []
        assert kernel.repo("standalone").upsert_watched_folder("/a") == 1


def test_baseline_reproduces_the_legacy_sqlite_schema(empty_database):
    compared = compare_with_legacy(empty_database, TABLES, describer=describe_sqlite)  # every domain at head
    assert compared.ours == compared.legacy
    assert {t: d["autoincrement"] for t, d in compared.ours.items()} == {t: t != "metadata_cache" for t in TABLES}


def test_baseline_schema_on_both_dialects(kernel):
    insp = reflect(kernel.engine)
    expected_defaults = {
        "watched_folders": {"label": "''", "media_type": "'auto'", "enabled": "1", "last_scan_at": "''"},
        "standalone_series": {"imdb_id": "''", "is_anime": "0", "episode_count": "0", "season_count": "0"},
        "standalone_movies": {"imdb_id": "''", "poster_url": "''", "metadata_source": "''"},
        "metadata_cache": {},
    }
    uniques = {"watched_folders": [["path"]], "standalone_series": [["folder_path"]],
               "standalone_movies": [["file_path"]], "metadata_cache": []}
    for table in (watched_folders, standalone_series, standalone_movies, metadata_cache):
        cols = insp.get_columns(table.name)
        assert [c["name"] for c in cols] == [c.name for c in table.columns]
        key = {c.name for c in table.primary_key}
        assert {c["name"]: c["nullable"] for c in cols if c["name"] not in key} == {
            c.name: c.nullable for c in table.columns if c.name not in key}
        for name, literal in expected_defaults[table.name].items():
            default = next(c["default"] for c in cols if c["name"] == name)
            assert default is not None and default.startswith(literal), (table.name, name, default)
        assert {i["name"]: i["column_names"] for i in insp.get_indexes(table.name)
                if not i.get("duplicates_constraint")} == {  # PostgreSQL lists the UNIQUE's index too
            i.name: [c.name for c in i.columns] for i in table.indexes}
        assert [u["column_names"] for u in insp.get_unique_constraints(table.name)] == uniques[table.name]
    with kernel.engine.begin() as conn:  # the legacy datetime('now') default, on both dialects
        conn.execute(watched_folders.insert().values(path="/raw"))
        stamp = conn.execute(select(watched_folders.c.created_at)).scalar_one()
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", stamp)


def test_legacy_rows_in_a_stamped_database(tmp_path):
    """A legacy SQLite database stamped at the baseline works with the repository unchanged."""
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    create_legacy_tables(
        url, TABLES,
        "INSERT INTO watched_folders (path, label, created_at, updated_at)"
        " VALUES ('/old', 'Old', '2025-01-01T10:00:00', '2025-01-01T10:00:00')",
        "INSERT INTO standalone_series (title, folder_path, is_anime, created_at, updated_at)"
        " VALUES ('Old', '/old/s', 1, '2025-01-01 10:00:00', '2025-01-01 10:00:00')",
        "INSERT INTO metadata_cache VALUES ('k', 'tmdb', '{}', '2025-01-01T10:00:00', '2999-01-01T10:00:00')")
    with boot(url, auto_migrate=False) as kernel:
        kernel.migrator.stamp({"standalone": "standalone_0001"})
        assert kernel.migrator.upgrade(domain="standalone") == []  # the baseline is the head
        repo = kernel.repo("standalone")
        assert repo.create_watched_folder("/old")["label"] == "Old"  # the legacy wrapper crashed here
        assert repo.upsert_watched_folder("/old", "New") == 1
        assert repo.upsert_standalone_series("New", "/old/s") == 1
        assert repo.get_standalone_series(1)["created_at"] == "2025-01-01 10:00:00"
        assert repo.get_cached_metadata("k")["response_json"] == "{}"
        assert repo.upsert_watched_folder("/new") == 2
