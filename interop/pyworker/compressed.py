"""The Python worker app of interop/pyworker/tasks.py storing its results compressed
(Celery 5.7's `result_compression`), for the compression interop tests:

    celery -A compressed worker -P solo -c 1 -Q pyz --loglevel INFO
"""
from tasks import app

app.conf.result_compression = "zlib"
