"""User-facing errors: bad input that the CLI reports in one line with exit code 2."""

import unicodedata

MESSAGE_CHARS = 80  # longest user value quoted back in an error message
MAX_MESSAGE_CHARS = 400  # longest error message (user values such as paths can be long)


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` as one printable line: line breaks become spaces, other control characters (terminal
    escapes included) are shown escaped, and a text longer than ``limit`` loses its middle (a long
    path quoted early must not push the reason, at the end, out of the message)."""
    flat = " ".join(text.splitlines())
    flat = "".join(c if c == " " or unicodedata.category(c)[0] != "C" else ascii(c)[1:-1] for c in flat)
    if len(flat) <= limit:
        return flat
    tail = limit // 3
    return f"{flat[:limit - tail - 5]} ... {flat[-tail:]}"


class TritlensError(Exception):
    """Bad input (a value, a config, a file, a run directory). The message is one line for the user:
    whatever user values it quotes (paths, expressions), it is made one printable line here."""

    def __init__(self, message: object = "") -> None:
        super().__init__(one_line(str(message)))


class ConfigError(TritlensError):
    """An invalid setting: unknown key, wrong type, value out of range."""


class RunDirError(TritlensError):
    """A run directory that is missing, inconsistent, or would be overwritten."""


class CheckpointError(TritlensError):
    """A weights or checkpoint file that cannot be read or does not match its config."""


def short(value: object, limit: int = MESSAGE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, for one-line error messages."""
    if isinstance(value, int) and value.bit_length() > 200:  # repr of a huge int is slow or refused
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, list | tuple | dict) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value)} items"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit - 5]}...{text[-2:]}"
