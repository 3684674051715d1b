"""Python Celery client -> Swift worker."""
import pytest


def test_add(celery_client, swift_worker):
    res = celery_client.send_task("tasks.add", args=[20, 22], queue="celery")
    assert res.get(timeout=30) == 42
    assert res.status == "SUCCESS"


def test_echo_round_trips_json(celery_client, swift_worker):
    value = {"s": "Zoë 😀 名前", "n": [1, 2.5, None, True], "nested": {"k": []}}
    res = celery_client.send_task("tasks.echo", args=[value], queue="celery")
    assert res.get(timeout=30) == value


def test_ten_megabyte_payload_round_trips(celery_client, swift_worker):
    """Issue 6: a 10 MB argument reaches the Swift worker and its result comes back intact."""
    unit = 'text "quoted" back\\slash \t é € 😀 '
    value = unit * (10 * 1024 * 1024 // len(unit.encode()) + 1)
    assert len(value.encode()) >= 10 * 1024 * 1024
    res = celery_client.send_task("tasks.echo", args=[value], queue="celery")
    assert res.get(timeout=60) == value


def test_fail_raises_value_error(celery_client, swift_worker):
    res = celery_client.send_task("tasks.fail", args=["bad"], queue="celery")
    with pytest.raises(ValueError) as excinfo:
        res.get(timeout=30)
    assert type(excinfo.value) is ValueError
    assert excinfo.value.args == ("bad",)
    assert res.status == "FAILURE"
    assert isinstance(res.traceback, str) and res.traceback.strip(), res.traceback
