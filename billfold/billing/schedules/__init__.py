"""Subscription schedules (``/v1/subscription_schedules``): a subscription's planned changes, phase by phase.

``common`` (events, the phases as stored, what a schedule does when its subscription ends),
``phases`` (checking the phases a request gives and storing them), ``services`` (create from a
subscription or for a customer, update, release, cancel, and the portal's change at period end),
``transitions`` (the engine moving a subscription into its next phase), ``selectors`` (reads).

A schedule acts on its subscription through the subscription's own due work: while a schedule
is active, ``Subscription.schedule`` names it and the end of its current phase is one of the
subscription's due moments (``phase``, before a renewal at the same moment, so the renewal bills
the new phase). Lock order: the subscription, then its schedule (``billfold.billing.locks``).

This module imports nothing on purpose: ``subscriptions.status`` imports ``common``.
"""
