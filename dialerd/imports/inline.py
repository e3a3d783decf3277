"""An .xlsx file's shared strings put back into its cells, so that reading it holds no table of
every text of the workbook.

Excel (and most writers) keep each distinct text of a workbook once, in ``xl/sharedStrings.xml``,
and a text cell holds its index there (``<c t="s"><v>17</v></c>``). A streaming reader must hold
that table whole to give a row (python-calamine-plus does: about 77 bytes per distinct text).
``inline`` writes a copy of the file whose text cells carry their text (``<c t="inlineStr">``,
the same content model as the table's entries) and whose table is empty; every other part is
copied as it is. The table's entries go to a scratch file, with one of their offsets, and are
read back with ``os.pread``, so memory stays flat: a pass over the table, then one over each
worksheet's XML, each a segment of whole elements (256 kB) at a time.

A text cell of a shape the pass does not know (a comment inside it, say) leaves the file as it
was: it is read with its table, as before.
"""

from __future__ import annotations

import array
import itertools
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

SHARED_STRINGS = "xl/sharedStrings.xml"  # where calamine looks for the table
_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_EMPTY_TABLE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    b' count="0" uniqueCount="0"/>'
)
_SEGMENT = 1 << 18  # 256 kB of XML at a time
_BLOCK = 128  # entries read at a time
_BLOCKS_KEPT = 64

_ATTRS = rb"(?:\s+[^\s=>/]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*"
# A shared-string cell: <c ... t="s" ...>[<f>…</f>]<v>N</v></c>, with any namespace prefix.
_CELL = re.compile(
    rb"<(?P<p>(?:[A-Za-z_][\w.-]*:)?)c(?P<a>" + _ATTRS + rb"?)\s+t\s*=\s*(?:\"s\"|'s')"
    rb"(?P<b>" + _ATTRS + rb")\s*>\s*"
    rb"(?:<(?P=p)f\b[^>]*/>\s*|<(?P=p)f\b[^>]*>[^<]*</(?P=p)f>\s*)?"
    rb"<(?P=p)v>\s*(?P<i>\d+)\s*</(?P=p)v>\s*</(?P=p)c>"
)
# A shared-string cell the pattern above did not take.
_LEFT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*\bt\s*=\s*(?:\"s\"|'s')")
_ROOT_PREFIX = re.compile(rb"<(?P<p>(?:[A-Za-z_][\w.-]*:)?)worksheet\b")
_TABLE = re.compile(rb"<(?P<p>(?:[A-Za-z_][\w.-]*:)?)sst\b[^>]*>")


class Damaged(Exception):
    """The table has no root element, or a cell points past its end."""


class _Unknown(Exception):
    """A text cell the pass cannot rewrite: the file is kept as it was."""


class _Texts:
    """The table's entries as written (the XML inside each <si>, which is an inline string's
    content too), in a scratch file with one of their offsets; read back a block of entries at
    a time, a few blocks kept (a sheet mostly points to its texts in the order of the table)."""

    def __init__(self, folder: Path) -> None:
        self._texts = os.open(folder / "texts", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._offsets = os.open(folder / "offsets", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self.count = 0
        self._blocks: dict[int, list[bytes]] = {}

    def fill(self, table: IO[bytes]) -> bytes:
        """Copies the table's entries, a segment at a time; the table's namespace prefix."""
        head = table.read(_SEGMENT)
        found = _TABLE.search(head)
        if found is None:
            raise Damaged("its shared strings table has no <sst> element")
        prefix = found.group("p")
        entry = re.compile(rb"<%ssi>(.*?)</%ssi>|<%ssi\s*/>" % (prefix, prefix, prefix), re.DOTALL)
        end = b"</" + prefix + b"si>"
        starts = array.array("Q", [0])
        with (
            open(self._texts, "wb", closefd=False) as texts,
            open(self._offsets, "wb", closefd=False) as offsets,
        ):

            def put(segment: bytes) -> None:
                bodies = entry.findall(segment)  # b"" for an empty entry, <si/>
                texts.write(b"".join(bodies))
                starts.extend(itertools.accumulate(map(len, bodies), initial=starts[-1]))
                del starts[0]  # the previous segment's end, written already
                self.count += len(bodies)
                starts[:-1].tofile(offsets)
                del starts[:-1]

            for segment in _segments(table, head[found.end() :], end):
                put(segment)
            starts.tofile(offsets)  # the end of the last entry
        return prefix

    def get(self, index: int) -> bytes:
        if index >= self.count:
            raise Damaged(f"a cell points to shared string {index} of {self.count}")
        block, item = divmod(index, _BLOCK)
        entries = self._blocks.get(block)
        if entries is None:
            entries = self._read(block)
        return entries[item]

    def _read(self, block: int) -> list[bytes]:
        first = block * _BLOCK
        size = min(_BLOCK, self.count - first)
        starts = array.array("Q")
        starts.frombytes(os.pread(self._offsets, (size + 1) * 8, first * 8))
        data = os.pread(self._texts, starts[-1] - starts[0], starts[0])
        base = starts[0]
        entries = [data[starts[i] - base : starts[i + 1] - base] for i in range(size)]
        if len(self._blocks) >= _BLOCKS_KEPT:
            del self._blocks[next(iter(self._blocks))]  # the oldest read
        self._blocks[block] = entries
        return entries

    def close(self) -> None:
        os.close(self._texts)
        os.close(self._offsets)


def _rewrite(source: IO[bytes], target: IO[bytes], texts: _Texts, prefix: bytes) -> None:
    """Copies a worksheet's XML with its shared-string cells inline, a segment of whole rows
    at a time (a segment ends after its last ``</row>``; cells never span rows). The table's
    entries are copied as written, so the sheet must name the namespace with the same prefix."""
    head = source.read(_SEGMENT)
    found = _ROOT_PREFIX.search(head)
    if found is None or found.group("p") != prefix:
        raise _Unknown
    row_end = b"</" + prefix + b"row>"
    ends = b"</%sis></%sc>" % (prefix, prefix)

    def cell(match: re.Match[bytes]) -> bytes:
        before, after, index = match.groups()[1:]
        return b"<%sc%s t=\"inlineStr\"%s><%sis>%s%s" % (
            prefix, before, after, prefix, texts.get(int(index)), ends,
        )  # fmt: skip

    def put(segment: bytes) -> None:
        done = _CELL.sub(cell, segment)
        # The exact look only where a value "s" is left at all (it is rare: quick).
        if (b'"s"' in done or b"'s'" in done) and _LEFT.search(done):
            raise _Unknown
        target.write(done)

    for segment in _segments(source, head, row_end):
        put(segment)


def _segments(source: IO[bytes], start: bytes, end: bytes) -> Iterator[bytes]:
    """``start``, then the rest of ``source``, in segments of about _SEGMENT that each stop
    right after an ``end`` (the last one read): an element that holds no ``end`` is never
    split between two."""
    pending = start
    while chunk := source.read(_SEGMENT):
        pending += chunk
        cut = pending.rfind(end)
        if cut >= 0:
            cut += len(end)
            yield pending[:cut]
            pending = pending[cut:]
    yield pending


def inline(source: Path, target: Path) -> bool:
    """Writes ``source`` with its shared strings in its cells to ``target``; False (and no
    ``target``) if it has no shared strings table or a text cell of a shape the pass does not
    know. Damaged if a cell points past the table."""
    with zipfile.ZipFile(source) as archive:
        if SHARED_STRINGS not in archive.namelist():
            return False
        with tempfile.TemporaryDirectory(prefix="dialerd-strings-") as folder:
            texts = _Texts(Path(folder))
            try:
                with archive.open(SHARED_STRINGS) as table:
                    prefix = texts.fill(table)
                _write(archive, target, texts, prefix)
            except _Unknown:
                target.unlink()
                return False
            finally:
                texts.close()
    return True


def _write(archive: zipfile.ZipFile, target: Path, texts: _Texts, prefix: bytes) -> None:
    # By name: an entry opened by name gets the archive's compression level.
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for name in archive.namelist():
            if name == SHARED_STRINGS:
                out.writestr(name, _EMPTY_TABLE)
                continue
            with archive.open(name) as part, out.open(name, "w", force_zip64=True) as copy:
                if _WORKSHEET.fullmatch(name):
                    _rewrite(part, copy, texts, prefix)
                else:
                    shutil.copyfileobj(part, copy, _SEGMENT)
