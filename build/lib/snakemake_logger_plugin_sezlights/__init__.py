"""The sezlights console: a Snakemake logger plugin (``--logger sezlights``).

It replaces Snakemake's own stderr output (``writes_to_stream``) with what a person
running the pipeline needs:

- one line per finished job, ``[ 7/19] <the rule's message>  (3.2 s)``; while checkpoint
  jobs are pending the step total is shown as ``19+`` (more steps once the months are
  listed), and the console says once when it is final;
- the bytes, total, percent and rate of each running download, read from the
  ``<log>.progress`` files of the job log contract: a live display on a terminal
  (``rich``), a plain line per download at most every ``progress_interval`` seconds
  otherwise;
- the workflow's warnings and Snakemake's "Nothing to be done" as they are; a job's
  notes (``NOTE <text>`` lines of its log: a republished file, a tile the server lacks)
  when it ends; the job counts and the dry-run lines of ``--dry-run``;
- at the end, where the table, the per-month tables and the report are (read from the
  ``results/run.json`` the workflow writes), or, as the
  very last line, the one-line reason the run failed (the ``ERROR <message>`` last
  line of the first failed job's log, or the message of the error Snakemake raised).

Snakemake finds the plugin by its module name (``snakemake_logger_plugin_*``): with the
project installed (``pip install -e .``) it is ``--logger sezlights`` or the profile key
``logger: sezlights``.

The package, one job per module: :mod:`.handler` (records in, lines out), :mod:`.steps`
(jobs and the step count), :mod:`.failures` (what failed and why), :mod:`.closing` (the
last lines), :mod:`.results` (where the results are), :mod:`.downloads` (progress files),
:mod:`.display` (rich or plain), :mod:`.text` (messages to one line), :mod:`.records`,
:mod:`.settings`.
"""

from .handler import LogHandler
from .settings import LogHandlerSettings

__all__ = ["LogHandler", "LogHandlerSettings"]
