"""Release health with a real prefork Celery worker (real Redis): each task the pool children
run is one session, sent when the children stop; the worker's main process sends none."""

from __future__ import annotations

from tests.sessions import totals

from .conftest import Worker, new_mark, pools

RELEASE = "celery-tests@1"  # tests/celery/app.py's client


@pools("prefork")
def test_tasks_are_counted_by_outcome(worker: Worker) -> None:
    """Two clean tasks exit, one logging a handled exception is errored, two failing tasks
    crash: the aggregates sent by the pool children sum to exactly that."""
    runs = [("log_error", 1), ("log_exception", 1), ("log_error", 1), ("fail", 1), ("fail", 1)]
    results = [worker.send(task, new_mark(), expect=expect) for task, expect in runs]
    for result, (task, _expect) in zip(results, runs, strict=True):
        worker.wait_state(result, "FAILURE" if task == "fail" else "SUCCESS")
    assert worker.stop() == 0  # the children flush their aggregates as they shut down
    worker.check_ledger()
    assert totals(list(worker.receiver.session_aggregates), RELEASE) == {
        "exited": 2,
        "errored": 1,
        "crashed": 2,
        "abnormal": 0,
    }
    assert worker.receiver.sessions == []  # no session for the worker's main process
