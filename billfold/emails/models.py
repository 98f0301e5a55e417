from __future__ import annotations

from django.db import models

from billfold.core.models import current_time


class Email(models.Model):
    """One email to one person, waiting to be sent or sent: the outbox row.

    Written in the transaction of what it is about (an invoice paid, a payment failed...), so the
    mail exists exactly when the change committed. The sender (``emails.sending``) claims due
    rows, renders them and hands them to Django's email backend, and keeps what it sent.

    The subject and bodies are rendered when the row is sent, not when it is written: a template
    error or a slow render must never roll back (or slow down) a payment, and a fixed template or
    a new brand applies to mail still waiting. What the mail is about is fixed when it is written
    all the same: invoice mails render the invoice as the event recorded it (``event.data``), and
    ``context`` keeps the other facts of that moment (the card charged, the decline reason).
    """

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    STATUSES = [(QUEUED, "queued"), (SENT, "sent"), (FAILED, "failed")]

    # Public, random: the Message-ID of the mail, so a receiving server can tell a resend from a new mail.
    public_id = models.CharField(max_length=64, unique=True)
    # One of emails.kinds.KINDS: receipt, payment_failed, upcoming_renewal, trial_ending, passcode.
    kind = models.CharField(max_length=32)
    livemode = models.BooleanField(default=False)
    to_email = models.CharField(max_length=512)
    # Public ids: the customer written to, and the object the mail is about (invoice, subscription...).
    customer_id = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    # The event that asked for the mail; None for mails asked for directly (passcodes). Taking an event
    # back (a request undone after a declined card, billing/subscriptions/undo.py) takes its mail back.
    event = models.ForeignKey("events.Event", null=True, blank=True, on_delete=models.CASCADE, related_name="emails")
    # Facts for the templates that the event does not hold (JSON). A passcode's code is cleared once sent.
    context = models.JSONField(default=dict, blank=True)
    # What was sent, filled in when it is sent (a passcode mail keeps its subject only).
    subject = models.CharField(max_length=998, blank=True, default="")
    text_body = models.TextField(blank=True, default="")
    html_body = models.TextField(blank=True, default="")
    status = models.CharField(max_length=8, choices=STATUSES, default=QUEUED)
    # Sending tries so far (failed ones, plus the one that succeeded).
    attempts = models.PositiveIntegerField(default=0)
    # When the next try is due (aware UTC). None: due once a sender has seen it and the settling
    # delay has passed (see emails.sending.SETTLE).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A sender holds the row until then while sending it (aware UTC); see emails.sending.LEASE.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # When the row was written, on the clock of the change (a test clock's time for its customers).
    created = models.DateTimeField(default=current_time)
    # Aware UTC, on the sender's clock.
    sent_at = models.DateTimeField(null=True, blank=True)
    # Why the last try failed (the SMTP server's answer, or the error), for the operator.
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["livemode", "customer_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.kind} to {self.to_email}"
