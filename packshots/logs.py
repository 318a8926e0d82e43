"""Structured logs: one JSON object per line (config/settings.py LOGGING), with job and team ids when known.

Any `extra={...}` given to a logging call becomes a field of its line, so `log.info("...", extra={"job_id":
job.pk, "team_id": job.team_id})` is searchable by job. `job_log(log, job)` wraps a logger so every line it
writes carries the job's and team's ids without repeating them.
"""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; whatever else a record carries came from `extra` and is logged as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, then the record's extra fields, then the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class _JobAdapter(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        kwargs["extra"] = {**self.extra, **kwargs.get("extra", {})}
        return msg, kwargs


def job_log(logger: logging.Logger, job) -> logging.LoggerAdapter:
    """`logger`, with `job_id` and `team_id` on every line (for code that logs about one job)."""
    return _JobAdapter(logger, {"job_id": job.pk, "team_id": job.team_id})
