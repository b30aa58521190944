"""The log: one line per event, no traceback for an expected 403 or 404."""

import io
import logging

import pytest


def _console_handlers_reached(name: str) -> list[logging.StreamHandler]:
    """The plain StreamHandlers (the configured consoles, not pytest's capture handlers) that a
    record logged on `name` reaches."""
    reached, logger = [], logging.getLogger(name)
    while logger is not None:
        reached += [h for h in logger.handlers if type(h) is logging.StreamHandler]
        logger = logger.parent if logger.propagate else None
    return reached


@pytest.fixture
def console(settings):
    settings.DEBUG = True  # `make run`: Django's own console handler is on too
    buffer = io.StringIO()
    handlers = _console_handlers_reached("django.request")
    streams = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, streams, strict=True):
        handler.setStream(stream)


def test_a_403_is_logged_once_without_a_traceback(client, project, labeler_a, console, caplog):
    client.force_login(labeler_a)
    with caplog.at_level(logging.INFO):
        assert client.get(f"/projects/{project.slug}/settings/").status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelname, r.exc_info) for r in records] == [("WARNING", None)]
    output = console.getvalue()
    assert output.count("Forbidden") == 1, output
    assert "Traceback" not in output


def test_a_404_is_logged_once_without_a_traceback(client, labeler_a, console, caplog):
    client.force_login(labeler_a)
    with caplog.at_level(logging.INFO):
        assert client.get("/projects/no-such-project/").status_code == 404
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelname, r.exc_info) for r in records] == [("WARNING", None)]
    output = console.getvalue()
    assert output.count("Not Found") == 1, output
    assert "Traceback" not in output


def test_an_error_still_gets_its_traceback(console):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("django.request").exception("Internal Server Error: /x/")
    output = console.getvalue()
    assert output.count("Internal Server Error") == 1
    assert "Traceback" in output and "ValueError: boom" in output
