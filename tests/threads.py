"""Races in real concurrent transactions: callers in threads, each on its own database connection,
released at the same moment."""

import threading
from collections.abc import Callable, Iterable

from django.db import connections


def run_at_once(callers: Iterable, work: Callable, *, timeout: float = 60) -> None:
    """Run work(caller) for every caller, each in its own thread, all released by one barrier;
    fail with every thread's exception (and the caller it ran for), or if one is still running
    after `timeout` seconds. Each thread closes its database connections when done."""
    callers = list(callers)
    start = threading.Barrier(len(callers), timeout=timeout)
    errors = []

    def target(caller):
        try:
            start.wait()
            work(caller)
        except Exception as exc:  # reported below, in the test's thread
            errors.append((caller, repr(exc)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(caller,)) for caller in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), f"still running after {timeout} s"
    assert not errors, errors
