"""Password policy (NIST SP 800-63B, section 5.1.1.2): length and a blocklist, no
composition rules.

* At least 8 characters; long passphrases are welcome up to 128 characters (the
  standard asks verifiers to allow at least 64).
* Refused when easy to guess: zxcvbn (Dropbox's estimator, the maintained Python port,
  MIT) matches the password against its published frequency lists (the 30,000 most
  common passwords of the Xato corpus, English words, names, keyboard patterns,
  dates, repeats) and against context words (the user name, "station"), as the standard
  asks of a blocklist. A password it estimates at fewer than 10^6 guesses (zxcvbn score
  0 or 1) is refused, with zxcvbn's own reason.
"""

from __future__ import annotations

from web.errors import ApiError

MIN_LENGTH = 8
MAX_LENGTH = 128
# zxcvbn scores 0..4: 0 < 10^3 guesses, 1 < 10^6, 2 < 10^8. Refuse 0 and 1.
MIN_SCORE = 2
CONTEXT_WORDS = ("station", "clinician", "patient", "therapy", "stimulation")
ALLOWED = f"{MIN_LENGTH}-{MAX_LENGTH} characters, not a common or easily guessed password"


def check_password(password: str, *, name: str = "") -> None:
    """Raise a 422 naming ``password`` (what is wrong, what is allowed) or return."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise ApiError(
            422,
            "invalid",
            f"the password must have at least {MIN_LENGTH} characters; a few unrelated "
            "words make a good one",
            field="password",
            allowed=ALLOWED,
        )
    if len(password) > MAX_LENGTH:
        raise ApiError(
            422,
            "invalid",
            f"the password may have at most {MAX_LENGTH} characters",
            field="password",
            allowed=ALLOWED,
        )
    from zxcvbn import zxcvbn  # imported on first use: it loads its word lists

    result = zxcvbn(password, user_inputs=[name, *CONTEXT_WORDS], max_length=MAX_LENGTH)
    if int(result["score"]) < MIN_SCORE:
        feedback = result.get("feedback") or {}
        reason = (feedback.get("warning") or "it is easy to guess").rstrip(".")
        hints = " ".join(feedback.get("suggestions") or [])
        raise ApiError(
            422,
            "invalid",
            f"this password is too common or easy to guess ({reason}); "
            + (hints or "use a few unrelated words instead"),
            field="password",
            allowed=ALLOWED,
        )
