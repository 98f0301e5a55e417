"""A public id for each API key, so the dashboard's pages name a key without exposing its pk.

Existing keys get theirs here: a column default would give every existing row the same value.
"""

from typing import Any

from django.db import migrations, models

import billfold.accounts.models


def fill_public_ids(apps: Any, schema_editor: Any) -> None:
    ApiKey = apps.get_model("accounts", "ApiKey")
    for key in ApiKey.objects.filter(public_id__isnull=True).only("pk"):
        ApiKey.objects.filter(pk=key.pk).update(public_id=billfold.accounts.models.new_api_key_id())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_sign_in_failures"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="public_id",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apikey",
            name="public_id",
            field=models.CharField(default=billfold.accounts.models.new_api_key_id, max_length=64, unique=True),
        ),
    ]
