"""JSON log lines: extra fields (job and team ids) become fields; exceptions are kept."""

import json
import logging

import pytest

from packshots.logs import JsonFormatter, job_log
from tests import factories


def _line(record: logging.LogRecord) -> dict:
    return json.loads(JsonFormatter().format(record))


def _capture(logger_name: str):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, records, handler


def test_a_record_becomes_one_json_line_with_its_extra_fields():
    logger, records, handler = _capture("tests.ops.extra")
    try:
        logger.warning("Output %s failed", 3, extra={"job_id": 7, "team_id": 2, "when": object()})
    finally:
        logger.removeHandler(handler)

    formatted = JsonFormatter().format(records[0])
    line = json.loads(formatted)
    assert "\n" not in formatted
    assert line["message"] == "Output 3 failed" and line["level"] == "WARNING"
    assert line["logger"] == "tests.ops.extra" and line["time"].endswith("+00:00")
    assert line["job_id"] == 7 and line["team_id"] == 2
    assert line["when"].startswith("<object object")  # not JSON: written as text, never a crash


def test_an_exception_is_kept_in_the_line():
    logger, records, handler = _capture("tests.ops.exc")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("It broke")
    finally:
        logger.removeHandler(handler)

    line = _line(records[0])
    assert line["level"] == "ERROR" and "ValueError: boom" in line["exc"]


@pytest.mark.django_db
def test_job_log_puts_the_job_and_team_ids_on_every_line(team, member):
    job = factories.make_job(team=team)
    logger, records, handler = _capture("tests.ops.job")
    try:
        job_log(logger, job).info("Rendered", extra={"result_id": 4})
    finally:
        logger.removeHandler(handler)

    line = _line(records[0])
    assert (line["job_id"], line["team_id"], line["result_id"]) == (job.pk, team.pk, 4)


def test_the_settings_log_json_lines_by_default(settings):
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "json"
    assert settings.LOGGING["formatters"]["json"]["()"] == "packshots.logs.JsonFormatter"
