"""Hostile and broken XML through the one hardened parser: each gives a clear error, fast, bounded memory."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys
import textwrap
import time

import pytest

from bridge.ports import DecodeError, HostileInput
from bridge.safexml import parse_bytes, safe_iterparse

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<r><a>&x;</a></r>"""
XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]>
<r><a>&x;</a></r>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<r><a>&lol9;</a></r>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">
<r><a>1</a></r>"""

HOSTILE = {
    "xxe-file": XXE_FILE,
    "xxe-network": XXE_NETWORK,
    "billion-laughs": BILLION_LAUGHS,
    "external-dtd": EXTERNAL_DTD,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_parse_bytes_refuses_doctype_documents(name: str) -> None:
    """Every DOCTYPE-carrying attack document is refused as HostileInput by parse_bytes."""
    with pytest.raises(HostileInput, match=r"DOCTYPE|amplification"):
        parse_bytes(HOSTILE[name], origin="evil.xml")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_iterparse_refuses_doctype_before_any_record(name: str) -> None:
    """Streaming refuses the document before yielding a single record, and names the file."""
    seen = []
    with pytest.raises(HostileInput) as info:
        for element in safe_iterparse(io.BytesIO(HOSTILE[name]), tag="a", origin="evil.xml"):
            seen.append(element.text)
    assert seen == []
    assert info.value.location is not None and info.value.location.file == "evil.xml"


def test_xxe_never_reads_the_file() -> None:
    """No entity content (such as /etc/passwd) appears anywhere in the error raised for XXE."""
    with pytest.raises(HostileInput) as info:
        parse_bytes(XXE_FILE)
    assert "root:" not in str(info.value)


def test_truncated_file_is_a_decode_error_with_line() -> None:
    """A truncated document fails the batch with a DecodeError carrying the line number."""
    data = b"<r>\n<a>1</a>\n<a>2</a>\n<a>3"
    with pytest.raises(DecodeError) as info:
        list(safe_iterparse(io.BytesIO(data), tag="a", origin="cut.xml"))
    assert not isinstance(info.value, HostileInput)
    assert info.value.location is not None and info.value.location.line is not None
    assert info.value.location.line >= 4


def test_invalid_utf8_is_a_decode_error() -> None:
    """A byte sequence invalid in a UTF-8-declared file is a DecodeError naming line and column."""
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n<r>\n<a>caf\xe9</a></r>'
    with pytest.raises(DecodeError) as info:
        list(safe_iterparse(io.BytesIO(data), tag="a"))
    assert info.value.location is not None and info.value.location.line == 3


def test_bom_is_accepted() -> None:
    """A UTF-8 byte-order mark before the declaration is accepted and the text decoded."""
    data = b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?><r><a>\xc3\xa9</a></r>'
    assert [e.text for e in safe_iterparse(io.BytesIO(data), tag="a")] == ["é"]
    assert parse_bytes(data)[0].text == "é"


def test_mixed_line_endings_keep_line_numbers() -> None:
    """CRLF and LF mixed in one file parse, and text is normalised to LF."""
    data = b"<r>\r\n<a>x\r\ny</a>\n<a>2</a>\r\n</r>"
    elements = [(e.text, e.sourceline) for e in safe_iterparse(io.BytesIO(data), tag="a")]
    assert elements == [("x\ny", 2), ("2", 4)]


class _HugeTextStream(io.RawIOBase):
    """A stream producing <r><a>xxxx...</a></r> with ``size`` bytes of text, never stored whole."""

    def __init__(self, size: int) -> None:
        self._head = b"<r><a>"
        self._left = size
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = len(buffer)
        if self._head:
            chunk, self._head = self._head[:n], self._head[n:]
        elif self._left > 0:
            chunk = b"x" * min(n, self._left)
            self._left -= len(chunk)
        else:
            return 0
        buffer[: len(chunk)] = chunk
        self.produced += len(chunk)
        return len(chunk)


def test_huge_text_node_fails_fast_in_process() -> None:
    """A 500 MB text node is refused as HostileInput after reading only a few MB, within seconds."""
    stream = _HugeTextStream(500 * 1024 * 1024)
    started = time.monotonic()
    with pytest.raises(HostileInput):
        list(safe_iterparse(stream, tag="a"))
    assert time.monotonic() - started < 10
    assert stream.produced < 64 * 1024 * 1024


def test_huge_text_node_memory_is_bounded() -> None:
    """Parsing a streamed 300 MB text node in a fresh process peaks below 100 MB of RSS."""
    script = textwrap.dedent(
        """
        import io, sys
        sys.path[:0] = sys.argv[1:]
        exec(sys.stdin.read())
        from bridge.safexml import safe_iterparse
        from bridge.ports import HostileInput
        try:
            list(safe_iterparse(_HugeTextStream(300 * 1024 * 1024), tag="a"))
        except HostileInput:
            # VmHWM is this process image's peak; ru_maxrss would include the forking pytest's peak
            status = open("/proc/self/status").read()
            print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        """
    )
    import pathlib

    root = str(pathlib.Path(__file__).resolve().parents[3])
    source = inspect.getsource(_HugeTextStream)
    out = subprocess.run(
        [sys.executable, "-c", script, root], input="import io\n" + source, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    peak_kb = int(out.stdout.strip())
    assert peak_kb < 100 * 1024
