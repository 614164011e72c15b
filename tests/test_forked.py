"""metasr.forked: results in the items' order whatever the number of jobs, a worker's exception
raised in the parent, workers stopped when the caller stops early."""

from __future__ import annotations

import os
import pickle
import time

import pytest

from metasr import forked
from metasr.errors import InputError, Problem


def slow_square(x: int) -> tuple[int, int]:
    time.sleep(0.02 * (x % 3))  # later items finish first now and then
    return x * x, os.getpid()


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_results_in_order(jobs):
    results = list(forked.ordered_map(slow_square, range(7), jobs))
    assert [r for r, _ in results] == [x * x for x in range(7)]
    pids = {pid for _, pid in results}
    assert (pids == {os.getpid()}) == (jobs == 1)  # one job: computed here, else in workers


def test_items_are_taken_as_they_come():
    """The items are drawn lazily: a worker starts on an item before the next is made."""
    made = []

    def items():
        for x in range(4):
            made.append(x)
            yield x

    results = forked.ordered_map(lambda x: (x, len(made)), items(), 2)
    assert next(results)[0] == 0 and len(made) <= 3
    assert [x for x, _ in results] == [1, 2, 3]


def fails_on_two(x: int) -> int:
    if x == 2:
        raise InputError(Problem(message="bad item", file="t.csv", row=4, rule="r"))
    return x


def test_a_workers_exception_is_raised_here_in_turn():
    results = forked.ordered_map(fails_on_two, range(5), 2)
    assert next(results) == 0 and next(results) == 1
    with pytest.raises(InputError) as err:
        next(results)
    assert err.value.problems[0].message == "bad item" and err.value.problems[0].row == 4


def unpicklable(x: int):
    return lambda: x


def test_a_result_that_cannot_come_back_is_an_error():
    with pytest.raises(RuntimeError, match="could not be passed back"):
        list(forked.ordered_map(unpicklable, range(2), 2))


def test_stopping_early_stops_the_workers(monkeypatch):
    started = []
    fork = forked._fork
    monkeypatch.setattr(forked, "_fork", lambda func, item: started.append(fork(func, item)) or started[-1])
    results = forked.ordered_map(slow_square, range(6), 3)
    next(results)
    results.close()
    assert len(started) == 3  # the fourth would start once the first result is taken
    for child in started:  # each one stopped and waited for: gone, its result file closed
        with pytest.raises(ProcessLookupError):
            os.kill(child.pid, 0)
        assert child.result.closed


def test_deferred_is_unpickled_only_when_asked():
    value = {"a": [1.5, None]}
    crossed = pickle.loads(pickle.dumps(forked.Deferred(value)))
    assert crossed._value is None and crossed._pickle
    assert crossed.value == value and not crossed._pickle
    assert pickle.loads(pickle.dumps(crossed)).value == value
    here = forked.Deferred(value)
    assert here.value is value  # never pickled: the object itself


def test_available_cpus():
    assert 1 <= forked.available_cpus() <= (os.cpu_count() or 1)


def killed(x: int) -> int:
    if x == 1:
        os.kill(os.getpid(), 9)
    return x


def test_a_worker_killed_is_named_with_its_signal():
    results = forked.ordered_map(killed, range(3), 2)
    assert next(results) == 0
    with pytest.raises(ChildProcessError, match=r"killed by signal 9 \(SIGKILL, which the system sends when memory"):
        next(results)
