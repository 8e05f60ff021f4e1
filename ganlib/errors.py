"""The one error type ganlib raises for bad input, so callers (the CLI) can print it on one line."""


class GanlibError(ValueError):
    """Bad input or an unusable state: the message names the problem and the valid choices."""


class TrainingDiverged(RuntimeError):
    """A loss or weight became NaN or Inf, or exploded past ganlib's divergence limits; the message names
    the loss, the step and the checkpoint kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped training at a step boundary; the message says what was saved.

    A ``KeyboardInterrupt``, so code that stops on Ctrl-C still stops; ``signum`` gives the exit status
    ``128 + signum`` that shells expect from a process ended by that signal.
    """

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum

    def __reduce__(self):
        # raised in a worker process of ``compare --jobs``, it must unpickle in the parent: both arguments
        return type(self), (str(self), self.signum)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(":") if text else type(exc).__name__


def check_choice(what: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a one-line ``GanlibError``."""
    if value not in choices:
        raise GanlibError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")
    return value  # type: ignore[return-value]
