"""Turning Snakemake's records and the jobs' log files into short lines for people."""

import builtins
import os
import re
from pathlib import Path

# Where Snakemake keeps the local copies of files in a storage provider (its default
# ``--local-storage-prefix``): ``s3://bucket/key`` is ``.snakemake/storage/s3/bucket/key``.
LOCAL_STORAGE_PREFIX = Path(".snakemake", "storage")

_BUILTIN_ERRORS = {
    name
    for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, BaseException)
}

# The first line of Snakemake's formatted exception:
# ``WorkflowError in rule x in file "/a/Snakefile", line 3:`` (``.`` when there is no message).
_HEADER = re.compile(
    r"^(?P<cls>[A-Za-z_][\w.]*)"
    r"(?: in rule (?P<rule>\S+))?"
    r'(?: in file "(?P<file>[^"]*)", line (?P<line>\d+))?'
    r"[:.]$"
)
# A header later in the text (after a traceback, or right after an empty header, as in
# ``RuleException:\nCalledProcessError in file ...``) must name an exception class.
_INNER_CLASS = re.compile(r"^[A-Z]\w*(Error|Exception|Warning|Interrupt|Exit)$")
_TRACEBACK_LINE = re.compile(r'^\s+File "')
_COMMAND = re.compile(r"Command '.*' returned non-zero exit status (-?\d+)\.?", re.S)


# What Snakemake appends to a cluster job's error, glued to its last word ("...'sacct'For
# further error details see ..."): it says nothing the console's lines do not.
_FURTHER_DETAILS = re.compile(
    r"\s*For further error details see the cluster/cloud log and the log files of the "
    r"involved rule\(s\)\.?"
)


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    text = " ".join(_FURTHER_DETAILS.sub("", str(text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def human_rate(bytes_per_second: float | None) -> str:
    if bytes_per_second is None:
        return "? B/s"
    return f"{human_bytes(bytes_per_second)}/s"


def human_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def job_label(rule_msg, rule_name, wildcards) -> str:
    """The rule's ``message:`` if it has one, else the rule name and its wildcards."""
    if rule_msg:
        return one_line(rule_msg)
    wc = ", ".join(f"{k}={v}" for k, v in dict(wildcards or {}).items())
    return one_line(f"{rule_name or 'job'} {wc}".strip())


def strip_annotation(path: str) -> str:
    """``s3://b/x.csv (send to storage)`` -> ``s3://b/x.csv`` (Snakemake's file annotations)."""
    path = str(path)
    if path.endswith(")") and " (" in path:
        return path.rsplit(" (", 1)[0]
    return path


def local_path(path: str) -> Path:
    """Where a job's file is on this machine (the local copy of a storage file)."""
    path = strip_annotation(path)
    if "://" in path:
        scheme, rest = path.split("://", 1)
        return LOCAL_STORAGE_PREFIX / scheme / rest
    return Path(path)


def last_line(path: Path, tail: int = 65536) -> str | None:
    """The last non-empty line of a text file, or None."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - tail))
            data = f.read()
    except OSError:
        return None
    for line in reversed(data.decode("utf-8", "replace").splitlines()):
        if line.strip():
            return line.strip()
    return None


def log_error_message(logs) -> str | None:
    """The job's one-line message: the last line of its log when it is ``ERROR <message>``."""
    for log in logs or ():
        line = last_line(local_path(log))
        if line and line.startswith("ERROR "):
            return line[len("ERROR ") :].strip()
    return None


def final_line(message: str) -> str:
    """``error: <message>``, unless the message already says it is an error."""
    message = one_line(message, limit=2000)
    if re.match(r"^(error\b|[\w ]{0,40}?error:)", message, re.I):
        return message
    return f"error: {message}"


def _flatten(lines) -> str:
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
        elif out[-1] in ".:;,!?":
            out += " " + line
        else:
            out += "; " + line
    return out


def _blocks(text: str):
    """Split Snakemake's formatted exception into (header match or None, message lines)."""
    blocks = []
    lines = text.splitlines()
    header_allowed = True
    for line in lines:
        if _TRACEBACK_LINE.match(line):
            header_allowed = True
            continue
        m = _HEADER.match(line) if header_allowed else None
        if m and (not blocks or _INNER_CLASS.match(m["cls"])):
            blocks.append((m, []))
            header_allowed = True  # ``RuleException:`` may be followed by the inner header
            continue
        header_allowed = False
        if not blocks:
            blocks.append((None, []))
        blocks[-1][1].append(line)
    return blocks


def _without_class(message: str) -> str:
    """``UserError: no such month`` -> ``no such month`` (not for Python's own errors)."""
    m = re.match(r"^([A-Za-z_]\w*): (.*)$", message, re.S)
    if m and m[1] not in _BUILTIN_ERRORS:
        return m[2]
    return message


def _schema_message(lines) -> list[str]:
    """jsonschema's long text (schema and instance dumps) -> its message and where."""
    where = None
    kept = []
    skipping = False
    for line in lines:
        if line.startswith("Failed validating"):
            skipping = True
        m = re.match(r"^On instance(.*):$", line)
        if m:
            path = re.findall(r"\[([^\]]*)\]", m[1])
            where = ".".join(p.strip("'\"") for p in path) or None
            skipping = True
        if not skipping:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    if where and kept:
        kept[-1] = f"{kept[-1].rstrip()} (at {where})"
    # "Error validating config file." + "ValidationError: X" -> "Error validating config file: X"
    out = []
    for line in kept:
        if line.startswith("ValidationError: ") and out and out[-1].rstrip().endswith("."):
            out[-1] = out[-1].rstrip()[:-1] + ":"
            line = line[len("ValidationError: ") :]
        out.append(line)
    return out


def _input_function_message(lines, rule) -> str:
    """InputFunctionException: the error inside the input function, its rule and wildcards."""
    error, wildcards, section = [], [], None
    for line in lines:
        if line in ("Error:", "Wildcards:", "Traceback:"):
            section = line
            continue
        if section == "Error:":
            error.append(line)
        elif section == "Wildcards:":
            wildcards.append(line.strip())
    message = _without_class(_flatten(error)) or "error in an input function"
    where = ", ".join(w for w in wildcards if w)
    context = f"rule {rule}" + (f", {where}" if where else "") if rule else where
    return f"{message} ({context})" if context else message


def clean_exception(text: str, exception: str | None = None) -> str:
    """One line for a Snakemake ERROR record (its formatted exception), without traceback."""
    text = str(text or "").strip()
    if not text:
        return exception or "unknown error"
    lines = text.splitlines()
    if lines[0].startswith("Traceback (most recent call last)"):
        # a plain Python traceback: its last unindented line is "Class: message"
        tail = [line for line in lines if line and not line[0].isspace()]
        return one_line(tail[-1] if tail else text, limit=2000)
    blocks = _blocks(text)
    # the first block that says something (inner errors come before the RuleException)
    header, body = next(((h, b) for h, b in blocks if _flatten(b)), blocks[0])
    cls = header["cls"] if header else (exception or "")
    rule = header["rule"] if header else None
    if cls == "InputFunctionException":
        return one_line(_input_function_message(body, rule), limit=2000)
    if any(line.startswith("Failed validating") for line in body):
        body = _schema_message(body)
    # a SyntaxError without source text ends with "None"
    message = _flatten(line for line in body if line.strip() != "None").rstrip(":")
    message = _COMMAND.sub(r"a command returned non-zero exit status \1.", message)
    if cls == "KeyboardInterrupt":
        return "cancelled on user request"
    if cls in _BUILTIN_ERRORS:
        where = ""
        if header and header["file"]:
            where = f" ({_short_path(header['file'])}, line {header['line']})"
        message = f"{cls}: {message}{where}" if message else f"{cls}{where}"
    elif not message:
        message = cls or "unknown error"
    return one_line(message, limit=2000)


def _short_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel
