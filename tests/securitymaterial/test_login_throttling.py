"""Sign-in throttling: repeated failures pause sign-in for that user name and address, with a
clear page; a staff member unlocks it in the Django admin."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

LOGIN = reverse("login")


def sign_in(client: Client, username: str, password: str) -> Any:
    return client.post(LOGIN, {"username": username, "password": password})


def test_five_failures_pause_sign_in_even_with_the_right_password(
    admin_user: User, settings: Any
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, "ada", "wrong")
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()
    locked = sign_in(client, "ada", "wrong")
    assert locked.status_code == 429
    assert "too many failed sign-ins" in locked.content.decode()
    again = sign_in(client, "ada", PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    assert PASSWORD not in again.content.decode()


def test_other_users_can_still_sign_in(admin_user: User, reader: User, settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "ada", "wrong")
    assert sign_in(client, "rita", PASSWORD).status_code == 302


def test_a_staff_member_unlocks_by_deleting_the_attempt_in_the_admin(
    admin_user: User, settings: Any
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "ada", "wrong")
    attempt = AccessAttempt.objects.get(username="ada")
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    staff = Client()
    staff.force_login(root)
    url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert staff.post(url, {"post": "yes"}).status_code == 302
    assert sign_in(client, "ada", PASSWORD).status_code == 302


def test_a_successful_sign_in_forgets_earlier_failures(admin_user: User) -> None:
    client = Client()
    sign_in(client, "ada", "wrong")
    assert sign_in(client, "ada", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="ada").exists()
