"""The console's settings (``--logger-sezlights-<name>``)."""

from dataclasses import dataclass, field

from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    progress_interval: float = field(
        default=10.0,
        metadata={
            "help": "Without a terminal (CI, pipes), print a running download's bytes "
            "and rate at most every this many seconds (default 10).",
            "env_var": False,
            "required": False,
            "type": float,
        },
    )
    report_next: str | None = field(
        default=None,
        metadata={
            "help": "Who builds the report right after this run (make demo passes 'the "
            "demo'): the closing lines then say where the report will be, not the command "
            "that builds it.",
            "env_var": False,
            "required": False,
            "type": str,
        },
    )
