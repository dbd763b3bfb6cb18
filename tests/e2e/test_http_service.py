"""The HTTP service's own contract: what a caller is told when the service fails."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aidflow import AidFlow, Office
from aidflow.http.app import create_app
from tests.builders import register_staff


def test_an_internal_error_tells_the_caller_nothing_of_the_inside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug's exception may quote SQL or a student's data: the caller gets an incident number,
    the service's log the exception."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    flow = AidFlow.open(url)
    register_staff(flow)
    flow.close()
    with Office.open(url) as office:
        token = office.issue_token("clerk", actor="admin").token
    app = create_app(url)
    office = app.state.office

    def broken() -> object:
        raise RuntimeError("SELECT wrapped FROM aidflow_data_keys WHERE key_id = '5203...'")

    office.funds = broken
    with TestClient(app, raise_server_exceptions=False) as http, caplog.at_level(logging.ERROR):
        response = http.get("/funds", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500
    error = response.json()["error"]
    incident = error["ids"]["incident"]
    assert error["code"] == "internal_error" and incident in error["message"]
    assert "SELECT" not in response.text and "RuntimeError" not in response.text
    assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)
