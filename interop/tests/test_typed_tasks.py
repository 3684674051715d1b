"""Typed Swift tasks (TypedTask) called from Python as any Celery task: positional and keyword
arguments bound by name, optional parameters, TypeError for wrong calls, and kombu's typed values
(datetime, UUID, Decimal, bytes) in both directions."""
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

QUEUE = "celery"


def call(app, name, *args, **kwargs):
    return app.send_task(name, args=list(args), kwargs=kwargs, queue=QUEUE).get(timeout=10)


def test_arguments_by_position_by_name_and_mixed(celery_client, swift_worker):
    assert call(celery_client, "typed.add", 2, 3) == 5
    assert call(celery_client, "typed.add", x=2, y=3) == 5
    assert call(celery_client, "typed.add", 2, y=3, z=10) == 15
    assert call(celery_client, "typed.add", 2, 3, None) == 5


@pytest.mark.parametrize("args,kwargs,message", [
    ((1,), {}, "add() missing 1 required positional argument: 'y'"),
    ((1, 2, 3, 4), {}, "add() takes 3 positional arguments but 4 were given"),
    ((1,), {"x": 2}, "add() got multiple values for argument 'x'"),
    ((1, 2), {"w": 2}, "add() got an unexpected keyword argument 'w'"),
    (("one", 2), {}, "add() argument 'x' must be int, not str"),
    ((1.5, 2), {}, "add() argument 'x' must be int, not float"),
])
def test_wrong_calls_fail_with_type_error(celery_client, swift_worker, args, kwargs, message):
    with pytest.raises(TypeError) as excinfo:
        call(celery_client, "typed.add", *args, **kwargs)
    assert str(excinfo.value) == message


def test_kombu_typed_values_both_ways(celery_client, swift_worker):
    when = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    record = {"when": when, "id": ident, "amount": Decimal("3.14159265358979323846"), "blob": b"raw bytes",
              "tags": ["a"], "note": None}
    shifted = call(celery_client, "typed.shift", record, days=2)
    assert shifted["when"] == when + timedelta(days=2)
    assert isinstance(shifted["when"], datetime)
    assert shifted["id"] == ident
    assert shifted["amount"] == Decimal("6.28318530717958647692")
    assert shifted["blob"] == b"raw bytes"
    assert shifted["tags"] == ["a", "shifted"]
    assert "note" not in shifted    # a nil Optional member is left out (Swift's synthesized encodeIfPresent)
    # The default for days
    assert call(celery_client, "typed.shift", record)["when"] == when + timedelta(days=1)
    described = call(celery_client, "typed.describe", when, ident, Decimal("1.5"), b"xyz")
    assert described == {"epoch": str(int(when.timestamp())), "uuid": str(ident), "amount": "1.5", "blob": "xyz"}


def test_a_struct_with_a_wrong_member_type_is_a_type_error(celery_client, swift_worker):
    with pytest.raises(TypeError, match="shift\\(\\) argument 'record' must be"):
        call(celery_client, "typed.shift", {"when": "not a date", "id": "x", "amount": 1, "blob": b"", "tags": []})
