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
    2,900 statistics rows with itables, 5,000 in the plain fallback): the first
    rows in ``df``'s order, with a note above the table saying how many of how
    many are shown and where the full table is (``full_table``, e.g.
    ``results/zonal_stats.csv``; named, not linked: a page in a ``data:`` URL
    has no address to resolve a relative link against). Pass ``max_bytes=None``
    for a zip report (``--report report.zip``), where pages are files. itables'
    own ``maxBytes`` downsampling (64 KB by default, silently dropping rows from
    the middle) is switched off; DataTables' server-side mode needs a server,
    which an offline report has not.
    """
    total = len(df)
    n = min(total, max_rows) if max_rows is not None else total
    empty_size = None
    while True:
        page = _table_page(df.head(n), title, total, full_table)
        size = len(page.encode("utf-8"))
        if max_bytes is None or size <= max_bytes or n == 0:
            return page
        if empty_size is None:
            empty_size = len(_table_page(df.head(0), title, total, full_table).encode("utf-8"))
        per_row = max(1.0, (size - empty_size) / n)
        n = max(0, min(n - 1, int((max_bytes - empty_size) / per_row * 0.98)))


def _table_page(shown: pd.DataFrame, title: str, total: int, full_table: str | None) -> str:
    note = ""
    where = f"<code>{html.escape(full_table)}</code>" if full_table else ""
    if len(shown) < total:
        note = f"Showing the first {len(shown):,} of {total:,} rows."
        note += f" The full table is {where}." if where else ""
    elif where:
        note = f"{total:,} rows, as in {where}."
    note = f"<p class='note'>{note}</p>" if note else ""
    try:
        body = _itables_body(shown)
    except ImportError:
        body = _plain_body(shown)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em;font-size:13px}"
        "h2{font-size:16px}.note{color:#555}</style>"
        f"</head><body><h2>{html.escape(title)}</h2>{note}{body}</body></html>\n"
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
