"""The one error type ganlib raises for bad input, so callers (the CLI) can print it on one line."""


class GanlibError(ValueError):
    """Bad input or an unusable state: the message names the problem and the valid choices."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or Inf; the message names the loss, the step and the checkpoint kept."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(":") if text else type(exc).__name__


def check_choice(what: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a one-line ``GanlibError``."""
    if value not in choices:
        raise GanlibError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")
    return value  # type: ignore[return-value]
