from sqlalchemy import Engine, inspect

from patron import migrations


def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    # given a database migrated to head (the fixture), when compared with the models
    drift = migrations.schema_drift(engine)

    # then nothing differs
    assert drift == []


def test_migrations_create_the_foundation_tables(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())

    assert {
        "sources",
        "events",
        "failed_events",
        "source_records",
        "products",
        "orders",
        "order_lines",
        "carts",
    } <= tables


def test_downgrade_to_base_and_back_up(database_url: str, engine: Engine) -> None:
    migrations.downgrade(database_url, "base")
    assert "events" not in inspect(engine).get_table_names()

    migrations.upgrade(database_url)

    assert "events" in inspect(engine).get_table_names()
    assert migrations.schema_drift(engine) == []
