"""Turn mail bytes into the text a reader sees: charsets, HTML, RTF, text-or-binary sniffing.

Nothing here evaluates content: HTML is tokenised by the stdlib parser (no scripts, no CSS, no
network), RTF by a small control-word stripper. All decoding uses ``errors="replace"``.
"""

from __future__ import annotations

import codecs
import html
import re
from html.parser import HTMLParser

# Windows code page numbers (PR_INTERNET_CPID, PR_MESSAGE_CODEPAGE) that are not "cpNNN" in Python.
_CODEPAGES = {
    1200: "utf-16-le",
    1201: "utf-16-be",
    20127: "ascii",
    20866: "koi8-r",
    21866: "koi8-u",
    50220: "iso2022_jp",
    50221: "iso2022_jp_ext",
    50222: "iso2022_jp",
    50225: "iso2022_kr",
    51932: "euc_jp",
    51936: "gb2312",
    51949: "euc_kr",
    52936: "hz",
    54936: "gb18030",
    65000: "utf-7",
    65001: "utf-8",
    **{28590 + n: f"iso8859_{n}" for n in range(1, 16)},
}

_BINARY_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"RIFF",
    b"\x1f\x8b",
    b"7z\xbc\xaf",
    b"Rar!",
    b"MZ",
    b"\x7fELF",
    b"\xd0\xcf\x11\xe0",
    b"PK\x03\x04",
    b"BZh",
    b"\xfd7zXZ",
    b"\x00\x00\x01\x00",  # .ico
    b"OggS",
    b"ID3",
    b"\x1aE\xdf\xa3",  # mkv/webm
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13, 27, 8}) + b"\x7f"
_SNIFF = 8192


def codec_for(charset: str | int | None) -> str | None:
    """A Python text codec name for a MIME charset or Windows code page, or None if unknown.

    Rejects bytes-to-bytes codecs such as ``base64`` or ``rot13`` that a hostile header might name.
    """
    if charset is None or charset == "":
        return None
    if isinstance(charset, int):
        name = _CODEPAGES.get(charset, f"cp{charset}")
    else:
        name = charset.strip().strip('"').lower()
        if name.isascii() and name.isdigit() and len(name) < 8:
            return codec_for(int(name))
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def bom_codec(data: bytes) -> str | None:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def decode(data: bytes, charset: str | int | None = None) -> str:
    """Bytes to text: BOM, then the declared charset, then UTF-8, then cp1252 (never raises)."""
    name = bom_codec(data) or codec_for(charset)
    if name:
        try:
            return data.decode(name, errors="replace")
        except Exception:  # a few stdlib codecs raise despite errors="replace" on odd input
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def looks_textual(data: bytes) -> bool:
    """True when ``data`` is text a secret rule could match: judged by content, not by file name."""
    if not data:
        return False
    if bom_codec(data):
        return True
    head = data[:_SNIFF]
    if head.startswith(_BINARY_MAGIC):
        return False
    if b"\x00" in head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL))
    if controls * 20 > len(head):  # more than 5 % control bytes
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as err:
        if err.start >= len(head) - 4:  # a multi-byte character cut by the sniff window
            return True
    # not UTF-8: accept single-byte text (latin-1, cp1252) if it is mostly printable ASCII
    ascii_printable = sum(1 for b in head if 32 <= b < 127 or b in (9, 10, 13))
    return ascii_printable * 10 >= len(head) * 7


_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "tr",
        "li",
        "ul",
        "ol",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "title",
        "dt",
        "dd",
        "address",
        "form",
        "fieldset",
    ]
)
_SKIP_TAGS = frozenset(("script", "style", "head", "template", "noscript", "xml"))
_VOID_TAGS = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
)
_WS = re.compile(r"[ \t\r\f\v]+")
_BLANKS = re.compile(r"\n\s*\n\s*\n+")


class _HtmlText(HTMLParser):
    """Collects visible text; link targets are kept after the link text, as text mail clients do."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.hrefs: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append("\t")
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href"))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self.skip:
                self.out.append(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            return
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.out.append("\n")
        elif tag == "a" and self.hrefs:
            href = self.hrefs.pop()
            if href and not self.skip and not href.lower().startswith(("#", "javascript:")):
                self.out.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body: tags, scripts, styles and comments dropped, entities decoded."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient, but never let odd markup stop a scan
        pass
    lines = (_WS.sub(" ", line).strip() for line in "".join(parser.out).split("\n"))
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip() + "\n"


def html_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in its first bytes (<meta charset=...>)."""
    m = re.search(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", data[:4096], re.I)
    return m.group(1).decode("ascii") if m else None


# RTF: destinations whose text a reader does not see.
_RTF_SKIP = frozenset(
    [
        "fonttbl",
        "colortbl",
        "stylesheet",
        "info",
        "pict",
        "object",
        "themedata",
        "datastore",
        "latentstyles",
        "listtable",
        "listoverridetable",
        "rsidtbl",
        "generator",
        "xmlnstbl",
        "mmathPr",
        "header",
        "footer",
        "filetbl",
        "revtbl",
    ]
)
_RTF_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])|[\r\n]+|([^\\{}\r\n]+)", re.S
)
_RTF_LINK = re.compile(rb"HYPERLINK\s+\"([^\"]{1,2000})\"")
_RTF_BREAKS = frozenset((b"par", b"line", b"row", b"sect", b"page"))


def rtf_to_text(rtf: bytes, codepage: int | None = None) -> str:
    """Visible text of an RTF body (control words dropped, \\'hh and \\uN decoded).

    Outlook's HTML-in-RTF (``\fromhtml``, [MS-OXRTFEX]) is de-encapsulated first: the
    ``\\*\\htmltag`` groups and the text outside ``\\htmlrtf`` blocks rebuild the original HTML,
    which then goes through :func:`html_to_text` like any HTML body. ``HYPERLINK`` field targets
    of plain RTF are kept as `` <url>``.
    """
    m = re.search(rb"\\ansicpg(\d{1,5})", rtf[:2048])
    codec = (codec_for(int(m.group(1))) if m else None) or codec_for(codepage) or "cp1252"
    fromhtml = b"\\fromhtml" in rtf[:4096]
    out: list[str] = []
    pending = bytearray()  # \'hh bytes, decoded together so multi-byte code pages work
    # per group: skipped destination, \uc value, inside \htmlrtf, inside an \htmltag
    stack: list[tuple[bool, int, bool, bool]] = []
    skip = rtf_only = in_tag = star = False
    uc, drop = 1, 0
    link: list[bytes] | None = None  # text of a \fldinst group, searched for HYPERLINK "url"
    link_level = 0

    def emit(text: str) -> None:
        out.append(html.escape(text, quote=False) if fromhtml and not in_tag else text)

    def flush() -> None:
        if pending:
            emit(bytes(pending).decode(codec, errors="replace"))
            pending.clear()

    for tok in _RTF_TOKEN.finditer(rtf):
        word, arg, hexbyte, sym, brace, text = tok.groups()
        if brace is not None:
            flush()
            if brace == b"{":
                stack.append((skip, uc, rtf_only, in_tag))
                star = False
                continue
            if link is not None and len(stack) == link_level:
                found = _RTF_LINK.search(b"".join(link))
                if found:
                    emit(f" <{found.group(1).decode(codec, errors='replace')}> ")
                link = None
            skip, uc, rtf_only, in_tag = stack.pop() if stack else (False, 1, False, False)
            continue
        if word is not None:
            if skip:
                continue
            flush()
            name = word.decode("ascii")
            if fromhtml and name in ("htmltag", "mhtmltag"):
                in_tag, star = True, False
                continue
            if name == "fldinst" and not fromhtml:
                link, link_level = [], len(stack)
            if star or name in _RTF_SKIP or name == "fldinst":
                skip, star = True, False
                continue
            if name == "htmlrtf" and fromhtml:
                rtf_only = arg != b"0"
                continue
            if rtf_only and not in_tag:
                continue
            if name == "uc" and arg:
                uc = int(arg)
            elif name == "u" and arg:
                code = int(arg) % 65536
                emit(chr(code) if not 0xD800 <= code < 0xE000 else "\ufffd")
                drop = uc
            elif word in _RTF_BREAKS:
                emit("\n")
            elif name == "tab":
                emit("\t")
            continue
        if sym is not None:
            if sym == b"*":
                star = True
            elif not skip and not (rtf_only and not in_tag) and sym in b"\\{}":
                flush()
                emit(sym.decode("ascii"))
            continue
        if skip:
            if link is not None and text is not None:
                link.append(text)
            continue
        if rtf_only and not in_tag:
            continue
        if hexbyte is not None:
            if drop:
                drop -= 1
            else:
                pending.append(int(hexbyte, 16))
            continue
        if text is not None:
            flush()
            if drop:
                n = min(drop, len(text))
                text, drop = text[n:], drop - n
            emit(text.decode(codec, errors="replace"))
    flush()
    result = "".join(out)
    return html_to_text(result) if fromhtml else result


def lzfu_decompress(data: bytes, limit: int) -> bytes:
    """Decompress Outlook's compressed RTF (PR_RTF_COMPRESSED, [MS-OXRTFCP] LZFu), at most ``limit`` bytes.

    Raises ValueError on a malformed header. Uncompressed ("MELA") content is returned as is.
    """
    if len(data) < 16:
        raise ValueError("compressed RTF header truncated")
    raw_size = int.from_bytes(data[4:8], "little")
    magic = data[8:12]
    if magic == b"MELA":
        return data[16 : 16 + min(raw_size, limit)]
    if magic != b"LZFu":
        raise ValueError("not compressed RTF")
    prefix = (
        b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern "
        b"\\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0"
        b"\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"
    )
    window = bytearray(4096)
    window[: len(prefix)] = prefix
    pos = len(prefix)
    out = bytearray()
    i, end = 16, len(data)
    while i < end and len(out) < limit:
        flags = data[i]
        i += 1
        for bit in range(8):
            if i >= end or len(out) >= limit:
                break
            if flags & (1 << bit):
                if i + 1 >= end:
                    return bytes(out)
                ref = (data[i] << 8) | data[i + 1]
                i += 2
                offset, length = ref >> 4, (ref & 0xF) + 2
                if offset == pos:
                    return bytes(out)
                for k in range(length):
                    b = window[(offset + k) % 4096]
                    out.append(b)
                    window[pos] = b
                    pos = (pos + 1) % 4096
            else:
                b = data[i]
                i += 1
                out.append(b)
                window[pos] = b
                pos = (pos + 1) % 4096
    return bytes(out[:limit])


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_name(name: str | None, fallback: str, limit: int = 200) -> str:
    """An attachment or member name fit for a display path (control and bidi characters removed)."""
    if not name:
        return fallback
    name = _UNSAFE_NAME.sub("_", name).replace("\\", "/").strip()
    name = name.lstrip("/")
    return (name[:limit] if name else fallback) or fallback
