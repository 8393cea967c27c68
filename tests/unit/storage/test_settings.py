import pytest

from patron.settings import Environment, InsecureSettingsError, Settings


def test_development_accepts_the_default_secret() -> None:
    settings = Settings(environment=Environment.DEVELOPMENT)

    assert settings.database_url.startswith("sqlite:///")


@pytest.mark.parametrize("environment", [Environment.TEST, Environment.PRODUCTION])
def test_default_secret_refused_outside_development(environment: Environment) -> None:
    with pytest.raises(InsecureSettingsError, match="PATRON_SECRET_KEY"):
        Settings(environment=environment)


def test_settings_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATRON_DATABASE_URL", "postgresql://db.example/patron")
    monkeypatch.setenv("PATRON_ENVIRONMENT", "production")
    monkeypatch.setenv("PATRON_SECRET_KEY", "a-real-secret")
    monkeypatch.setenv("PATRON_ADMIN_TOKEN", "a-real-admin-token")

    settings = Settings()

    assert settings.database_url == "postgresql://db.example/patron"
    assert settings.environment is Environment.PRODUCTION


def test_production_refuses_an_open_admin_api() -> None:
    with pytest.raises(InsecureSettingsError, match="PATRON_ADMIN_TOKEN"):
        Settings(environment=Environment.PRODUCTION, secret_key="a-real-secret")
