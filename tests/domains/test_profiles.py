"""profiles domain: legacy shapes, the default-profile fallbacks, assignments, the fixes, migrations."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, delete, func, insert, inspect, select, text, update

from sublarr.core.migrate import Migrator
from sublarr.core.timeutil import now_iso, parse
from sublarr.plugins import profiles
from sublarr.plugins.profiles import (
    VALID_FORCED_PREFERENCES,
    assign_movie_profile,
    assign_series_profile,
    create_language_profile,
    delete_language_profile,
    get_all_language_profiles,
    get_default_profile,
    get_language_profile,
    get_movie_profile,
    get_movie_profile_assignments,
    get_series_missing_counts,
    get_series_profile,
    get_series_profile_assignments,
    get_series_profile_map,
    update_language_profile,
)
from sublarr.plugins.profiles.models import language_profiles as lp
from sublarr.plugins.profiles.models import movie_language_profiles as mlp
from sublarr.plugins.profiles.models import series_language_profiles as slp
from sublarr.plugins.profiles.repository import ProfilesRepository
from tests.conftest import boot
from tests.domains.rows import count
from tests.domains.schema import at_revision, compare_with_legacy, create_legacy_tables, describe, model_drift

# legacy _row_to_profile key order: table columns minus the *_json ones, parsed lists appended
PROFILE_KEYS = ["id", "name", "source_language", "source_language_name", "is_default", "created_at",
                "updated_at", "translation_backend", "forced_preference", "target_languages",
                "target_language_names", "fallback_chain"]
SYNTHETIC_KEYS = ["id", "name", "source_language", "source_language_name", "target_languages",
                  "target_language_names", "is_default", "translation_backend", "fallback_chain",
                  "forced_preference"]
LANGUAGE_SETTINGS = {"source_language": "ja", "source_language_name": "Japanese",
                     "target_language": "fr", "target_language_name": "French"}
TRICKY = ["it's \"quoted\"", "100%_done\\", "日本語 – ünïcödé 🎬", "x" * 2000]  # the longest indexed value (MAX_INDEXED_BYTES)


def raw_rows(kernel, table) -> list[dict]:
    with kernel.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()]


def assignments(kernel) -> dict:
    return kernel.repo("profiles").get_profile_assignments()


def make(name: str = "Anime", **kw) -> int:
    args = {"source_lang": "ja", "source_name": "Japanese", "target_langs": ["de", "en"],
            "target_names": ["German", "English"]} | kw
    return create_language_profile(name, **args)


# -- the seeded default profile ---------------------------------------------------------------------

def test_fresh_database_has_the_default_profile(kernel):
    (default,) = get_all_language_profiles()
    assert list(default) == PROFILE_KEYS
    assert default | {"created_at": None, "updated_at": None} == {
        "id": 1, "name": "Default", "source_language": "en", "source_language_name": "English",
        "is_default": True, "created_at": None, "updated_at": None, "translation_backend": "ollama",
        "forced_preference": "disabled", "target_languages": ["de"], "target_language_names": ["German"],
        "fallback_chain": ["ollama"]}
    assert default["created_at"] == default["updated_at"] and len(default["created_at"]) == 26
    assert get_default_profile() == default


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_default_profile_is_built_from_the_language_settings(empty_database, dialect):
    with boot(empty_database(dialect), **LANGUAGE_SETTINGS):
        default = get_default_profile()
        assert (default["id"], default["name"], default["is_default"]) == (1, "Default", True)
        assert (default["source_language"], default["source_language_name"]) == ("ja", "Japanese")
        assert (default["target_languages"], default["target_language_names"]) == (["fr"], ["French"])


def test_seed_only_fills_an_empty_table(kernel):
    repo = kernel.repo("profiles")
    kernel.migrator.downgrade("profiles_0001", domain="profiles")
    kernel.migrator.upgrade(domain="profiles")
    assert [p["name"] for p in repo.get_profiles()] == ["Default"]  # not seeded twice
    kernel.migrator.downgrade("profiles_0001", domain="profiles")
    with kernel.engine.begin() as conn:
        conn.execute(delete(lp))
        conn.execute(insert(lp).values(name="Mine", created_at=now_iso(), updated_at=now_iso()))
    kernel.migrator.upgrade(domain="profiles")
    assert [p["name"] for p in repo.get_profiles()] == ["Mine"]  # a user's profiles are left alone


def test_seed_without_a_kernel_uses_the_legacy_defaults(kernel):
    kernel.migrator.downgrade("profiles_0001", domain="profiles")
    with kernel.engine.begin() as conn:
        conn.execute(delete(lp))
    Migrator(kernel.storage, kernel.domains.values(), settings=None).upgrade(domain="profiles")
    default = get_default_profile()
    assert (default["source_language"], default["source_language_name"],
            default["target_languages"], default["target_language_names"]) == ("en", "English", ["de"], ["German"])


# -- create / read ------------------------------------------------------------------------------------

def test_create_returns_the_id_and_get_returns_the_legacy_dict(kernel):
    pid = make(translation_backend="deepl", forced_preference="separate")
    assert isinstance(pid, int) and pid == 2
    profile = get_language_profile(pid)
    assert list(profile) == PROFILE_KEYS
    assert profile | {"created_at": None, "updated_at": None} == {
        "id": pid, "name": "Anime", "source_language": "ja", "source_language_name": "Japanese",
        "is_default": False, "created_at": None, "updated_at": None, "translation_backend": "deepl",
        "forced_preference": "separate", "target_languages": ["de", "en"],
        "target_language_names": ["German", "English"], "fallback_chain": ["deepl"]}
    assert parse(profile["created_at"]) is not None and profile["created_at"] == profile["updated_at"]
    assert kernel.repo("profiles").get_profile(pid) == profile
    with kernel.engine.connect() as conn:
        stored = conn.execute(select(lp).where(lp.c.id == pid)).mappings().one()
    # lists are stored as the legacy json.dumps text
    assert (stored["target_languages_json"], stored["fallback_chain_json"], stored["is_default"]) == (
        '["de", "en"]', '["deepl"]', 0)


def test_create_with_an_explicit_fallback_chain(kernel):
    pid = kernel.repo("profiles").create_profile("Chain", "en", "English", ["de"], ["German"],
                                                 translation_backend="ollama", fallback_chain=["ollama", "deepl"])
    assert get_language_profile(pid)["fallback_chain"] == ["ollama", "deepl"]


def test_missing_profile_is_none(kernel):
    assert get_language_profile(999) is None
    assert kernel.repo("profiles").get_profile(0) is None


def test_profiles_are_listed_default_first_then_by_name_in_code_point_order(kernel):
    names = ["beta", "Alpha", "alpha", "Ärger", "_x", "Zulu"]
    for name in names:
        make(name)
    listed = [p["name"] for p in get_all_language_profiles()]
    # SQLite's BINARY order, also on a PostgreSQL database whatever its collation
    assert listed == ["Default", *sorted(names)]
    assert kernel.repo("profiles").get_profiles() == get_all_language_profiles()


@pytest.mark.parametrize("value", TRICKY)
def test_strings_round_trip_exactly(kernel, value):
    pid = make(value, source_lang=value, source_name=value, target_langs=[value, "de"],
               target_names=[value], translation_backend=value, fallback_chain=[value])
    profile = get_language_profile(pid)
    assert profile["name"] == profile["source_language"] == profile["source_language_name"] == value
    assert profile["target_languages"] == [value, "de"] and profile["fallback_chain"] == [value]
    assert profile["translation_backend"] == value


def test_invalid_forced_preference_raises_and_writes_nothing(kernel):
    assert VALID_FORCED_PREFERENCES == ("disabled", "separate", "auto")
    for bad in ("Disabled", "", None, "always"):
        with pytest.raises(ValueError, match="forced_preference"):
            make("X", forced_preference=bad)
    assert count(kernel, lp) == 1


def test_duplicate_name_raises_value_error(kernel):
    make("Anime")
    with pytest.raises(ValueError, match="exists already"):
        make("Anime", source_lang="en")
    assert count(kernel, lp) == 2
    assert get_language_profile(make("anime"))["name"] == "anime"  # case-sensitive, as the legacy UNIQUE was


@pytest.mark.parametrize("args, kwargs", [
    ((None, "en", "English", ["de"], ["German"]), {}),
    (("", "en", "English", ["de"], ["German"]), {}),
    (("A", None, "English", ["de"], ["German"]), {}),
    (("A", "en", "English", "de", ["German"]), {}),
    (("A", "en", "English", ["de", 7], ["German"]), {}),
    (("A", "en", "English", ["de"], None), {}),
    (("A\x00", "en", "English", ["de"], ["German"]), {}),
    (("A", "en", "English", ["de"], ["German"]), {"fallback_chain": "ollama"}),
    (("A", "en", "English", ["de"], ["German"]), {"translation_backend": None}),
])
def test_bad_create_input_raises_and_writes_nothing(kernel, args, kwargs):
    with pytest.raises(ValueError):
        create_language_profile(*args, **kwargs)
    assert count(kernel, lp) == 1


@pytest.mark.parametrize("bad_id", ["1", None, 1.0, True])
def test_bad_ids_raise_value_error(kernel, bad_id):
    for call in (get_language_profile, delete_language_profile, get_series_profile, get_movie_profile,
                 kernel.repo("profiles").remove_series_profile):
        with pytest.raises(ValueError):
            call(bad_id)
    with pytest.raises(ValueError):
        assign_series_profile(1, bad_id)
    with pytest.raises(ValueError):
        update_language_profile(bad_id, name="x")


def test_racing_creates_of_one_name_make_one_profile(kernel):
    def attempt(_):
        try:
            return make("Race")
        except ValueError:
            return None

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(attempt, range(16)))
    assert len([i for i in ids if i is not None]) == 1
    assert [p["name"] for p in get_all_language_profiles()].count("Race") == 1


# -- update -------------------------------------------------------------------------------------------

def test_update_sets_fields_and_updated_at(kernel):
    pid = make()
    before = get_language_profile(pid)
    assert kernel.repo("profiles").update_profile(
        pid, name="Renamed", target_languages=["fr"], target_language_names=["French"],
        fallback_chain=["deepl", "ollama"], translation_backend="deepl", forced_preference="auto",
        source_language="en", source_language_name="English") is True
    after = get_language_profile(pid)
    assert after | {"updated_at": None} == before | {
        "name": "Renamed", "target_languages": ["fr"], "target_language_names": ["French"],
        "fallback_chain": ["deepl", "ollama"], "translation_backend": "deepl", "forced_preference": "auto",
        "source_language": "en", "source_language_name": "English", "updated_at": None}
    assert after["updated_at"] > before["updated_at"] and after["created_at"] == before["created_at"]


def test_update_language_profile_is_update_profile(kernel):
    assert ProfilesRepository.update_language_profile is ProfilesRepository.update_profile
    pid = make()
    assert update_language_profile(pid, name="Legacy name") is True
    assert get_language_profile(pid)["name"] == "Legacy name"


def test_update_of_a_missing_profile_is_false(kernel):
    assert update_language_profile(999, name="x") is False
    assert count(kernel, lp) == 1


def test_update_without_fields_changes_nothing(kernel):
    pid = make()
    before = raw_rows(kernel, lp)
    assert update_language_profile(pid) is True
    assert update_language_profile(999) is False
    assert raw_rows(kernel, lp) == before


def test_update_with_unknown_fields_raises_naming_them_and_writes_nothing(kernel):
    pid = make()
    before = raw_rows(kernel, lp)
    # the legacy function silently ignored unknown keys (and wrote the known ones)
    with pytest.raises(ValueError, match="is_default, target_languages_json"):
        update_language_profile(pid, name="New", is_default=1, target_languages_json="[]")
    assert raw_rows(kernel, lp) == before


@pytest.mark.parametrize("fields", [
    {"forced_preference": "sometimes"}, {"name": None}, {"name": ""}, {"target_languages": "de"},
    {"fallback_chain": [1]}, {"translation_backend": 3},
])
def test_update_with_bad_values_raises_and_writes_nothing(kernel, fields):
    pid = make()
    before = raw_rows(kernel, lp)
    with pytest.raises(ValueError):
        update_language_profile(pid, source_language="xx", **fields)
    assert raw_rows(kernel, lp) == before


def test_update_to_a_taken_name_raises_value_error(kernel):
    pid = make("One")
    make("Two")
    with pytest.raises(ValueError, match="exists already"):
        update_language_profile(pid, name="Two")
    assert get_language_profile(pid)["name"] == "One"


# -- delete and the cascade ---------------------------------------------------------------------------

def test_delete_removes_the_profile_and_its_assignments(kernel):
    pid, other = make("A"), make("B")
    assign_series_profile(10, pid)
    assign_series_profile(11, other)
    assign_movie_profile(20, pid)
    assert delete_language_profile(pid) is True
    assert get_language_profile(pid) is None
    assert get_series_profile_assignments() == {11: other}
    assert get_movie_profile_assignments() == {}
    assert delete_language_profile(pid) is False


def test_the_cascade_is_enforced_by_the_database(kernel):
    # a plain DELETE, not the repository: the foreign key removes the assignments
    pid = make()
    assign_series_profile(1, pid)
    assign_movie_profile(2, pid)
    with kernel.engine.begin() as conn:
        conn.execute(delete(lp).where(lp.c.id == pid))
    assert count(kernel, slp) == count(kernel, mlp) == 0


def test_default_profile_cannot_be_deleted(kernel):
    assign_series_profile(1, 1)
    assert kernel.repo("profiles").delete_profile(1) is False
    assert get_default_profile()["id"] == 1 and get_series_profile_assignments() == {1: 1}


def test_missing_profile_delete_is_false(kernel):
    assert delete_language_profile(12345) is False


# -- default profile fallbacks ------------------------------------------------------------------------

def test_default_falls_back_to_the_lowest_id_then_to_a_synthetic_dict(kernel, make_kernel):
    b = make("B")
    make("A")
    with kernel.engine.begin() as conn:
        conn.execute(update(lp).values(is_default=0))
        conn.execute(delete(lp).where(lp.c.id == 1))
    assert get_default_profile()["id"] == b  # lowest id, not the first name
    with kernel.engine.begin() as conn:
        conn.execute(delete(lp))
    synthetic = get_default_profile()
    assert list(synthetic) == SYNTHETIC_KEYS
    assert synthetic == {"id": 0, "name": "Default", "source_language": "en", "source_language_name": "English",
                         "target_languages": ["de"], "target_language_names": ["German"], "is_default": True,
                         "translation_backend": "ollama", "fallback_chain": ["ollama"],
                         "forced_preference": "disabled"}
    other = make_kernel(**LANGUAGE_SETTINGS)
    assert other.repo("profiles").get_default_profile() == synthetic | {
        "source_language": "ja", "source_language_name": "Japanese", "target_languages": ["fr"],
        "target_language_names": ["French"]}
    assert get_series_profile(5)["id"] == get_movie_profile(5)["id"] == 0


def test_is_default_flag_wins_over_lower_ids(kernel):
    make("A")
    pid = make("B")
    with kernel.engine.begin() as conn:
        conn.execute(update(lp).values(is_default=0))
        conn.execute(update(lp).where(lp.c.id == pid).values(is_default=1))
    assert get_default_profile()["id"] == pid
    assert get_all_language_profiles()[0]["id"] == pid


# -- assignments --------------------------------------------------------------------------------------

def test_series_and_movie_profiles_fall_back_to_the_default(kernel):
    pid = make()
    assign_series_profile(7, pid)
    assign_movie_profile(8, pid)
    assert get_series_profile(7) == get_language_profile(pid)
    assert get_movie_profile(8) == get_language_profile(pid)
    assert get_series_profile(8) == get_movie_profile(7) == get_default_profile()


def test_assigning_again_replaces_the_assignment(kernel):
    a, b = make("A"), make("B")
    repo = kernel.repo("profiles")
    repo.set_series_profile(1, a)
    repo.set_series_profile(1, b)
    repo.set_movie_profile(1, a)
    assign_movie_profile(1, b)
    assert repo.get_profile_assignments() == {"series": {1: b}, "movies": {1: b}}
    assert count(kernel, slp) == count(kernel, mlp) == 1


def test_assigning_an_unknown_profile_raises_and_keeps_the_old_assignment(kernel):
    pid = make()
    assign_series_profile(1, pid)
    with pytest.raises(ValueError, match="unknown language profile id 999"):
        assign_series_profile(1, 999)
    with pytest.raises(ValueError, match="unknown"):
        assign_movie_profile(2, 0)
    assert assignments(kernel) == {"series": {1: pid}, "movies": {}}


def test_remove_assignments(kernel):
    repo = kernel.repo("profiles")
    assign_series_profile(1, 1)
    assign_movie_profile(1, 1)
    assert repo.remove_series_profile(1) is True and repo.remove_series_profile(1) is False
    assert repo.remove_movie_profile(1) is True and repo.remove_movie_profile(2) is False
    assert repo.get_profile_assignments() == {"series": {}, "movies": {}}


def test_assignment_maps(kernel):
    a, b = make("A"), make("B")
    for series, pid in ((30, a), (10, b), (20, a)):
        assign_series_profile(series, pid)
    assign_movie_profile(5, b)
    assert list(get_series_profile_assignments().items()) == [(10, b), (20, a), (30, a)]
    assert get_movie_profile_assignments() == {5: b}
    assert get_series_profile_map() == {10: {"profile_id": b, "profile_name": "B"},
                                        20: {"profile_id": a, "profile_name": "A"},
                                        30: {"profile_id": a, "profile_name": "A"}}
    assert kernel.repo("profiles").get_profile_assignments() == {
        "series": {10: b, 20: a, 30: a}, "movies": {5: b}}


def test_empty_assignment_maps(kernel):
    assert get_series_profile_assignments() == get_movie_profile_assignments() == get_series_profile_map() == {}


def test_series_missing_counts_count_wanted_items_per_series(kernel):
    from sublarr.plugins.wanted.models import wanted_items as wanted

    now = now_iso()
    rows = [(1, "wanted"), (1, "wanted"), (1, "ignored"), (2, "wanted"), (None, "wanted"), (3, "failed")]
    with kernel.engine.begin() as conn:
        for i, (series, status) in enumerate(rows):
            conn.execute(insert(wanted).values(item_type="episode", file_path=f"/tv/{i}.mkv", status=status,
                                               sonarr_series_id=series, added_at=now, updated_at=now))
    assert get_series_missing_counts() == {1: 2, 2: 1}
    assert kernel.repo("profiles").get_series_missing_counts() == {1: 2, 2: 1}


def test_package_exports_both_name_sets():
    legacy = {"create_language_profile", "get_language_profile", "get_all_language_profiles",
              "update_language_profile", "delete_language_profile", "get_default_profile", "get_series_profile",
              "get_movie_profile", "assign_series_profile", "assign_movie_profile",
              "get_series_profile_assignments", "get_movie_profile_assignments", "get_series_profile_map",
              "get_series_missing_counts", "VALID_FORCED_PREFERENCES"}
    repository = {"create_profile", "get_profiles", "get_profile", "update_profile", "delete_profile",
                  "set_series_profile", "set_movie_profile", "remove_series_profile", "remove_movie_profile",
                  "get_profile_assignments"}
    assert set(profiles.__all__) == legacy | repository
    assert ProfilesRepository.assign_series_profile is ProfilesRepository.set_series_profile
    assert ProfilesRepository.delete_language_profile is ProfilesRepository.delete_profile


# -- migrations ---------------------------------------------------------------------------------------

TABLES = ("language_profiles", "series_language_profiles", "movie_language_profiles")


def test_sqlite_baseline_reproduces_the_legacy_tables(empty_database):
    compared = compare_with_legacy(empty_database, TABLES, "profiles", "profiles_0001")
    assert compared.ours == compared.legacy
    assert compared.autoincrement("language_profiles")
    engine = create_engine(compared.url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(lp)).scalar() == 0  # seeding is not baseline
    engine.dispose()


def test_postgresql_baseline_has_the_legacy_columns(empty_database):
    url = empty_database("postgresql")
    at_revision(url, "profiles", "profiles_0001").close()
    described = describe(url, "language_profiles")
    assert [c[:3] for c in described["columns"]] == [
        ("id", "INTEGER", False), ("name", "TEXT", False), ("source_language", "TEXT", False),
        ("source_language_name", "TEXT", False), ("target_languages_json", "TEXT", False),
        ("target_language_names_json", "TEXT", False), ("is_default", "INTEGER", False),
        ("created_at", "TEXT", False), ("updated_at", "TEXT", False), ("translation_backend", "TEXT", True),
        ("fallback_chain_json", "TEXT", True), ("forced_preference", "TEXT", True)]
    defaults = [c[3] for c in described["columns"]]
    assert defaults[0].startswith("nextval(")
    assert defaults[2:7] == ["'en'::text", "'English'::text", "'[\"de\"]'::text", "'[\"German\"]'::text", "0"]
    assert "now()" in defaults[7] and "now()" in defaults[8]
    assert defaults[9:] == ["'ollama'::text", "'[\"ollama\"]'::text", "'disabled'::text"]
    assert described["unique"] == [["name"]]
    for table, key in (("series_language_profiles", "sonarr_series_id"), ("movie_language_profiles", "radarr_movie_id")):
        assigned = describe(url, table)
        assert [c[:3] for c in assigned["columns"]] == [(key, "INTEGER", False), ("profile_id", "INTEGER", False)]
        assert assigned["columns"][0][3] is None  # no sequence: ids come from Sonarr/Radarr
        assert assigned["fks"] == [(["profile_id"], "language_profiles", ["id"], "CASCADE")]


def test_legacy_now_default_fills_the_timestamps(kernel):
    with kernel.engine.begin() as conn:
        conn.execute(insert(lp).values(name="raw"))
        created = conn.execute(select(lp.c.created_at).where(lp.c.name == "raw")).scalar()
    assert len(created) == 19 and created[10] == " "  # the legacy datetime('now') format


def test_head_indexes_the_assignments(kernel):
    for table in TABLES[1:]:
        described = describe(kernel.database_url, table)
        assert described["indexes"] == [(f"idx_{table}_profile_id", ["profile_id"], False)]
        assert described["fks"] == [(["profile_id"], "language_profiles", ["id"], "CASCADE")]


def test_models_describe_the_head_schema(kernel):
    assert model_drift(kernel, TABLES, server_defaults=True) == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_empty_to_head_to_base_to_head(empty_database, dialect):
    with boot(empty_database(dialect)) as k:
        assert k.migrator.current()["profiles"] == k.migrator.heads()["profiles"] == "profiles_0003"
        assign_series_profile(1, make())
        k.migrator.downgrade("base", domain="profiles")
        assert k.migrator.current()["profiles"] is None
        assert not set(TABLES) & set(inspect(k.engine).get_table_names())
        k.migrator.upgrade(domain="profiles")
        assert k.migrator.current()["profiles"] == "profiles_0003"
        assert [p["name"] for p in get_all_language_profiles()] == ["Default"]
        assert assignments(k) == {"series": {}, "movies": {}}
        k.migrator.downgrade("profiles_0002", domain="profiles")
        assert describe(k.database_url, "series_language_profiles")["indexes"] == []
        k.migrator.upgrade(domain="profiles")
        assert make() == 2


def test_legacy_sqlite_database_is_adopted_with_its_profiles(empty_database):
    url = empty_database("sqlite")
    now = "2024-01-01T10:00:00"
    create_legacy_tables(url, TABLES, f"""
        INSERT INTO language_profiles (name, is_default, created_at, updated_at) VALUES ('Default', 1, '{now}', '{now}');
        INSERT INTO language_profiles (name, created_at, updated_at) VALUES ('Kept', '{now}', '{now}');
        INSERT INTO series_language_profiles VALUES (1, 2);
        INSERT INTO series_language_profiles VALUES (2, 3);
        INSERT INTO movie_language_profiles VALUES (5, 9);
        INSERT INTO movie_language_profiles VALUES (6, 1)""")  # profiles 3 and 9 were deleted long ago
    with boot(url) as k:  # adopted at boot: rebuilt at the baseline, rows copied, upgraded to head
        assert k.migrator.current()["profiles"] == "profiles_0003"
        assert [p["name"] for p in get_all_language_profiles()] == ["Default", "Kept"]  # no second Default
        assert assignments(k) == {"series": {1: 2}, "movies": {6: 1}}
        assert describe(url, "series_language_profiles")["fks"] == [
            (["profile_id"], "language_profiles", ["id"], "CASCADE")]
        assert delete_language_profile(2) is True
        assert get_series_profile_assignments() == {}
        assert make() == 3  # ids continue after the legacy ones


def test_a_key_without_cascade_is_rebuilt_on_sqlite(empty_database):
    url = empty_database("sqlite")
    k = at_revision(url, "profiles", "profiles_0002")
    try:
        with k.engine.connect() as conn:  # rebuild the table as a copy without the cascade would be
            raw = conn.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys=OFF")
            raw.executescript("""
                DROP TABLE series_language_profiles;
                CREATE TABLE series_language_profiles (sonarr_series_id INTEGER PRIMARY KEY,
                    profile_id INTEGER NOT NULL REFERENCES language_profiles(id));
                INSERT INTO series_language_profiles VALUES (1, 1);
                INSERT INTO series_language_profiles VALUES (2, 42);""")
            raw.execute("PRAGMA foreign_keys=ON")
        k.migrator.upgrade(domain="profiles")
        described = describe(url, "series_language_profiles")
        assert described["fks"] == [(["profile_id"], "language_profiles", ["id"], "CASCADE")]
        assert get_series_profile_assignments() == {1: 1}
        pid = make()
        assign_series_profile(3, pid)
        delete_language_profile(pid)
        assert get_series_profile_assignments() == {1: 1}
    finally:
        k.close()


def test_a_missing_key_is_restored_on_postgresql(empty_database):
    url = empty_database("postgresql")
    k = at_revision(url, "profiles", "profiles_0002")
    try:
        with k.engine.begin() as conn:
            for table in TABLES[1:]:
                conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT fk_{table}_profile_id_language_profiles"))
            conn.execute(text("INSERT INTO series_language_profiles VALUES (1, 1), (2, 42)"))
            conn.execute(text("INSERT INTO movie_language_profiles VALUES (7, 43)"))
        k.migrator.upgrade(domain="profiles")
        for table in TABLES[1:]:
            assert describe(url, table)["fks"] == [(["profile_id"], "language_profiles", ["id"], "CASCADE")]
        assert assignments(k) == {"series": {1: 1}, "movies": {}}
        with pytest.raises(ValueError):
            assign_movie_profile(7, 43)
    finally:
        k.close()


def test_downgrade_keeps_the_seeded_profile_and_assignments(kernel):
    pid = make()
    assign_series_profile(1, pid)
    kernel.migrator.downgrade("profiles_0001", domain="profiles")
    with kernel.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(lp)).scalar() == 2
        assert json.loads(conn.execute(select(lp.c.target_languages_json).where(lp.c.id == 1)).scalar()) == ["de"]
    kernel.migrator.upgrade(domain="profiles")
    assert get_series_profile_assignments() == {1: pid}
