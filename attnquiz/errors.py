"""Domain errors. The CLI turns each into one line on stderr and exit code 2."""


class AttnquizError(Exception):
    """Base of every error a user can cause and fix; its message says what, where and what to do."""


class BankError(AttnquizError):
    """A question file or the bank as a whole is unusable."""


class UsageError(AttnquizError):
    """An option names something that does not exist (topic, id, kata...)."""
