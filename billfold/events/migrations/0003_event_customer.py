from typing import Any

from django.db import migrations, models

BATCH = 2000


def customer_of(rendered: dict[str, Any]) -> str:
    """As ``billfold.events.services.customer_of`` when this migration was written."""
    if rendered.get("object") == "customer":
        return str(rendered.get("id") or "")
    owner = rendered.get("customer")
    if isinstance(owner, dict):
        owner = owner.get("id")
    return owner if isinstance(owner, str) else ""


def backfill(apps: Any, schema_editor: Any) -> None:
    """Earlier events get their customer from the object they carry, a batch at a time."""
    Event = apps.get_model("events", "Event")
    last = 0
    while True:
        batch = list(Event.objects.filter(pk__gt=last).order_by("pk").only("pk", "data")[:BATCH])
        if not batch:
            return
        for event in batch:
            event.customer_id = customer_of((event.data or {}).get("object") or {})
        Event.objects.bulk_update([e for e in batch if e.customer_id], ["customer_id"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="customer_id",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["customer_id", "id"], name="events_customer_id_id"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
