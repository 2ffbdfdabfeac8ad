"""Settings come from the environment, with the original flask_qed names as fallbacks."""
from __future__ import annotations

import pytest

from flask_qed.config import load_settings


def test_defaults(tmp_path):
    s = load_settings({"QED_INSTANCE_PATH": str(tmp_path)})
    assert s.broker_url == "redis://localhost:6379/0"
    assert s.store_url == f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    assert s.result_ttl == 86_400 and s.visibility_timeout > s.task_time_limit


def test_original_names_are_fallbacks():
    s = load_settings({"REDIS_HOSTNAME": "redis", "REDIS_PORT": "6380", "MONGO_SERVER": "mongo"})
    assert s.broker_url == "redis://redis:6380/0"
    assert s.store_url == "mongodb://mongo:27017/flask_qed"


def test_qed_names_win():
    s = load_settings({"QED_BROKER_URL": "amqp://guest@rabbit//", "REDIS_HOSTNAME": "redis",
                       "QED_STORE_URL": "mongodb://db/x", "MONGO_SERVER": "mongo", "QED_RESULT_TTL": "600"})
    assert (s.broker_url, s.store_url, s.result_ttl) == ("amqp://guest@rabbit//", "mongodb://db/x", 600)


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_bad_numbers_are_refused_by_name(value):
    with pytest.raises(ValueError, match="QED_RESULT_TTL"):
        load_settings({"QED_RESULT_TTL": value})


def test_unknown_store_scheme_is_refused():
    from flask_qed.stores import open_store
    with pytest.raises(ValueError, match="unsupported scheme"):
        open_store("postgres://db/x", 60)


@pytest.mark.parametrize("env,named", [
    ({"QED_JOB_LEASE": "600", "QED_RESULT_TTL": "300"}, "QED_JOB_LEASE"),
    ({"QED_TASK_TIME_LIMIT": "3600", "QED_VISIBILITY_TIMEOUT": "3600"}, "QED_VISIBILITY_TIMEOUT"),
    ({"QED_TASK_SOFT_TIME_LIMIT": "100", "QED_TASK_TIME_LIMIT": "50"}, "QED_TASK_SOFT_TIME_LIMIT"),
    ({"QED_LOG_FORMAT": "xml"}, "QED_LOG_FORMAT"),
])
def test_contradictory_settings_are_refused_at_start(env, named):
    from flask_qed.config import ConfigError
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


def test_the_visibility_timeout_defaults_past_the_time_limit():
    s = load_settings({"QED_TASK_TIME_LIMIT": "120", "QED_TASK_SOFT_TIME_LIMIT": "100"})
    assert s.visibility_timeout == 720


def test_compose_and_env_example_agree_with_the_rule():
    import re
    from tests.conftest import ROOT
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"QED_VISIBILITY_TIMEOUT:-4200\}", compose)
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if re.match(r"^QED_[A-Z_]+=", line))
    assert int(example["QED_VISIBILITY_TIMEOUT"]) > int(example["QED_TASK_TIME_LIMIT"])
    load_settings({k: v for k, v in example.items() if v})
