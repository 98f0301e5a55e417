"""What advancing a test clock runs, and how far it may go: registries other packages plug into.

The clocks app knows nothing of subscriptions or invoices. Billing registers an *advance hook*
that runs every renewal, retry, trial end and cancellation due for the clock's customers up to
the target time, and an *advance limit* (Stripe allows at most two intervals of the shortest
subscription on the clock per advance). Hooks run in registration order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from billfold.clocks.models import TestClock
from billfold.core.clock import from_unix


class AdvanceHook(Protocol):
    """Runs all work due for ``clock``'s customers up to and including ``until``.

    It may be called again with the same ``until`` (a retry after a failure, or a worker resuming
    an advance), so it must skip work it has already done. It moves the clock to each due moment
    with ``clock_move_to`` before doing that moment's work, so everything written then (invoices,
    events) carries the clock's time. It runs inside a savepoint: if it raises, its writes are
    undone and the clock's status becomes ``internal_failure``. A hook with the attribute
    ``commits_itself = True`` runs with no transaction open instead (it charges cards, which
    happens outside transactions): each of its steps commits on its own, and when it raises, the
    clock keeps the time and the work it had reached.
    """

    def __call__(self, *, clock: TestClock, until: dt.datetime) -> None: ...


class AdvanceLimit(Protocol):
    """The latest ``frozen_time`` one advance of ``clock`` may reach, or None if it has no say."""

    def __call__(self, *, clock: TestClock) -> dt.datetime | None: ...


_hooks: list[AdvanceHook] = []
_limits: list[AdvanceLimit] = []


def register_advance_hook(hook: AdvanceHook) -> AdvanceHook:
    """Add ``hook`` to what every advance runs (once, however often it is registered)."""
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


def unregister_advance_hook(hook: AdvanceHook) -> None:
    if hook in _hooks:
        _hooks.remove(hook)


def advance_hooks() -> tuple[AdvanceHook, ...]:
    return tuple(_hooks)


@contextmanager
def advance_hook_registered(hook: AdvanceHook) -> Iterator[AdvanceHook]:
    """``hook`` is registered for the duration of the block (tests and simulations)."""
    register_advance_hook(hook)
    try:
        yield hook
    finally:
        unregister_advance_hook(hook)


def register_advance_limit(limit: AdvanceLimit) -> AdvanceLimit:
    """Add a bound on how far one advance may go; the earliest bound of all wins."""
    if limit not in _limits:
        _limits.append(limit)
    return limit


def unregister_advance_limit(limit: AdvanceLimit) -> None:
    if limit in _limits:
        _limits.remove(limit)


def advance_limits() -> tuple[AdvanceLimit, ...]:
    return tuple(_limits)


def hook_commits_itself(hook: AdvanceHook) -> bool:
    return bool(getattr(hook, "commits_itself", False))


def hook_name(hook: AdvanceHook) -> str:
    """A name for the hook in logs and in the clock's ``status_details``."""
    module = getattr(hook, "__module__", None) or "?"
    name = getattr(hook, "__qualname__", None) or type(hook).__qualname__
    return f"{module}.{name}"


def clock_move_to(*, clock: TestClock, moment: dt.datetime) -> None:
    """Move ``clock`` forward to ``moment``, a due moment whose work the hook is about to do.

    Never moves it back (work due earlier than the clock's time is done at the clock's time) nor
    past the advance's target: a hook that tries has a bug, and the advance fails visibly.
    """
    target = advancing_target(clock)
    if target is None:
        raise RuntimeError(f"Test clock {clock.public_id} is not advancing; it can only be moved by an advance.")
    if moment > target:
        raise ValueError(
            f"Cannot move test clock {clock.public_id} to {moment.isoformat()}: past the time it is advancing to "
            f"({target.isoformat()})."
        )
    if moment <= clock.frozen_time:
        return
    clock.frozen_time = moment
    clock.save(update_fields=["frozen_time"])


def advancing_target(clock: TestClock) -> dt.datetime | None:
    """The time an advancing clock is moving to (from ``status_details``), else None."""
    if clock.status != TestClock.ADVANCING:
        return None
    target = (clock.status_details.get("advancing") or {}).get("target_frozen_time")
    return from_unix(target) if isinstance(target, int) else None
