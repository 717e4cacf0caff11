"""A custom user model (``AbstractBaseUser`` with non-default field names) and a plain model."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class MemberManager(BaseUserManager):  # type: ignore[type-arg]
    def create_user(
        self, handle: str, contact_email: str = "", password: str | None = None, **extra: Any
    ) -> Member:
        user = self.model(handle=handle, contact_email=contact_email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class Member(AbstractBaseUser):
    handle = models.CharField(max_length=50, unique=True)
    contact_email = models.EmailField(blank=True)

    USERNAME_FIELD = "handle"
    EMAIL_FIELD = "contact_email"

    objects = MemberManager()


class Note(models.Model):
    title = models.CharField(max_length=100)
    body = models.TextField(blank=True)
