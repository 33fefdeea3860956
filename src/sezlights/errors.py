"""Errors a user can act on.

Every failure that is the user's to fix (bad config, bad zones file, failed login,
missing file, corrupt download, full disk) is raised as a :class:`UserError`
subclass whose message says what went wrong and what to do. Script jobs write that
message as the last line of their log, without a traceback (see
:func:`sezlights.job.run_step`), and the console shows it last.
"""


class UserError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(UserError):
    pass


class ZonesError(UserError):
    pass


class LoginError(UserError):
    pass


class MissingFileError(UserError):
    """A file the month needs is not published (or no longer at its address)."""


class DownloadError(UserError):
    pass


class CorruptFileError(DownloadError):
    """A downloaded file fails its integrity check."""


class DiskFullError(UserError):
    pass


class ChangedFileError(UserError):
    """A remote file read by window is no longer the one its month's listing recorded."""
