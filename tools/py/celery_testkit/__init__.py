"""Test helpers shared by the Python suites: ``interop/`` (pytest against real Celery),
``reliability/`` (crash, outage and hostile-input scenarios) and ``fixtures/capture.py``.

* ``procs``: subprocesses in their own session with a log file, a registry that stops them
  all, free loopback ports, waiting for a ready line or an open port.
* ``envelopes``: kombu's Redis envelope of a Celery protocol-2 task message, built by hand.
* ``results``: reading ``celery-task-meta-<id>`` documents in bulk and waiting for them.
* ``celery_apps``: the JSON-only Celery app and the ``tasks.*`` every worker under test serves.

Nothing here is installed: each entry point puts ``tools/py`` on ``sys.path`` with one line.
"""
