"""Every setting a job reads is one Snakemake tracks (issue 21, item 3): jobs read the
config only through their params, except ``download.*`` (how files are fetched, never
what they hold), which one function reads and says why."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JOB_CODE = sorted((REPO / "workflow/scripts").glob("*.py")) + sorted(
    (REPO / "src/sezlights").rglob("*.py")
)


def config_reads(path: Path) -> list[tuple[int, str]]:
    """Where the file reads ``snakemake.config`` (or ``<x>.config`` on the object a
    script is handed), with the enclosing function's name."""
    tree = ast.parse(path.read_text(), str(path))
    found = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef) else func
            if (
                isinstance(child, ast.Attribute)
                and child.attr == "config"
                and isinstance(child.value, ast.Name)
                and child.value.id == "snakemake"
            ):
                found.append((child.lineno, func))
            visit(child, name)

    visit(tree, "<module>")
    return found


def test_jobs_read_the_config_only_through_params_but_for_download_settings():
    reads = {
        f"{path.relative_to(REPO)}:{line} in {func}"
        for path in JOB_CODE
        for line, func in config_reads(path)
    }
    allowed = {
        r
        for r in reads
        if r.startswith("src/sezlights/job.py:") and r.endswith("download_settings")
    }
    assert len(allowed) == 1, reads
    assert reads == allowed, (
        f"jobs reading the config behind Snakemake's back: {sorted(reads - allowed)}"
    )


def test_the_checker_sees_a_config_read():
    # the check above must not pass by seeing nothing
    probe = REPO / "workflow/scripts/find_latest_month.py"
    tree_reads = config_reads(probe)
    assert tree_reads == []
    job = config_reads(REPO / "src/sezlights/job.py")
    assert [func for _, func in job] == ["download_settings"]
