"""A table as a self-contained, offline, sortable and searchable HTML page.

``snakemake --report`` shows ``.html`` outputs in an iframe (it renders no CSV), as a
base64 ``data:`` URL, which Chromium refuses beyond about 2 MB: pages are capped at
:data:`MAX_BYTES` (and :data:`MAX_ROWS`), with a note pointing to the full CSV.
itables (DataTables, its offline bundle inlined) makes the page; without itables a
plain table with a small filter and sort script does.
"""

from __future__ import annotations

import html
import math

import pandas as pd

MAX_ROWS = 10_000  # rows a page holds at most
MAX_BYTES = 1_500_000  # bytes of a page: Chromium's 2 MB data: URL limit in the report


def html_table(
    df: pd.DataFrame,
    title: str,
    *,
    max_rows: int | None = MAX_ROWS,
    max_bytes: int | None = MAX_BYTES,
    full_table: str | None = None,
    whole: bool = False,
    note: str | None = None,
) -> str:
    """A self-contained HTML page of ``df``: sortable, filterable, works offline.

    Made for ``report(...)`` outputs, which the Snakemake report shows in an iframe
    (it renders no CSV). With itables installed the page holds the DataTables
    bundle (975 KB, base64-inlined, no network) and the rows as JSON: search box,
    sorting by a click on a column heading, paging. Without itables it falls back to
    a plain HTML table with a small inline filter box and click-to-sort script.

    Cell text is escaped (HTML in a zone id is shown, not run) and shown with
    ``white-space: pre``, so ids keep their spaces. (itables shows a tab, CR or
    LF inside a text cell as ``\\t``, ``\\r``, ``\\n``.) Empty (NaN) numbers are
    empty cells.

    Big tables. The page embeds every row it shows. Measured with itables 2.9.1
    for the 17 statistics columns (values as ``sezlights.table`` writes them):
    100,000 rows make an 18 MB page in 3.5 s (39 MB and 11 s with itables' Python
    float formatting, which is why floats go to the browser raw); 10,000 rows
    2.7 MB in 0.4 s; 10,000 zones x 175 months x 2 sources (3.5 million rows)
    would be about 640 MB. And the single-file report (``--report report.html``)
    puts each HTML output into its iframe as a base64 ``data:`` URL, which
    Chromium refuses beyond 2 MB (2,097,152 characters: the frame stays
    ``about:blank#blocked``; measured: a 1.51 MB page shows, a 1.85 MB page does
    not). So the page holds at most ``max_rows`` rows (default 10,000) and at
    most ``max_bytes`` bytes (default 1.5 MB, which base64 makes 2.0 MB; about
    2,900 statistics rows with itables, 5,000 in the plain fallback). A table whose
    rows all fit without DataTables' bundle, but not with it, is made as the plain
    table. One that does not fit at all shows its first rows in ``df``'s order, with
    a note above the table saying how many of how many are shown and where the
    full table is (``full_table``, e.g. ``results/zonal_stats.csv``; named, not
    linked: a page in a ``data:`` URL has no address to resolve a relative link
    against); with ``whole=True`` it shows no rows, only that note (a search in the
    first rows would silently miss the others). ``note``: a sentence more for the
    note. Pass ``max_bytes=None`` for a zip report (``--report report.zip``), where
    pages are files. itables' own ``maxBytes`` downsampling (64 KB by default,
    silently dropping rows from the middle) is switched off; DataTables'
    server-side mode needs a server, which an offline report has not.
    """
    total = len(df)
    n = min(total, max_rows) if max_rows is not None else total
    best = None
    for body in (_itables_body, _plain_body):
        try:
            page, shown = _fit(df, n, title, total, full_table, note, body, max_bytes)
        except ImportError:  # no itables
            continue
        if shown == total:
            return page
        if best is None:  # a cut table: with DataTables (paging, search), if it has it
            best = (page, shown)
    page, shown = best
    if whole and shown < total:
        return _table_page(df.head(0), title, total, full_table, note, None)
    return page


def html_pages(
    df: pd.DataFrame,
    title: str,
    *,
    max_bytes: int | None = MAX_BYTES,
    note: str | None = None,
) -> list[tuple[str, int, int]]:
    """``df`` as consecutive pages (made as :func:`html_table`), each holding whole
    rows and fitting in ``max_bytes``, so that every row is in one page however long
    the table. Returns ``(page, first row, end row)`` for each page; each page's note
    says which rows of how many it holds, then ``note``."""
    total, out, start = len(df), [], 0
    room = None if max_bytes is None else max_bytes - 1000  # for the page's own note
    while start < total or not out:
        rest = df.iloc[start:]
        shown = len(rest)
        for body in (_itables_body, _plain_body):
            try:
                _, shown = _fit(rest, min(len(rest), MAX_ROWS), title, len(rest), None, None,
                                body, room)  # fmt: skip
                break
            except ImportError:
                continue
        end = start + max(1, shown)
        out.append((start, end))
        start = end
    pages = []
    for i, (start, end) in enumerate(out, 1):
        which = f"Rows {start + 1:,} to {end:,} of {total:,} (page {i} of {len(out)})."
        if len(out) == 1:
            which = ""
        extra = " ".join(t for t in (which, note or "") if t) or None
        page = html_table(df.iloc[start:end], title, max_rows=None, max_bytes=None, note=extra)
        pages.append((page, start, end))
    return pages


def _fit(df, n, title, total, full_table, note, body, max_bytes) -> tuple[str, int]:
    """The page of the first rows of ``df`` (at most ``n``) that fits in ``max_bytes``."""
    empty_size = None
    while True:
        page = _table_page(df.head(n), title, total, full_table, note, body)
        size = len(page.encode("utf-8"))
        if max_bytes is None or size <= max_bytes or n == 0:
            return page, n
        if empty_size is None:
            empty = _table_page(df.head(0), title, total, full_table, note, body)
            empty_size = len(empty.encode("utf-8"))
        per_row = max(1.0, (size - empty_size) / n)
        n = max(0, min(n - 1, int((max_bytes - empty_size) / per_row * 0.98)))


def _table_page(
    shown: pd.DataFrame, title: str, total: int, full_table: str | None, extra, body
) -> str:
    text = ""
    where = f"<code>{html.escape(full_table)}</code>" if full_table else ""
    if body is None:  # no rows at all: the table does not fit
        text = f"The table's {total:,} rows are more than a page of the report holds."
        text += f" The full table is {where}." if where else ""
    elif len(shown) < total:
        text = f"Showing the first {len(shown):,} of {total:,} rows."
        text += f" The full table is {where}." if where else ""
    elif where:
        text = f"{total:,} rows, as in {where}."
    if extra:
        text = f"{text} {html.escape(extra)}".strip()
    text = f"<p class='note'>{text}</p>" if text else ""
    rows = body(shown) if body is not None else ""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em;font-size:13px}"
        "h2{font-size:16px}.note{color:#555}</style>"
        f"</head><body><h2>{html.escape(title)}</h2>{text}{rows}</body></html>\n"
    )


def _for_browser(df: pd.DataFrame) -> pd.DataFrame:
    """Floats as nullable floats (NaN -> null -> an empty cell), text as str."""
    out = df.reset_index(drop=True).copy()
    out.columns = [str(c) for c in out.columns]
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_float_dtype(s.dtype):
            out[col] = s.astype("Float64")
        elif pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            if s.isna().any():
                out[col] = s.astype("Float64")
        else:
            out[col] = s.map(lambda v: "" if v is None or v is pd.NA or v != v else str(v))
    return out


def _itables_body(df: pd.DataFrame) -> str:
    # generate_init_offline_itables_html is not exported by itables: pin itables
    # (itables==2.9.*). It inlines the DataTables bundle so the page needs no network.
    import itables
    from itables import options as itables_options
    from itables.javascript import generate_init_offline_itables_html

    table = itables.to_html_datatable(
        _for_browser(df),
        connected=False,
        display_logo_when_loading=False,
        maxBytes=0,
        maxRows=0,
        maxColumns=0,
        showIndex=False,
        format_floats_in_python=False,
        allow_html=False,
        lengthMenu=[10, 25, 100, 500],
        pageLength=25,
        classes="display compact",
        css="table.dataTable td{white-space:pre}",
        text_in_header_can_be_selected=False,
        scrollX=True,
    )
    return generate_init_offline_itables_html(itables_options.dt_bundle) + table


_PLAIN_SCRIPT = """<script>
(function () {
  var t = document.getElementById("t"), f = document.getElementById("f");
  var rows = Array.prototype.slice.call(t.tBodies[0].rows);
  f.addEventListener("input", function () {
    var q = f.value.toLowerCase();
    rows.forEach(function (r) {
      r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
    });
  });
  Array.prototype.forEach.call(t.tHead.rows[0].cells, function (th, i) {
    var asc = true;
    th.style.cursor = "pointer";
    th.addEventListener("click", function () {
      rows.sort(function (a, b) {
        var x = a.cells[i].textContent, y = b.cells[i].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny) && isFinite(x) && isFinite(y))
          ? nx - ny : (x < y ? -1 : x > y ? 1 : 0);
        return asc ? c : -c;
      });
      asc = !asc;
      rows.forEach(function (r) { t.tBodies[0].appendChild(r); });
    });
  });
})();
</script>"""


def _cell(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.7g}"
    return html.escape(str(value))


def _plain_body(df: pd.DataFrame) -> str:
    # built by hand: df.to_html drops leading spaces and writes a tab as "\t"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False, name=None)
    )
    table = f"<table id='t'><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"
    return (
        "<style>table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
        "white-space:pre}</style>"
        "<p><input id='f' placeholder='filter rows' size='30'> (click a heading to sort)</p>"
        + table
        + _PLAIN_SCRIPT
    )
