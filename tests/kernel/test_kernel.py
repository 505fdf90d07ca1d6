"""The Kernel object: boot, driver selection, transactions, the active kernel, events, close."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import column, select, text
from sqlalchemy import table as sa_table

import sublarr
from sublarr import Kernel, hookimpl
from sublarr.core.errors import NoActiveKernel, SettingsError
from tests.conftest import boot


def test_boot_on_sqlite_default_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Kernel.boot(settings_files=[], entry_points=False) as kernel:
        assert kernel.database_url == "sqlite:///sublarr.db"
        assert kernel.storage.name == "sqlite"
        assert (kernel.cache.name, kernel.queue.name) == ("memory", "memory")
        info = kernel.storage.describe()
        assert info["journal_mode"] == "wal"
        assert info["foreign_keys"] == "on"
        assert info["busy_timeout_ms"] == 5000
        assert info["synchronous"] == "NORMAL"
    assert (tmp_path / "sublarr.db").exists()


def test_every_sqlite_connection_gets_the_pragmas(tmp_path):
    with boot(f"sqlite:///{tmp_path / 'p.db'}", db_busy_timeout_ms=1234) as kernel:
        reader = kernel.engine.execution_options(**kernel.storage.read_options())
        conns = [reader.connect() for _ in range(3)]  # three distinct pooled connections
        for conn in conns:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        for conn in conns:
            conn.close()


def test_postgresql_pool_from_settings(pg_server, empty_database):
    url = empty_database("postgresql")
    with boot(url, db_pool_size=3, db_pool_max_overflow=4, db_pool_recycle=120) as kernel:
        assert kernel.storage.name == "postgresql"
        info = kernel.storage.describe()
        assert info["pool"] == "QueuePool"
        assert (info["pool_size"], info["max_overflow"], info["pool_recycle"], info["pre_ping"]) == (3, 4, 120, True)
        pool = kernel.engine.pool
        assert pool.size() == 3 and pool._max_overflow == 4 and pool._recycle == 120 and pool._pre_ping
        assert "sublarr" not in repr(info) or "password" not in repr(info)


def test_psycopg2_url_variant(pg_server, empty_database):
    url = empty_database("postgresql").replace("postgresql://", "postgresql+psycopg2://")
    with boot(url) as kernel:
        assert kernel.storage.name == "postgresql"


def test_postgresql_tables_vacuumed_and_analysed_after_a_bulk_scan(pg_server, empty_database):
    """A scan of thousands of wanted items is planned with fresh statistics, and a re-scan leaves no dead
    row versions and a full visibility map, at once rather than when autovacuum gets round to it (the
    effect on deep pages at 100k rows is measured in bench W2)."""
    items = [{"item_type": "episode", "file_path": f"/tv/Show/S01E{i:05d}.mkv"} for i in range(3000)]
    state = text("SELECT reltuples, relpages, relallvisible FROM pg_class WHERE oid = 'wanted_items'::regclass")
    with boot(empty_database("postgresql")) as kernel:
        wanted = kernel.repo("wanted")

        def table():
            with kernel.engine.connect() as conn:
                return conn.execute(state).one()

        wanted.upsert_wanted_items(items[:10])  # small writes leave upkeep to autovacuum
        assert table().reltuples < 10 and table().relallvisible == 0
        for _scan in range(2):  # the first inserts, the second updates every row
            wanted.upsert_wanted_items(items)
            tuples, pages, visible = table()
            assert tuples == 3000 and 0 < pages == visible


def test_table_upkeep_failure_is_logged_not_raised(pg_server, empty_database, caplog):
    with boot(empty_database("postgresql")) as kernel:
        kernel.storage.after_bulk_write("no_such_table", 5000)  # unknown table: nothing to do
        assert caplog.text == ""
        kernel.storage.after_bulk_write('wanted_items"; DROP TABLE "wanted_items', 5000)
        assert "VACUUM ANALYZE" in caplog.text and "after a bulk write failed" in caplog.text
        assert kernel.repo("wanted").get_wanted_count() == 0  # nothing dropped


@pytest.mark.parametrize(("overrides", "cache", "queue"), [
    ({}, "memory", "memory"),
    ({"redis_url": "REDIS"}, "redis", "rq"),
    ({"redis_url": "REDIS", "redis_cache_enabled": False}, "memory", "rq"),
    ({"redis_url": "REDIS", "redis_queue_enabled": False}, "redis", "memory"),
    ({"redis_url": "REDIS", "redis_cache_enabled": False, "redis_queue_enabled": False}, "memory", "memory"),
    ({"redis_url": "REDIS", "cache_driver": "memory"}, "memory", "rq"),
    ({"redis_url": "REDIS", "queue_driver": "memory"}, "redis", "memory"),
    ({"redis_url": "", "redis_cache_enabled": True}, "memory", "memory"),
])
def test_driver_selection(tmp_path, redis_url, overrides, cache, queue):
    overrides = {k: (redis_url if v == "REDIS" else v) for k, v in overrides.items()}
    with boot(f"sqlite:///{tmp_path / 'd.db'}", **overrides) as kernel:
        assert (kernel.cache.name, kernel.queue.name) == (cache, queue)


def test_forcing_redis_without_url_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="setting 'cache_driver'.*redis_url"):
        boot(f"sqlite:///{tmp_path / 'd.db'}", cache_driver="redis")


@pytest.mark.parametrize(("overrides", "setting", "fragment"), [
    ({"cache_driver": "nope"}, "cache_driver", "unknown cache driver 'nope' (available: memory, redis)"),
    ({"queue_driver": "nope"}, "queue_driver", "unknown queue driver 'nope'"),
    # mysql:// is served by the mariadb driver: a scheme that no driver serves
    ({"database_url": "oracle://u:topsecret@h/db"}, "database_url", "unsupported database scheme 'oracle'"),
])
def test_bad_driver_settings(tmp_path, overrides, setting, fragment):
    overrides.setdefault("database_url", f"sqlite:///{tmp_path / 'd.db'}")
    with pytest.raises(SettingsError) as err:
        Kernel.boot(settings_files=[], entry_points=False, redis_url="", **overrides)
    assert err.value.setting == setting
    assert fragment in str(err.value)
    assert "topsecret" not in str(err.value)


def test_unreachable_postgresql_is_a_settings_error():
    url = "postgresql://sublarr:pa55-word-x@127.0.0.1:1/sublarr"
    with pytest.raises(SettingsError) as err:
        boot(url, db_connect_timeout=2)
    assert err.value.setting == "database_url"
    assert "cannot connect to postgresql://sublarr:***@127.0.0.1:1/sublarr" in str(err.value)
    assert "pa55-word-x" not in str(err.value)


def test_active_kernel_is_the_last_booted(tmp_path):
    a = boot(f"sqlite:///{tmp_path / 'a.db'}")
    b = boot(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        assert sublarr.active_kernel() is b
        b.close()
        assert sublarr.active_kernel() is a
    finally:
        a.close()
        b.close()


def test_no_active_kernel_is_a_clear_error(tmp_path):
    from sublarr.plugins.config import get_config_entry

    kernel = boot(f"sqlite:///{tmp_path / 'a.db'}")
    kernel.close()
    kernel.close()  # idempotent
    with pytest.raises(NoActiveKernel, match="Kernel.boot"):
        get_config_entry("x")


def test_transaction_commits_and_rolls_back(kernel):
    # a lightweight table: SQLAlchemy quotes "key" (a reserved word on MariaDB) for each engine
    entries = sa_table("config_entries", column("key"), column("value"), column("updated_at"))
    with kernel.transaction() as session:
        session.execute(entries.insert().values(key="a", value="1", updated_at="t"))
    with pytest.raises(RuntimeError):
        with kernel.transaction() as session:
            session.execute(entries.insert().values(key="b", value="2", updated_at="t"))
            raise RuntimeError("boom")
    with kernel.transaction() as session:
        keys = session.execute(select(entries.c.key).order_by(entries.c.key)).scalars().all()
    assert keys == ["a"]


def test_repo_of_unknown_domain(kernel):
    with pytest.raises(KeyError, match="no domain 'nope'"):
        kernel.repo("nope")
    assert kernel.repo("config") is kernel.repo("config")


def test_repo_typed_by_kind(kernel):
    from sublarr.plugins.config.repository import ConfigRepository
    from sublarr.plugins.wanted.repository import WantedRepository

    assert kernel.repo("config", ConfigRepository) is kernel.repo("config")
    with pytest.raises(TypeError, match="ConfigRepository, not a WantedRepository"):
        kernel.repo("config", WantedRepository)


class Listener:
    def __init__(self):
        self.seen = []

    @hookimpl
    def sublarr_event(self, event, payload):
        self.seen.append((event, payload))


class BrokenListener:
    @hookimpl
    def sublarr_event(self, event):
        raise RuntimeError("listener bug")


def test_emit_reaches_plugins_and_survives_broken_listeners(tmp_path, caplog):
    listener = Listener()
    with boot(f"sqlite:///{tmp_path / 'e.db'}", extra_plugins=[BrokenListener(), listener]) as kernel:
        with caplog.at_level(logging.ERROR):
            kernel.emit("subtitle_downloaded", {"file_path": "/tv/a.mkv"})
        assert listener.seen == [("subtitle_downloaded", {"file_path": "/tv/a.mkv"})]
        assert "listener bug" in caplog.text
        with pytest.raises(ValueError, match="unknown event 'nope'"):
            kernel.emit("nope", {})
        with pytest.raises(ValueError, match="payload must be a dict"):
            kernel.emit("subtitle_downloaded", ["x"])


def test_repr_and_plugins_listing(kernel):
    assert "storage=" in repr(kernel)
    names = {i.name for i in kernel.plugins.loaded()}
    assert {"sqlite", "postgresql", "memory-cache", "redis-cache", "memory-queue", "rq-queue", "config"} <= names


def test_maintenance_removes_only_expired_cache_rows(kernel):
    providers = kernel.repo("providers")
    providers.cache_provider_results("p", "fresh", "[]", ttl_hours=1)
    providers.cache_provider_results("p", "stale", "[]", ttl_hours=0)  # expires at once
    standalone = kernel.repo("standalone")
    standalone.cache_metadata("tmdb:tv:1", "tmdb", "{}", ttl_days=1)
    standalone.cache_metadata("tmdb:tv:2", "tmdb", "{}", ttl_days=0)
    kernel.maintain()
    assert providers.get_cached_results("p", "fresh") == "[]"
    assert providers.get_provider_cache_stats() == {"p": {"total": 1, "active": 1}}
    assert standalone.get_cached_metadata("tmdb:tv:1") is not None
    assert standalone.clear_expired_metadata_cache() == 0
