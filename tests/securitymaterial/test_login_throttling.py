"""Sign-in throttling: 5 failures (the documented default) pause sign-in for that user name
and address, with a clear page; nobody locks out another address; behind a trusted proxy the
client's own address counts; guessing one account from many addresses is slowed; a staff
member unlocks it in the Django admin."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

LOGIN = reverse("login")


LIMIT = 5  # README: LOGIN_FAILURE_LIMIT defaults to 5


def sign_in(client: Client, username: str, password: str) -> Any:
    return client.post(LOGIN, {"username": username, "password": password})


def from_address(address: str, forwarded: str | None = None) -> Client:
    headers = {"REMOTE_ADDR": address}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return Client(**headers)


def test_five_failures_pause_sign_in_even_with_the_right_password(
    admin_user: User, settings: Any
) -> None:
    client = Client()
    for _ in range(LIMIT - 1):
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
    for _ in range(LIMIT):
        sign_in(client, "ada", "wrong")
    assert sign_in(client, "rita", PASSWORD).status_code == 302


def test_a_staff_member_unlocks_by_deleting_the_attempt_in_the_admin(
    admin_user: User, settings: Any
) -> None:
    client = Client()
    for _ in range(LIMIT):
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


def test_failures_from_one_address_lock_no_other_address(admin_user: User) -> None:
    attacker, owner = from_address("203.0.113.9"), from_address("198.51.100.7")
    for _ in range(LIMIT):
        sign_in(attacker, "ada", "wrong")
    assert sign_in(attacker, "ada", PASSWORD).status_code == 429
    assert sign_in(owner, "ada", PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_each_client_counts_by_its_own_address(
    admin_user: User, settings: Any
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"  # every request arrives from the proxy
    attacker = from_address(proxy, "1.2.3.4, 203.0.113.9")  # the first entry is forged
    owner = from_address(proxy, "198.51.100.7")
    for _ in range(LIMIT):
        sign_in(attacker, "ada", "wrong")
    assert sign_in(attacker, "ada", PASSWORD).status_code == 429
    assert sign_in(owner, "ada", PASSWORD).status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) <= {"203.0.113.9"}


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(admin_user: User) -> None:
    for index in range(LIMIT):  # each request claims another client
        sign_in(from_address("203.0.113.9", f"198.51.100.{index}"), "ada", "wrong")
    assert sign_in(from_address("203.0.113.9"), "ada", PASSWORD).status_code == 429


def test_guessing_from_many_addresses_is_slowed_to_one_guess_per_address(
    admin_user: User,
) -> None:
    for index in range(2 * LIMIT):  # ten addresses, one wrong password each
        sign_in(from_address(f"203.0.113.{index}"), "ada", "wrong")
    fresh = from_address("203.0.113.200")
    assert sign_in(fresh, "ada", "wrong").status_code == 429  # its one guess, then paused
    assert sign_in(fresh, "ada", PASSWORD).status_code == 429
    # The owner's address has not failed: not locked by strangers.
    assert sign_in(from_address("198.51.100.7"), "ada", PASSWORD).status_code == 302


def test_below_twice_the_limit_an_address_still_gets_five(admin_user: User) -> None:
    for index in range(LIMIT - 1):
        sign_in(from_address(f"203.0.113.{index}"), "ada", "wrong")
    fresh = from_address("203.0.113.200")
    for _ in range(LIMIT - 1):  # 4 + 4 failures in all: below 10
        assert sign_in(fresh, "ada", "wrong").status_code == 200
    assert sign_in(fresh, "ada", "wrong").status_code == 429  # its fifth


def test_a_forwarded_value_that_is_no_address_counts_as_the_proxy(
    admin_user: User, settings: Any
) -> None:
    """A client cannot pick its own key by writing anything into X-Forwarded-For."""
    settings.TRUSTED_PROXY_COUNT = 1
    for index in range(LIMIT):
        sign_in(from_address("10.0.0.2", f"not-an-address-{index}"), "ada", "wrong")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.2"}
    assert (
        sign_in(from_address("10.0.0.2", "198.51.100.7, junk"), "ada", PASSWORD).status_code == 429
    )
