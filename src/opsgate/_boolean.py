"""The one reading of a boolean setting's text: ``1/true/yes/on`` and ``0/false/no/off``,
any case, surrounding blanks ignored.

The configuration (``opsgate.config``) converts every ``bool`` setting with it, and the
hook's lean client reads ``OPSGATE_HOOK_DAEMON`` and ``OPSGATE_HOOK_FORK`` with it
before any configuration is loaded (the native client gets the same words from
``TRUE_WORDS``).  It lives outside the ``config`` package because importing that
package costs the hook's hot path milliseconds; this module imports nothing.
"""

__all__ = ["FALSE_WORDS", "TRUE_WORDS", "parse_bool"]

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_bool(text: str) -> bool | None:
    """True or False for one of the words above; None for anything else (the caller
    says whether that is an error or which way is safer)."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
