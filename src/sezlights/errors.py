"""Errors a user can act on.

Every failure that is the user's to fix (bad config, bad zones file, failed login,
missing tile, corrupt download) is raised as a :class:`UserError` subclass whose
message says what went wrong and what to do. Workflow scripts print that message
alone, without a traceback (see :func:`sezlights.cli.run_step`).
"""


class UserError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(UserError):
    pass


class ZonesError(UserError):
    pass


class LoginError(UserError):
    pass


class MissingTileError(UserError):
    pass


class DownloadError(UserError):
    pass


class CorruptArchiveError(DownloadError):
    pass
