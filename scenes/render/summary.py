"""The table printed at the end of ./render.sh: one row per scene (video seconds, render
seconds, their ratio, the output) and a total with the wall time."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .media import video_seconds


@dataclasses.dataclass
class Row:
    scene: str
    class_name: str
    video: Path | None = None
    video_s: float | None = None
    render_s: float | None = None     # wall time from its first job's start to its last's end
    pieces: int = 1
    extras: list[Path] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    check: dict | None = None         # --check: the scene's findings (check_entry's result)
    check_file: Path | None = None

    @property
    def check_failed(self) -> bool:
        return bool(self.check and self.check["problems"])


#: Problems of a scene's --check printed in the summary (the rest: in its JSON file).
CHECK_LINES = 5


def check_lines(r: Row) -> list[str]:
    """The summary's lines for a scene's --check: one line of counts, then the first
    problems (legibility, then ledger) and where the rest are."""
    if r.check is None:
        return []
    from scenes.kit.check_cli import problem_lines

    c = r.check
    led = c["ledger"]
    counts = (f"check: {len(c['beats'])} beats, {c['problems']} problem(s)"
              + (f"; ledger {led['shown']} equation(s), {len(led['wrong'])} wrong" if led else ""))
    lines = problem_lines(c)
    out = [("! " if c["problems"] else "") + counts]
    out += [f"! {ln}" for ln in lines[:CHECK_LINES]]
    if len(lines) > CHECK_LINES or (lines and r.check_file):
        out.append(f"  all {len(lines)}: {r.check_file}")
    return out


def print_summary(rows: list[Row], lecture: Path | None, html: list[Path], wall: float) -> None:
    head = f"{'scene':<22} {'video s':>8} {'render s':>9} {'render/video':>13}  output"
    print()
    print(head)
    print("-" * len(head))
    for r in rows:
        vs = f"{r.video_s:.1f}" if r.video_s is not None else "—"
        rs = f"{r.render_s:.1f}" if r.render_s is not None else "—"
        rtf = f"{r.render_s / r.video_s:.2f}" if r.video_s and r.render_s else "—"
        outp = str(r.video) if r.video else "FAILED"
        notes = [" ".join(p.suffix for p in r.extras)] if r.extras else []
        if r.pieces > 1:
            notes.append(f"{r.pieces} pieces")
        print(f"{r.scene:<22} {vs:>8} {rs:>9} {rtf:>13}  {outp}"
              + (f" (+ {', '.join(notes)})" if notes else ""))
        for line in [*(f"! {e}" for e in r.errors), *check_lines(r)]:
            print(f"{'':<22} {'':>8} {'':>9} {'':>13}  {line}")
    total_v = sum(r.video_s or 0 for r in rows)
    total_r = sum(r.render_s or 0 for r in rows)
    print("-" * len(head))
    ratio = f"{wall / total_v:.2f}" if total_v else "—"
    print(f"{'total':<22} {total_v:>8.1f} {total_r:>9.1f} {'':>13}  wall {wall:.1f} s "
          f"(wall/video {ratio})")
    if lecture:
        print(f"lecture: {lecture} ({video_seconds(lecture) or 0:.1f} s)")
    for h in html:
        print(f"slides: {h}")
