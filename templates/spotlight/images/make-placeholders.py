#!/usr/bin/python3
"""Draw the placeholder pictures of the sample issue (no downloads).

The seed bulletin names its photographs but ships no image files, so the
sample issue points at these neutral silhouettes instead: one of a group
of four people and one of a single person.  Replace them with the real
photographs, keeping the file names or changing src in sample.yaml.
Writes 8-bit greyscale PNGs with zlib; run from this directory.
"""
import struct
import zlib

BG, FG, FRAME = 232, 176, 210
SS = 3          # supersampling, for smooth edges


def person(px, py, cx, cy, r):
    """1 when (px, py) falls in a head of radius r at (cx, cy) or its shoulders."""
    if (px - cx) ** 2 + (py - cy) ** 2 <= r * r:
        return True
    top = cy + r * 1.25           # shoulders: the top half of an ellipse
    if py >= top:
        ex, ey = r * 2.0, r * 1.9
        return ((px - cx) / ex) ** 2 + ((py - (top + ey)) / ey) ** 2 <= 1
    return False


def draw(name, width, height, people):
    rows = []
    for y in range(height):
        row = bytearray([0])      # filter type: none
        for x in range(width):
            hit = 0
            for sy in range(SS):
                for sx in range(SS):
                    px, py = x + (sx + .5) / SS, y + (sy + .5) / SS
                    if any(person(px, py, cx, cy, r) for cx, cy, r in people):
                        hit += 1
            v = BG + (FG - BG) * hit / (SS * SS)
            if x < 2 or y < 2 or x >= width - 2 or y >= height - 2:
                v = FRAME
            row.append(int(round(v)))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(name, "wb") as f:
        f.write(png)


W, H = 536, 300
draw("group-of-four.png", W, H,
     [(W * (i + 1) / 5, H * 0.38, 34) for i in range(4)])
draw("portrait.png", 268, 300, [(134, 120, 48)])
