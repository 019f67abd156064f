"""The one redaction: a secret whole, in pieces of 16 characters or more, or cut short is
taken out, and the cut comes after the redaction."""

from __future__ import annotations

from securitymaterial.redaction import Redactor, redact

SECRET = "AT-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"


def test_the_whole_secret_is_taken_out() -> None:
    assert redact(f"bad token {SECRET} here", [SECRET]) == "bad token [redacted] here"


def test_halves_and_a_cut_short_prefix_of_sixteen_or_more_are_taken_out() -> None:
    half = len(SECRET) // 2
    text = f"first {SECRET[:half]} then {SECRET[half:]} and {SECRET[5:21]}..."
    assert redact(text, [SECRET]) == "first [redacted] then [redacted] and [redacted]..."


def test_fifteen_characters_of_it_are_left_alone() -> None:
    assert redact(f"x{SECRET[:15]}x", [SECRET]) == f"x{SECRET[:15]}x"


def test_the_cut_comes_after_the_redaction() -> None:
    text = "said: " + SECRET
    assert redact(text, [SECRET], limit=20) == "said: [redacted]"
    assert SECRET[:14] not in redact(text, [SECRET], limit=20)


def test_a_short_secret_is_taken_out_whole_and_several_secrets_at_once() -> None:
    redactor = Redactor(["k3y", SECRET, ""])
    assert redactor(f"k3y={SECRET}") == "[redacted]=[redacted]"


def test_text_others_chose_loses_control_and_direction_characters() -> None:
    from securitymaterial.validators import neutralized

    assert neutralized("mailer\x00@exa\u202emple.com\n\tx") == "mailer@example.comx"
    assert neutralized("Ünïcode stays") == "Ünïcode stays"
