"""Apache's autoindex pages with EOG's Apaxy theme, as the EOG stand-in serves them.

The structure is that of the only public copy (pyalanysis/pyalanysis
``tests/viirsdnb_utils.py`` ``mines_dir_listing``; docs/evidence/eog.md, "Listings"),
described in :mod:`sezlights_standin.eog`'s module doc ("Listings").
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from urllib.parse import quote

THEME = "/wwwdata/viirs_products/dnb_composites/theme"  # Apaxy assets (evidence: Listings)


def apache_size(size: int) -> str:
    """A size as Apache's autoindex prints it: APR's ``apr_strfsize``, padding included.

    ``" 45K"``, ``"532M"``, ``"1.1G"``, ``"512 "`` (bytes), ``"  - "`` for a folder
    (size < 0). Only ``532M``-style values appear in the public EOG listing
    (docs/evidence/eog.md, "Listings"); the rest is stock Apache, so a parser must strip
    the cell.
    """
    if size < 0:
        return "  - "
    if size < 973:
        return f"{size:3d} "
    units = "KMGTPE"
    o = 0
    while True:
        remain = size & 1023
        size >>= 10
        if size >= 973:
            o += 1
            continue
        if size < 9 or (size == 9 and remain < 973):
            remain = (remain * 5 + 256) // 512
            if remain >= 10:
                size, remain = size + 1, 0
            return f"{size}.{remain}{units[o]}"
        if remain >= 512:
            size += 1
        return f"{size:3d}{units[o]}"


_HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
    <title>Index of {title}</title>
    <link rel="stylesheet" href="{theme}/style.css" type="text/css"/>
    <link rel="shortcut icon" href="{theme}/favicon.ico"/>
    <meta name="viewport" content="width=device-width, initial-scale=1"/>
</head>
<body>
    <div class="wrapper">
        <!-- we open the `wrapper` element here, but close it in the `footer.html` file -->

        <ol class="breadcrumb" id="breadcrumb"></ol>

        <input type="search" id="filter" placeholder="filter contents"/>


        EOG Nighttime Light
        <!--{{HEADER-MESSAGE}}-->
        <table id="indexlist">
            <tr class="indexhead">
                <th class="indexcolicon">
                    <img src="{theme}/icons/blank.png" alt="[ICO]"/>
                </th>
                <th class="indexcolname">
                    <a href="?C=N;O=D">Name</a>
                </th>
                <th class="indexcollastmod">
                    <a href="?C=M;O=A">Last modified</a>
                </th>
                <th class="indexcolsize">
                    <a href="?C=S;O=A">Size</a>
                </th>
            </tr>
"""

_FOOT = """        </table>
        <div class="block">
            <!--{{FOOTER-MESSAGE}}-->

        </div>
        <!--/.postlisting-->

    </div>
    <!--/.wrapper-->

    <div class="footer">
      Apaxy by @adamwhitcroft
    </div>
    <!--/.footer-->
    <script src={base}/theme/apaxy.js></script>
</body>
</html>
"""

_ROW = """            <tr class="{parity}">
                <td class="indexcolicon">
                    <a href="{href}">
                        <img src="{icon}" alt="{alt}"/>
                    </a>
                </td>
                <td class="indexcolname">
                    <a href="{href}">{text}</a>
                </td>
                <td class="indexcollastmod">{lastmod}</td>
                <td class="indexcolsize">{size}</td>
            </tr>
"""


def _icon(name: str, is_dir: bool) -> tuple[str, str]:
    if is_dir:
        return "/icons/folder.gif", "[DIR]"
    if name.endswith((".tgz", ".gz", ".tar", ".zip")):
        return "/icons/compressed.gif", "[   ]"  # as in the fixture
    if name.endswith((".tif", ".tiff", ".png")):
        return "/icons/image2.gif", "[IMG]"
    if name.endswith((".txt", ".csv")):
        return "/icons/text.gif", "[TXT]"
    return "/icons/unknown.gif", "[   ]"


def apaxy_listing(
    url_path: str, folder: Path, one_line_rows: bool = False, parent_row: bool = False
) -> bytes:
    """The Apaxy-themed autoindex page of ``folder`` (see the module doc, and
    docs/evidence/eog.md, "Listings").

    Rows sorted by name (Apache's default), hidden files left out; the title is the
    path without its trailing slash, as in the fixture.
    """
    title = url_path.rstrip("/") or "/"
    rows = []
    if parent_row:
        parent = url_path.rstrip("/").rsplit("/", 1)[0] + "/"
        rows.append(
            dict(
                href=quote(parent),
                icon="/icons/back.gif",
                alt="[PARENTDIR]",
                text="Parent Directory",
                lastmod="&nbsp;",
                size=apache_size(-1),
            )
        )
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if p.name.startswith("."):
            continue
        st = p.stat()
        is_dir = p.is_dir()
        name = p.name + ("/" if is_dir else "")
        icon, alt = _icon(p.name, is_dir)
        rows.append(
            dict(
                href=html.escape(quote(name)),
                icon=icon,
                alt=alt,
                text=html.escape(name),
                lastmod=time.strftime("%Y-%m-%d %H:%M  ", time.gmtime(st.st_mtime)),
                size=apache_size(-1 if is_dir else st.st_size),
            )
        )
    out = [_HEAD.format(title=html.escape(title), theme=THEME)]
    for i, row in enumerate(rows):
        text = _ROW.format(parity="odd" if i % 2 else "even", **row)
        if one_line_rows:
            text = "            " + "".join(line.strip() for line in text.splitlines()) + "\n"
        out.append(text)
    out.append(_FOOT.format(base=THEME.removesuffix("theme")))
    return "".join(out).encode()
