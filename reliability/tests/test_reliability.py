"""Issue 7's reliability scenarios against the Swift worker, one test each (see
the family modules listed in reliability/scenarios.py for what each one does and checks).

A scenario failing because of a known bug in the Swift worker (scenarios.KNOWN_BUGS) is
reported as xfail with the bug and every failed check; once the bug is fixed the test simply
passes. RELIABILITY_STRICT=1 turns those xfails into failures.
"""
import os

import pytest

import scenarios


@pytest.mark.parametrize("name,fn", scenarios.SCENARIOS, ids=[scenarios.slug(n) for n, _ in scenarios.SCENARIOS])
def test_scenario(name, fn, size, redis_url, work, rows):
    row = scenarios.run_scenario(name, fn, size, redis_url, work)
    rows.append(row)
    if row.ok:
        return
    detail = "\n".join(row.failures + [f"note: {n}" for n in row.notes])
    if row.xfail and os.environ.get("RELIABILITY_STRICT") != "1":
        pytest.xfail(f"known Swift bug: {row.xfail}\n{detail}")
    pytest.fail(f"{name}: sent {row.sent}, executed {row.executed}, lost {row.lost}, "
                f"crashes {row.crashes}\n{detail}", pytrace=False)
