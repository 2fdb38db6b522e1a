"""
escpos.py: read back what branchqd sent to the thermal printer.

parse() walks the ESC/POS commands branchq uses (printer/escpos.c) and
returns the printed lines, decoded from GB18030 with the size, bold and
inverse in force, the raster images (GS v 0) and whether the paper was cut.
An unknown command is an error: a test should notice a byte it does not
understand rather than print it as text.

A GS v 0 image is rows of dots, most significant bit leftmost, 1 = black,
which is exactly a PBM (P4) image's data: pbm() prefixes the header, and
zbar() reads the QR code from it (or from a PNG) with zbarimg.

Python standard library only, plus zbarimg (Debian package zbar-tools).
"""
import os
import shutil
import struct
import subprocess
import zlib

from harness import Failure


class Ticket:
    def __init__(self):
        self.lines = []        # dicts: text, size (GS ! value), bold, inverse, align, small
        self.images = []       # (width in bytes, height in dots, bytes)
        self.init = False
        self.chinese_mode = False
        self.cut = False
        self.feed = 0

    def texts(self):
        return [ln["text"] for ln in self.lines]

    def line(self, text):
        for ln in self.lines:
            if ln["text"] == text:
                return ln
        raise Failure("no printed line %r in %r" % (text, self.texts()))

    def number(self):
        """The ticket's number: the first line printed at 8 times (GS ! 0x77)."""
        for ln in self.lines:
            if ln["size"] == 0x77:
                return ln["text"]
        raise Failure("no line at 8 times in %r" % self.texts())

    def index(self, text):
        self.line(text)
        return self.texts().index(text)


def parse(data):
    t = Ticket()
    state = {"size": 0, "bold": False, "inverse": False, "align": 0, "small": False}
    text = bytearray()
    i, n = 0, len(data)

    def need(k):
        if i + k > n:
            raise Failure("ESC/POS: command at byte %d cut short" % i)

    while i < n:
        b = data[i]
        if b == 0x0A:
            ln = dict(state)
            try:
                ln["text"] = bytes(text).decode("gb18030")
            except UnicodeDecodeError as e:
                raise Failure("ESC/POS: text is not GB18030: %r (%s)" % (bytes(text), e))
            t.lines.append(ln)
            text.clear()
            i += 1
        elif b == 0x1B:
            need(2)
            c = data[i + 1]
            if c == ord("@"):
                t.init = True
                i += 2
            elif c in b"aMEd":
                need(3)
                v = data[i + 2]
                if c == ord("a"):
                    state["align"] = v
                elif c == ord("M"):
                    state["small"] = v == 1
                elif c == ord("E"):
                    state["bold"] = v == 1
                else:
                    t.feed += v
                i += 3
            else:
                raise Failure("ESC/POS: unknown command ESC %r at byte %d" % (chr(c), i))
        elif b == 0x1C:
            need(2)
            if data[i + 1] != ord("&"):
                raise Failure("ESC/POS: unknown command FS %r at byte %d" % (chr(data[i + 1]), i))
            t.chinese_mode = True
            i += 2
        elif b == 0x1D:
            need(2)
            c = data[i + 1]
            if c == ord("!"):
                need(3)
                state["size"] = data[i + 2]
                i += 3
            elif c == ord("B"):
                need(3)
                state["inverse"] = data[i + 2] == 1
                i += 3
            elif c == ord("v"):
                need(8)
                if data[i + 2] != ord("0"):
                    raise Failure("ESC/POS: GS v %r is not GS v 0" % data[i + 2])
                xb = data[i + 4] | data[i + 5] << 8
                h = data[i + 6] | data[i + 7] << 8
                need(8 + xb * h)
                t.images.append((xb, h, bytes(data[i + 8:i + 8 + xb * h])))
                i += 8 + xb * h
            elif c == ord("V"):
                need(3)
                m = data[i + 2]
                t.cut = True
                i += 4 if m in (65, 66) else 3
            else:
                raise Failure("ESC/POS: unknown command GS %r at byte %d" % (chr(c), i))
        else:
            text.append(b)
            i += 1
    if text:
        raise Failure("ESC/POS: text after the last line feed: %r" % bytes(text))
    return t


def pbm(image):
    """A GS v 0 image as a PBM (P4) file."""
    xb, h, bits = image
    return b"P4\n%d %d\n" % (xb * 8, h) + bits


def png(image):
    """A GS v 0 image as a 1-bit PNG file (black dots on white), for a person to look at."""
    xb, h, bits = image

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    # PNG greyscale: 0 is black, so the printer's 1 = black bits are inverted.
    rows = b"".join(b"\0" + bytes(255 - c for c in bits[y * xb:(y + 1) * xb]) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", xb * 8, h, 1, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def zbar(path):
    """The QR code's text in an image file, by zbarimg; a Failure when none is found."""
    if shutil.which("zbarimg") is None:
        raise Failure("zbarimg is not installed: make deps-test installs it (DEBS_TEST: zbar-tools)")
    r = subprocess.run(["zbarimg", "--nodbus", "-q", "--raw", path], capture_output=True)
    if r.returncode != 0:
        raise Failure("zbarimg found no code in %s (exit %d): %s" % (path, r.returncode,
                                                                    r.stderr.decode(errors="replace")))
    return r.stdout.decode().strip()


ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "artifacts")


def save_artifact(name, data):
    """Keep a file for a person to look at in tests/artifacts/ (git-ignored); its path."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name)
    with open(path, "wb") as f:
        f.write(data)
    return os.path.abspath(path)
