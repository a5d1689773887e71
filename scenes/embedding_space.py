"""Embedding space: real token embeddings in 3D, direction arithmetic, dot products.

``manim render scenes/embedding_space.py`` renders :class:`EmbeddingSpaceScene`:

1. ``beat_space`` — the chosen words' real embedding vectors, projected by PCA onto the
   3 directions along which *these words* vary most, as labelled arrows from their mean,
   while the camera turns slowly.
2. ``beat_analogy`` — E(a) − E(b) + E(c) drawn as real arithmetic in the picture, then the
   nearest tokens to it by cosine over the whole vocabulary, with ranks and cosines.
   Nothing is nudged: if the expected answer is not first, the screen says where it is.
3. ``beat_directions`` — dot product as similarity: a direction (mean of differences such
   as cats − cat) and how held-out words score along it.

Knobs (class attributes, or the ``[embedding_space]`` section of a course config):
``words``, ``analogies``, ``directions``, ``exclude_inputs``, ``top_k``, ``vectors``
(``"model"``: this model's embedding rows; ``"word2vec"``: classic GoogleNews word2vec
vectors, labelled as such on screen).
"""
from __future__ import annotations

import textwrap

from typing import Annotated, Any, ClassVar, Literal, Sequence

import numpy as np
from manim import (DEGREES, DOWN, LEFT, ORIGIN, OUT, RIGHT, UL, UP, UR, Arrow, Create,
                   Dot, FadeIn, FadeOut, GrowArrow, Line, ThreeDScene, VGroup, config)

from scenes.kit.analysis.embedding import (Analogy, Direction, PCA3, Vectors, analogy, direction,
                                           pca3, vector_source)
from scenes.kit.camera import ShiftedThreeDCamera
from scenes.kit.labels3d import Obstacles, View, clashes, place_labels
from scenes.kit.course.spec import Range
from scenes.kit.scene import CAPTION_TOP, GPTScene, beat
from scenes.kit.text import num_text, token_label
from scenes.kit.theme import MIN_SIZE, THEME, fmt
from tensors import UserError
from tensors.errors import note

#: Radians the camera turns while the 3D picture is on screen, at the default ``turn_rate``
#: of 0.04 rad/s (beat_space and the caption that opens beat_analogy: under 7.5 s): labels are
#: placed clear in all of it (scaled with the rate: :meth:`EmbeddingSpaceScene._turn_views`).
TURN_SPAN = 0.3


class EmbeddingSpaceScene(GPTScene, ThreeDScene):
    config_section = "embedding_space"
    beats = ("beat_space", "beat_analogy", "beat_directions")

    #: "model" (this model's token embeddings) or "word2vec" (classic vectors, labelled).
    vectors: ClassVar[Literal["model", "word2vec"]] = "model"
    #: Words drawn in the 3D picture (the analogy words are added if missing). A bare word
    #: means the token with its leading space (" king"); each must be a single token.
    words: ClassVar[Sequence[str]] = ("king", "queen", "man", "woman", "boy", "girl",
                                      "cat", "cats", "dog", "dogs")
    #: (a, b, c, expected) → E(a) − E(b) + E(c); expected may be "" (then no claim is made).
    analogies: ClassVar[Sequence[Sequence[str]]] = (("king", "man", "woman", "queen"),)
    #: Rank over everything (False) or leave a, b, c out of the ranking (True, word2vec style).
    exclude_inputs: ClassVar[bool] = False
    #: How many nearest tokens to list.
    top_k: ClassVar[Annotated[int, Range(1, 12)]] = 6
    #: (name, defining pairs (from, to), held-out test pairs (from, to)).
    directions: ClassVar[Sequence[Any]] = (
        ("plural", (("cat", "cats"), ("dog", "dogs"), ("house", "houses"), ("car", "cars")),
         (("bird", "birds"), ("apple", "apples"), ("tree", "trees"), ("book", "books"),
          ("king", "kings"))),
        ("feminine", (("man", "woman"), ("king", "queen"), ("boy", "girl"), ("he", "she")),
         (("father", "mother"), ("brother", "sister"), ("uncle", "aunt"), ("actor", "actress"),
          ("son", "daughter"))),
    )
    #: Radius (frame units) of the longest arrow in the 3D picture.
    radius: ClassVar[Annotated[float, Range(0, 3.5, above=True)]] = 2.6
    #: Camera turn rate (radians per second) while the picture is on screen.
    turn_rate: ClassVar[Annotated[float, Range(-2, 2)]] = 0.04

    captions: ClassVar[dict[str, str]] = {
        "space": "{n} real token embeddings, {dim} numbers each, seen along their "
                 "3 main directions.",
        "space_w2v": "{n} words as word2vec vectors ({dim} numbers each, not this model's), "
                     "along their 3 main directions.",
        "pca": "PCA of these {n} vectors: PC1–PC3 keep {pct} of their spread",
        "arith": "{expr}: real arithmetic, drawn in the same projection.",
        "nearest": "In all {dim} dimensions, the nearest {unit} to {expr}, by cosine over {over}.",
        "verdict_hit": "{exp} is nearest: rank {rank} of {size:,}.",
        "verdict_miss": "{exp} is not nearest: it is rank {rank:,} of {size:,} (cosine {cos}).",
        "verdict_inputs": "{exp} is rank {rank} of {size:,}: only the input {inputs} is nearer.",
        "direction": "A direction is a vector too: its dot product with an embedding "
                     "measures how far the word lies along it.",
        "scores": "Dot product with it, on words not used to build it: {agree} of {n} pairs "
                  "score higher on the “{name}” side.",
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("camera_class", ShiftedThreeDCamera)
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ data
    def prepare(self) -> None:
        self.src: Vectors = vector_source(self.trace, self.vectors)
        words, analogies, directions = self._usable_knobs()
        for an in analogies:
            if len(an) not in (3, 4):
                raise UserError(f"analogies: {tuple(an)!r}: give (a, b, c) or (a, b, c, expected)")
            words += [w for w in an if w and w not in words]
        if len(words) < 3:
            raise UserError(f"words: give at least 3 words (got {len(words)})")
        self.word_list = words
        self.keys = [self.src.key(w, "words") for w in words]
        self.X = self.src.vecs(self.keys)
        self.pca: PCA3 = pca3(self.X)
        r = float(np.linalg.norm(self.pca.coords, axis=1).max()) or 1.0
        self.plot_scale = self.radius / r
        self.analogy_results: list[Analogy] = [
            analogy(self.src, an[0], an[1], an[2], an[3] if len(an) > 3 and an[3] else None,
                    k=self.top_k, exclude_inputs=self.exclude_inputs) for an in analogies]
        self.direction_results: list[Direction] = []
        for d in directions:
            if len(d) != 3:
                raise UserError(f"directions: each is (name, pairs, test_pairs); got {d!r}")
            self.direction_results.append(direction(self.src, d[0], d[1], d[2]))

    def _usable_knobs(self) -> tuple[list, list, list]:
        """Words, analogies and directions to use. A course author's own lists are used as
        given (a word that is several tokens is a UserError naming it). The shipped default
        lists adapt to the model: entries with a word that is not a single token in this
        model's vocabulary are left out, and the scene says which (``self.skipped``)."""
        cls = EmbeddingSpaceScene
        self.skipped: list[str] = []
        if (self.words, self.analogies, self.directions) != (cls.words, cls.analogies, cls.directions):
            return list(dict.fromkeys(self.words)), list(self.analogies), list(self.directions)

        def ok(w: str) -> bool:
            try:
                self.src.key(w)
                return True
            except UserError:
                if w not in self.skipped:
                    self.skipped.append(w)
                return False

        words = [w for w in dict.fromkeys(self.words) if ok(w)]
        analogies = [an for an in self.analogies if all(ok(w) for w in an if w)]
        directions = []
        for name, pairs, tests in self.directions:
            pairs = [p for p in pairs if ok(p[0]) & ok(p[1])]
            tests = [p for p in tests if ok(p[0]) & ok(p[1])]
            if pairs and tests:
                directions.append((name, pairs, tests))
        if self.skipped:
            note(f"embedding_space: left out of the default lists (not one token in "
                 f"{self.trace.info['name']}): {', '.join(self.skipped)}")
        return words, analogies, directions

    def point(self, v: np.ndarray) -> np.ndarray:
        """Where a real vector lands in the picture (the same linear projection for all)."""
        return self.pca.project(v) * self.plot_scale

    # ------------------------------------------------------------------ 2D overlay helpers
    def fixed(self, *mobs: Any) -> None:
        self.add_fixed_in_frame_mobjects(*mobs)

    def caption_in(self, cap):
        """Captions stay fixed in the frame while the camera moves; they fade in by opacity."""
        self.fixed(cap)
        cap.set_opacity(0)
        return cap.animate.set_opacity(1)

    def make_tag(self):
        """Top-right tag: the model's name, or the word2vec source when those are shown."""
        if self.vectors == "model":
            return self.model_tag("token embeddings")
        tag = self.text(self.src.title + "  ·  not this model's", size=THEME.small_size,
                        color=THEME.dim)
        return tag.to_corner(UR, buff=0.3)

    def build_tag(self) -> None:
        self.tag = self.make_tag()
        self.fixed(self.tag)

    def word_label(self, key: int) -> str:
        return self.src.label(key).strip()

    # ------------------------------------------------------------------ beats
    def _picture(self) -> None:
        """The 3D picture's mobjects (axes, arrows, labels, notes), not yet on screen."""
        self.set_camera_orientation(phi=68 * DEGREES, theta=-50 * DEGREES, zoom=1.0)
        self.camera.screen_shift = np.array([-2.6, 0.35, 0.0])
        self.left_note = None
        if self.skipped:
            left = self.text(f"left out (not one token in {self.trace.info['name']}): "
                             + ", ".join(self.skipped), size=MIN_SIZE, color=THEME.dim)
            self.left_note = left.to_corner(UL, buff=0.3)
        L = self.radius * 1.05
        axes = VGroup(*[Line(-L * e, L * e, stroke_color=THEME.neutral, stroke_width=2)
                        for e in (RIGHT, UP, OUT)])
        ax_labels = VGroup(*[num_text(f"PC{i + 1}", MIN_SIZE, THEME.dim)
                             .move_to(L * 1.08 * e) for i, e in enumerate((RIGHT, UP, OUT))])
        self.arrows, self.labels = {}, {}
        for w, key, c in zip(self.word_list, self.keys, self.pca.coords):
            end = c * self.plot_scale
            a = Arrow(ORIGIN, end, buff=0, stroke_width=3, max_tip_length_to_length_ratio=0.12,
                      tip_length=0.18, color=THEME.positive)
            lab = num_text(self.word_label(key), THEME.small_size, THEME.text)
            self.arrows[key], self.labels[key] = a, lab
        self.axes = VGroup(axes, ax_labels)
        pct = f"{100 * self.pca.explained.sum():.0f}%"
        pca_note = self.text("\n".join(textwrap.wrap(
            self.caption_text("pca", n=len(self.keys), pct=pct), 32)), size=MIN_SIZE, color=THEME.dim)
        # bottom left, above the room of a two-line caption
        self.pca_note = pca_note.to_edge(LEFT, buff=0.3).align_to(
            [0, -config.frame_height / 2 + 1.75, 0], DOWN)
        self.result_labels = [num_text("?", THEME.text_size, THEME.text) for _ in self.analogy_results]
        for m, a in self._place_labels(self._turn_views()):
            m.move_to(a)

    def _place_labels(self, views: Sequence[View], n_arith: int = 0) -> list[tuple[Any, np.ndarray]]:
        """Anchors for every label (the words', then the "?" results of the first
        ``n_arith`` analogies, then the axes'), each beside its point: clear of every line
        drawn in the picture — the arrows, the axes and the arithmetic arrows of those
        analogies — of the arrow tips and result dots, of each other and of the notes,
        inside the frame above the caption, in every one of ``views``
        (:func:`scenes.kit.labels3d.place_labels`; a label where it is stays, if clear).
        Remembered for :meth:`_labels_clear`. Returns (label, anchor) pairs."""
        keys = list(self.labels)
        ends = np.array([self.point(self.src.vec(k)) for k in keys])
        L = self.radius * 1.05
        axes = [L * e for e in (RIGHT, UP, OUT)]
        segs = [(ORIGIN, e) for e in ends] + [(-a, a) for a in axes]
        dots, outs = [], []
        for an in self.analogy_results[:n_arith]:
            pa, pb, pc = (self.point(self.src.vec(k)) for k in an.keys)
            pr = self.point(an.vec)
            segs += [(pb, pc), (pa, pr)]
            dots.append(pr)
            outs.append(pr - pa)              # the "?" beyond the tip of the carried arrow
        unit = ends / np.maximum(np.linalg.norm(ends, axis=1, keepdims=True), 1e-6)
        dots_a = np.array(dots, float).reshape(-1, 3)
        notes = [m for m in (self.left_note, self.pca_note, getattr(self, "tag", None)) if m is not None]
        fw, fh = config.frame_width / 2 - 0.15, config.frame_height / 2 - 0.15
        ob = Obstacles(
            segments=np.array(segs, float), spots=np.vstack([ends - 0.09 * unit, dots_a]),
            fixed=[(m.get_corner(DOWN + LEFT)[:2] - 0.1, m.get_corner(UP + RIGHT)[:2] + 0.1) for m in notes],
            bounds=(np.array([-fw, CAPTION_TOP + 0.1]), np.array([fw, fh])))
        mobs = [self.labels[k] for k in keys] + self.result_labels[:n_arith] + list(self.axes[1])
        points = np.vstack([ends, dots_a, axes])
        outward = np.vstack([unit, np.array(outs, float).reshape(-1, 3), [RIGHT, UP, OUT]])
        halves = np.array([[m.width / 2, m.height / 2] for m in mobs])
        placed = [getattr(m, "anchored", False) for m in mobs]
        anchors = place_labels(self.camera, views, points, outward, halves, ob,
                               keep=[m.get_center() if p else None for m, p in zip(mobs, placed)])
        for m in mobs:
            m.anchored = True
        self._label_set = (mobs, halves, ob)
        return list(zip(mobs, anchors))

    def _turn_views(self) -> list[View]:
        """The camera from now on as the ambient turn (``turn_rate``) moves it while the
        picture is on screen: one view every 0.05 rad of :data:`TURN_SPAN` · rate / 0.04
        (at most a full turn)."""
        th0 = self.camera.get_theta()
        span = min(2 * np.pi, TURN_SPAN * abs(self.turn_rate) / 0.04)
        n = int(np.ceil(span / 0.05)) + 1
        return [View(th0 + f * span * float(np.sign(self.turn_rate or 1))) for f in np.linspace(0, 1, n)]

    def _labels_clear(self) -> bool:
        """Whether every label of the picture is clear (as :meth:`_place_labels` wants it)
        with the camera as it is now."""
        mobs, halves, ob = self._label_set
        return clashes(self.camera, np.array([m.get_center() for m in mobs]), halves, ob) == 0

    def _show_picture_frame(self) -> None:
        """Axes and notes on screen (the arrows and labels are the caller's)."""
        self.fixed(*[m for m in (self.left_note, self.pca_note) if m is not None])
        self.add(self.axes[0])
        self.add_fixed_orientation_mobjects(*self.axes[1])

    def build_arrows(self) -> None:
        """The 3D picture with every word's arrow and label (what beat_space ends with)."""
        self._picture()
        self._show_picture_frame()
        self.add(*self.arrows.values())
        self.add_fixed_orientation_mobjects(*self.labels.values())

    @beat(needs=("tag",))
    def beat_space(self) -> None:
        self._picture()
        self._show_picture_frame()
        key = "space" if self.vectors == "model" else "space_w2v"
        self.show_caption(self.caption_text(key, n=len(self.keys), dim=self.src.dim))
        self.begin_ambient_camera_rotation(rate=self.turn_rate)
        self.play(*[GrowArrow(a) for a in self.arrows.values()], run_time=1.5)
        self.add_fixed_orientation_mobjects(*self.labels.values())
        self.play(*[FadeIn(l) for l in self.labels.values()], run_time=0.6)
        self.wait(3.0)

    @beat(needs=("tag", "arrows"))
    def beat_analogy(self) -> None:
        if not self.analogy_results:
            return
        for i, an in enumerate(self.analogy_results):
            self._one_analogy(an, i)

    def _one_analogy(self, an: Analogy, i: int) -> None:
        ka, kb, kc = an.keys
        la, lb, lc = (self.src.label(k).strip() for k in an.keys)
        expr = f"E({la}) − E({lb}) + E({lc})"
        focus = {ka: THEME.highlight, kb: THEME.key, kc: THEME.query}
        # the caption first, then the arrows it names; the expected answer is not marked
        # until the ranking says where it is (its verdict caption)
        self.show_caption(self.caption_text("arith", expr=expr))
        # the camera stops turning; labels in the way of the arithmetic about to be drawn
        # step aside (placed for this view, with the arithmetic arrows: _place_labels)
        self.stop_ambient_camera_rotation()
        to = dict(self._place_labels([View(self.camera.get_theta())], n_arith=i + 1))
        anims = []
        for k, a in self.arrows.items():
            lab = self.labels[k].animate.move_to(to[self.labels[k]])
            if k in focus:
                anims += [a.animate.set_color(focus[k]).set_opacity(1), lab.set_color(focus[k])]
            else:
                # the others step back in grey, still readable (not faded into the background)
                anims += [a.animate.set_opacity(0.25), lab.set_color(THEME.dim)]
        anims += [m.animate.move_to(to[m]) for m in self.axes[1]]
        self.play(*anims, run_time=0.6)
        # b → c difference, then the same difference placed at a: real arithmetic.
        pa, pb, pc = (self.point(self.src.vec(k)) for k in an.keys)
        pr = self.point(an.vec)
        diff = Arrow(pb, pc, buff=0, stroke_width=4, color=THEME.text, tip_length=0.16,
                     max_tip_length_to_length_ratio=0.15)
        moved = Arrow(pa, pr, buff=0, stroke_width=4, color=THEME.text, tip_length=0.18,
                      max_tip_length_to_length_ratio=0.15)
        result = Dot(pr, radius=0.07, color=THEME.text)
        rlab = self.result_labels[i].move_to(to[self.result_labels[i]])
        self.equation("a-b+c", expr, shown=an.vec, a=self.src.vec(ka), b=self.src.vec(kb),
                      c=self.src.vec(kc))
        # the camera follows the arithmetic: the difference b → c, carried to a, the result
        # (each move as far as keeps every arrow and label in the frame: _fit_view)
        self.move_camera(**self._fit_view((pb + pc) / 2, 1.3, [diff]), added_anims=[GrowArrow(diff)],
                         run_time=1.0)
        carried = diff.copy()
        self.move_camera(**self._fit_view((pa + pr) / 2, 1.3, [diff, moved]),
                         added_anims=[carried.animate.shift(pa - pb).set_color(THEME.text)],
                         run_time=1.0)
        self.add(moved, result)
        self.remove(carried)
        self.add_fixed_orientation_mobjects(rlab)
        self.move_camera(**self._fit_view(pr, 1.5, [diff, moved, rlab]), added_anims=[FadeIn(rlab)],
                         run_time=0.8)
        self.arith = VGroup(diff, moved, result)
        self.wait(0.8)
        self.move_camera(frame_center=np.zeros(3), zoom=1.0, run_time=0.8)
        # the ranking over the whole vocabulary
        table = self._nearest_table(an, expr)
        self.fixed(table)
        self.show_caption(self.caption_text("nearest", dim=self.src.dim, unit=self.src.unit,
                                            expr=expr, size=an.size, over=self._over(an)))
        self.play(FadeIn(table.head), run_time=0.4)
        self.play(*[FadeIn(r, shift=0.1 * LEFT) for r in table.rows], run_time=1.0)
        if an.expected_key is not None:
            exp = token_label(self.src.label(an.expected_key)) if self.src.unit == "tokens" \
                else self.src.label(an.expected_key)
            if an.expected_rank == 1:
                s = self.caption_text("verdict_hit", exp=exp, rank=an.expected_rank, size=an.size)
            else:
                before = [row for row in an.top if row[0] < an.expected_rank]
                if len(before) == an.expected_rank - 1 and all(an.is_input(k) for _, k, _, _ in before):
                    inputs = " and ".join(lab.strip() for *_, lab, _ in before)
                    s = self.caption_text("verdict_inputs", exp=exp, rank=an.expected_rank,
                                          size=an.size, inputs=inputs)
                else:
                    s = self.caption_text("verdict_miss", exp=exp, rank=an.expected_rank,
                                          size=an.size, cos=fmt(an.expected_cos, 3, sign=False))
            self.show_caption(s)
            k = an.expected_key
            if k in self.arrows and k not in an.keys:  # marked with its verdict, not before
                self.play(self.arrows[k].animate.set_color(THEME.accent).set_opacity(1),
                          self.labels[k].animate.set_color(THEME.accent).set_opacity(1),
                          run_time=0.5)
        self.wait(3.5)
        self.table = table

    def _fit_view(self, center: np.ndarray, zoom: float, extra: Sequence[Any] = ()) -> dict:
        """The camera move toward ``center`` at ``zoom`` that keeps the picture readable:
        every arrow and label (and ``extra``) inside the frame, above the caption and off the
        notes — scaled back toward the resting view (centre 0, zoom 1) until it does."""
        cam = self.camera
        c0, z0 = cam._frame_center.get_center().copy(), float(cam.zoom_tracker.get_value())
        mobs = [*self.arrows.values(), *self.labels.values(), *self.axes, *extra]
        notes = [m for m in (self.left_note, self.pca_note, getattr(self, "tag", None)) if m is not None]
        boxes = [(m.get_corner(DOWN + LEFT)[:2] - 0.1, m.get_corner(UP + RIGHT)[:2] + 0.1) for m in notes]
        hw, hh = config.frame_width / 2 - 0.15, config.frame_height / 2 - 0.15

        def fits() -> bool:
            for m in mobs:
                pts = [cam.transform_points_pre_display(f, f.points)
                       for f in m.family_members_with_points()]
                if not pts:
                    continue
                pts = np.vstack(pts)[:, :2]
                lo, hi = pts.min(0), pts.max(0)
                if lo[0] < -hw or hi[0] > hw or hi[1] > hh or lo[1] < CAPTION_TOP + 0.1:
                    return False
                if any(np.all(np.minimum(hi, b) > np.maximum(lo, a)) for a, b in boxes):
                    return False
            return self._labels_clear()

        try:
            for f in np.linspace(1.0, 0.0, 11):
                cam._frame_center.move_to(f * np.asarray(center, float))
                cam.zoom_tracker.set_value(1.0 + f * (zoom - 1.0))
                if fits():
                    return dict(frame_center=f * np.asarray(center, float), zoom=1.0 + f * (zoom - 1.0))
            return dict(frame_center=np.zeros(3), zoom=1.0)
        finally:
            cam._frame_center.move_to(c0)
            cam.zoom_tracker.set_value(z0)

    def _over(self, an: Analogy) -> str:
        """What the ranking is over, as the screen says it: everything, or everything but the
        three inputs when ``exclude_inputs`` removed them."""
        if self.exclude_inputs:
            return f"{an.size - len(set(an.keys)):,} {self.src.unit} (all {an.size:,} but the inputs)"
        return f"all {an.size:,} {self.src.unit}"

    def _nearest_table(self, an: Analogy, expr: str) -> VGroup:
        fs = THEME.small_size
        head = VGroup(num_text(expr, fs * 1.1, THEME.text),
                      num_text(f"nearest by cosine ({self._over(an)})",
                               fs * 0.85, THEME.dim)).arrange(DOWN, buff=0.12)
        rows = VGroup()
        for rank, key, s, cos in an.top:
            lab = token_label(s) if self.src.unit == "tokens" else s
            is_in = an.is_input(key)
            col = (THEME.accent if key == an.expected_key else
                   THEME.dim if is_in else THEME.text)
            e = self.equation("cosine", f"cos({expr}, {lab})", shown=cos, a=an.vec,
                              b=self.src.vec(key))
            row = VGroup(num_text(f"{rank}", fs, THEME.dim),
                         num_text(lab + ("  (input)" if is_in else ""), fs, col),
                         e.bind(num_text(e.say("{shown:.3f}"), fs, col)))
            row[2].value = cos
            row.rank, row.key = rank, key
            rows.add(row)
        if an.expected_key is not None and an.expected_rank > len(an.top):
            lab = token_label(self.src.label(an.expected_key)) if self.src.unit == "tokens" \
                else self.src.label(an.expected_key)
            e = self.equation("cosine", f"cos({expr}, {lab})", shown=an.expected_cos, a=an.vec,
                              b=self.src.vec(an.expected_key))
            row = VGroup(num_text(f"{an.expected_rank:,}", fs, THEME.dim),
                         num_text(lab, fs, THEME.accent),
                         e.bind(num_text(e.say("{shown:.3f}"), fs, THEME.accent)))
            row[2].value = an.expected_cos
            row.rank, row.key = an.expected_rank, an.expected_key
            gap = num_text("⋮", fs, THEME.dim)
            rows.add(VGroup(gap), row)
        y = 0.0
        w0 = max(r[0].width for r in rows if len(r) == 3)
        w1 = max(r[1].width for r in rows if len(r) == 3)
        for r in rows:
            if len(r) == 3:
                r[0].move_to([w0 - r[0].width / 2, y, 0])
                r[1].move_to([w0 + 0.3 + r[1].width / 2, y, 0])
                r[2].move_to([w0 + 0.3 + w1 + 0.35 + r[2].width / 2, y, 0])
            else:
                r.move_to([w0 + 0.3 + 0.2, y, 0])
            y -= 0.42
        head.next_to(rows, UP, buff=0.3)
        table = VGroup(head, rows)
        table.head, table.rows = head, rows
        table.to_edge(RIGHT, buff=0.4).shift(0.5 * UP)
        return table

    @beat(needs=("tag",))
    def beat_directions(self) -> None:
        if not self.direction_results:
            return
        self.stop_ambient_camera_rotation()
        keep = [m for m in (getattr(self, "_caption", None), getattr(self, "tag", None))
                if m is not None]
        gone = [m for m in self.mobjects if m not in keep]
        for i, d in enumerate(self.direction_results):
            # the next title fades in while what was there fades out: never an empty stage
            self._one_direction(d, gone if i == 0 else [self.direction_plot])

    def _one_direction(self, d: Direction, gone: list) -> None:
        fs = THEME.small_size
        lab = (lambda w: token_label(self.src.label(self.src.key(w)))) if self.src.unit == "tokens" \
            else (lambda w: self.src.label(self.src.key(w)))
        pairs = ", ".join(f"{lab(b).strip('␣')} − {lab(a).strip('␣')}" for a, b in d.pairs[:3])
        if len(d.pairs) > 3:
            pairs += ", …"
        title = self.text(f"“{d.name}” direction u = average of ({pairs}), length 1",
                          size=THEME.text_size * 0.8)
        formula = self.text("score(word) = E(word) · u", size=THEME.text_size * 0.8,
                            color=THEME.highlight)
        head = VGroup(title, formula).arrange(DOWN, buff=0.2).to_edge(UP, buff=0.85)
        if head.width > config.frame_width - 1:
            head.scale_to_fit_width(config.frame_width - 1)
        # what was there leaves, then the title comes (never two titles half-faded over each
        # other; the tag and the caption stay: no empty frame)
        if gone:                     # (a beat run alone may have nothing to clear)
            self.play(*[FadeOut(m) for m in gone], run_time=0.3)
        self.remove(*gone)
        self.fixed(head)
        self.play(FadeIn(head), run_time=0.3)
        if self.camera.screen_shift.any() or self.camera.get_phi() != 0:
            self.camera.screen_shift = np.zeros(3)
            self.set_camera_orientation(phi=0, theta=-90 * DEGREES, zoom=1.0)
        if not self.has("tag"):
            self.build_tag()
        self.show_caption(self.caption_text("direction", name=d.name, pairs=pairs))
        # a dumbbell row per held-out pair: from-word, to-word, arrow between, real scores
        scores = np.array([[s0, s1] for _, _, s0, s1 in d.tested])
        lo, hi = float(scores.min()), float(scores.max())
        pad = 0.08 * (hi - lo or 1.0)
        lo, hi = lo - pad, hi + pad
        x0, x1 = -4.2, 5.2

        def X(s: float) -> float:
            return x0 + (s - lo) / (hi - lo) * (x1 - x0)

        rows = VGroup()
        n = len(d.tested)
        ytop = 1.2
        step = min(0.62, 3.2 / max(n, 1))
        for i, (w0, w1, s0, s1) in enumerate(d.tested):
            y = ytop - i * step
            up = s1 > s0
            col = THEME.accent if up else THEME.negative
            d0 = Dot([X(s0), y, 0], radius=0.06, color=THEME.dim)
            d1 = Dot([X(s1), y, 0], radius=0.07, color=col)
            link = Line(d0.get_center(), d1.get_center(), stroke_color=col, stroke_width=2,
                        stroke_opacity=0.6)
            left, right = (d0, d1) if s0 <= s1 else (d1, d0)
            e0, e1 = (self.equation("dot", f"E({w}) · u", shown=sc, a=self.src.vec(self.src.key(w)),
                                    b=d.unit) for w, sc in ((w0, s0), (w1, s1)))
            t0 = e0.bind(num_text(e0.say("{word} {shown:+.2f}", word=lab(w0)), fs * 0.9, THEME.dim))
            t1 = e1.bind(num_text(e1.say("{word} {shown:+.2f}", word=lab(w1)), fs * 0.9, col))
            t_left, t_right = (t0, t1) if s0 <= s1 else (t1, t0)
            t_left.next_to(left, LEFT, buff=0.12)
            t_right.next_to(right, RIGHT, buff=0.12)
            t0.value, t1.value = s0, s1
            row = VGroup(link, d0, d1, t0, t1)
            row.pair = (w0, w1, s0, s1)
            rows.add(row)
        axis = Line([x0, ytop - n * step + 0.1, 0], [x1, ytop - n * step + 0.1, 0],
                    stroke_color=THEME.dim, stroke_width=1.5)
        ticks = VGroup()
        for v in np.linspace(lo + pad, hi - pad, 3):
            ticks.add(num_text(fmt(float(v), 1), max(16.0, fs * 0.7), THEME.dim)
                      .next_to([X(float(v)), axis.get_y(), 0], DOWN, buff=0.08))
        zero = None
        if lo < 0 < hi:
            # a zero tick on the axis (a line up through the rows would cross their labels)
            zero = Line([X(0.0), axis.get_y(), 0], [X(0.0), axis.get_y() + 0.2, 0],
                        stroke_color=THEME.neutral, stroke_width=2)
        plot = VGroup(*(m for m in (zero, axis, ticks, rows) if m is not None))
        # keep labels inside the frame
        if plot.width > config.frame_width - 0.6:
            plot.scale_to_fit_width(config.frame_width - 0.6)
        plot.move_to([0, (head.get_bottom()[1] + (-config.frame_height / 2 + 1.0)) / 2, 0])
        self.play(Create(axis), *([Create(zero)] if zero else []), FadeIn(ticks), run_time=0.5)
        self.play(*[FadeIn(VGroup(r[1], r[3])) for r in rows], run_time=0.6)
        self.play(*[Create(r[0]) for r in rows], *[FadeIn(VGroup(r[2], r[4])) for r in rows],
                  run_time=1.0)
        self.show_caption(self.caption_text("scores", agree=d.n_agree, n=len(d.tested), name=d.name))
        self.wait(3.5)
        self.direction_plot = VGroup(head, plot)
        self.direction_plot.rows = rows
