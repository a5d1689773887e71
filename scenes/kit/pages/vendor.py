"""Browser scripts on disk for the interactive pages: d3, from the npm registry, pinned.

The one way this project gets a browser package (:mod:`scenes.kit.revealjs` gets reveal.js
with it too): the package's registry tarball is downloaded once (sha256-checked) into
``$GPT_SCENES_HOME/<name>-<version>``; writing pages copies the files they load next to them,
so a folder of pages works from a USB stick with no network (no CDN)::

    python -m scenes.kit.pages fetch          # scripts/setup.sh does this
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from tensors import UserError, home

REGISTRY = "https://registry.npmjs.org"


@dataclasses.dataclass(frozen=True)
class NpmPackage:
    """One pinned npm package: ``files`` (relative to the package root) are what pages load
    (and what :meth:`is_fetched` checks); ``folders`` are unpacked whole besides them (a
    package whose pages load more than a few files, as reveal.js's ``dist/``)."""

    name: str
    version: str
    sha256: str              # of the registry tarball <name>-<version>.tgz
    files: tuple[str, ...]
    folders: tuple[str, ...] = ()  # e.g. ("dist/",): every file under them

    def wanted(self, member: str) -> bool:
        """Whether the tarball member ``package/<path>`` is unpacked.

        >>> NpmPackage("x", "1", "", ("a.js",), ("dist/",)).wanted("package/dist/b/c.css")
        True
        >>> NpmPackage("x", "1", "", ("a.js",)).wanted("package/src/a.js")
        False
        """
        path = member.removeprefix("package/")
        return member.startswith("package/") and (
            path in (*self.files, "LICENSE", "package.json")
            or any(path.startswith(f.rstrip("/") + "/") for f in self.folders))

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"

    def cache_dir(self) -> Path:
        return home() / self.folder

    def is_fetched(self, root: Path | None = None) -> bool:
        root = root or self.cache_dir()
        return all((root / f).is_file() for f in (*self.files, "LICENSE", "package.json"))

    def fetch(self, registry: str | None = None) -> Path:
        """Download the tarball once, check its sha256, unpack ``files``, ``folders``,
        LICENSE and package.json."""
        dst = self.cache_dir()
        if self.is_fetched(dst):
            return dst
        base = (registry or os.environ.get("npm_config_registry") or REGISTRY).rstrip("/")
        url = f"{base}/{self.name}/-/{self.name}-{self.version}.tgz"
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                data = r.read()
        except OSError as e:
            raise UserError(f"could not download {self.name} {self.version} from {url} ({e}); "
                            "run scripts/setup.sh where the npm registry is reachable") from None
        got = hashlib.sha256(data).hexdigest()
        if got != self.sha256:
            raise UserError(f"{self.name} {self.version} from {url} has sha256 {got}, expected "
                            f"{self.sha256}; not using it (check the registry / proxy)")
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.name}-", dir=dst.parent))
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                tar.extractall(tmp, members=[m for m in tar.getmembers() if self.wanted(m.name)],
                               filter="data")
            shutil.rmtree(dst, ignore_errors=True)
            os.replace(tmp / "package", dst)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if not self.is_fetched(dst):
            raise UserError(f"{self.name} {self.version} unpacked without {self.files}; "
                            f"delete {dst} and retry")
        return dst

    def copy_next_to(self, html_dir: Path, fetch_hint: str = "python -m scenes.kit.pages fetch"
                     ) -> Path:
        """Copy what was unpacked into ``html_dir/<name>-<version>`` (once); returns it."""
        src = self.cache_dir()
        if not self.is_fetched(src):
            raise UserError(f"{self.name} {self.version} is not in {src}; run scripts/setup.sh "
                            f"(or {fetch_hint})")
        dst = Path(html_dir) / self.folder
        if not self.is_fetched(dst):
            html_dir.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{self.name}-", dir=html_dir))
            try:
                shutil.copytree(src, tmp / self.folder)
                shutil.rmtree(dst, ignore_errors=True)
                os.replace(tmp / self.folder, dst)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return dst

    def src(self, file: str) -> str:
        """The URL a page uses for ``file``: relative, so the folder can move anywhere."""
        return f"{self.folder}/{file}"


#: d3 7.9.2 (ISC): selections, scales, colour maps, drag. npm's sha512 "integrity" of the
#: tarball is ZKb/mONPVKzaO5UlcWcwN8bS4ezvQaYu+bsou+XgNABdGC800kwH651ADTbbTxMPHW13UlvbQafdmJQDk1w7Mg==
D3 = NpmPackage("d3", "7.9.2",
                "f0c1d2c2479907a6e3265370d0fd715f7aef0f561cdd2b415df385ba7df9d1aa",
                ("dist/d3.min.js",))
PACKAGES = (D3,)
