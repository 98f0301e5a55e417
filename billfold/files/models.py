from __future__ import annotations

from django.db import models

from billfold.core.models import current_time


class StoredFile(models.Model):
    """An uploaded image (product image, later logos and icons), kept in the database.

    Bytes live in the database so any number of stateless web processes can serve them.
    The content was checked to be a real JPEG or PNG before the row was written.
    """

    public_id = models.CharField(max_length=64, unique=True)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(default=current_time)
    purpose = models.CharField(max_length=40)
    filename = models.CharField(max_length=255)
    # "image/jpeg" or "image/png", from the decoded content, never from the upload's claim.
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()

    def __str__(self) -> str:
        return self.public_id
