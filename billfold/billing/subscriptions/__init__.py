"""Subscriptions: the services every interface calls (API, portal, worker) and their reads.

``services`` (create, update, cancel, resume), ``items`` (the /v1/subscription_items writes and
the checks on items), ``status`` (the state machine and payment results), ``advance`` (the work
due with time: renewals, trial ends, cancellations), ``preview`` (an invoice as a change would
make it, nothing written), ``selectors`` (reads, always within one mode).

This module imports nothing on purpose: the invoices package imports ``status`` while it loads,
and ``services`` imports the invoices package.
"""
