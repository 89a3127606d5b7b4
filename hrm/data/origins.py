"""The public origin of every raw collection, pinned, and how to bring it into the download cache.

Each origin has a cache folder `$HRM_CACHE/<name>/` (default ~/.cache/hrm) and a folder under a local copy
(`--source DIR` or $HRM_SOURCE_DATA: `DIR/<local>/`, the layout of the development mirror ../shared/data).
Pins were computed from the mirror, a byte-for-byte copy of the files at the commits named here (checked
against the repositories' git objects); where the mirror holds a converted file, the pin is of the
original and the conversion is ours (Sudoku: solutions and ratings computed locally, see below).

Endpoints: GitHub at $HRM_GITHUB_ENDPOINT (default https://github.com; archives and raw files by commit),
the HuggingFace hub at $HF_ENDPOINT (default https://huggingface.co; `resolve` URLs by revision).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import lzma
import os
import shutil
import tarfile
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hrm.data.download import ProgressFn, download, sha256_of
from hrm.errors import DataError

GITHUB_DEFAULT = "https://github.com"
HF_DEFAULT = "https://huggingface.co"
_MAX_MEMBER_BYTES = 64 << 20      # an archive member larger than this is not a task file: refused
_MAX_ARCHIVE_FILES = 20_000


def github_endpoint() -> str:
    return (os.environ.get("HRM_GITHUB_ENDPOINT") or GITHUB_DEFAULT).rstrip("/")


def hf_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or HF_DEFAULT).rstrip("/")


@dataclass(frozen=True)
class FetchContext:
    progress: ProgressFn
    workers: int = 1


def _offline_hint(target: Path, local: str) -> str:
    return f"offline? download it to {target}, or build from a local copy: --source DIR with {local}/ in it"


def tree_sha256(folder: Path) -> str:
    """One digest of a folder: SHA-256 over sorted `relative/path<TAB>sha256-of-file` lines."""
    lines = sorted(f"{p.relative_to(folder).as_posix()}\t{sha256_of(p)}\n" for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


# ----------------------------------------------------------------------------------------------------
# GitHub archives (ARC)


@dataclass(frozen=True)
class GitHubArchive:
    """Folders of a repository at one commit, from GitHub's source archive. GitHub builds archives on
    demand and does not promise the same bytes forever, so the pin is of the extracted files
    (`tree_sha256`), not of the archive."""

    name: str
    local: str
    repo: str
    commit: str
    folders: tuple[str, ...]       # repository folders to keep
    strip: str                     # leading folder dropped from kept paths ("data/" -> training/...)
    tree_sha256: str

    @property
    def url(self) -> str:
        return f"{github_endpoint()}/{self.repo}/archive/{self.commit}.tar.gz"

    def materialise(self, folder: Path, member: str, context: FetchContext) -> Path:
        files = folder / "files"
        if not files.is_dir():
            archive = folder / f"{self.commit}.tar.gz"
            download(self.url, archive, None, context.progress, _offline_hint(archive, self.local))
            _extract(self, archive, files)
            archive.unlink()
        return files / member

    def members(self, tar: tarfile.TarFile) -> list[tuple[tarfile.TarInfo, str]]:
        """(member, path to write) of every kept file; anything unsafe in a kept folder is an error."""
        kept = []
        for info in tar:
            parts = PurePosixPath(info.name).parts[1:]         # below GitHub's `{name}-{commit}/`
            path = "/".join(parts)
            if not info.isfile() or not any(path.startswith(f) for f in self.folders):
                continue
            if ".." in parts or info.size > _MAX_MEMBER_BYTES or len(kept) >= _MAX_ARCHIVE_FILES:
                raise DataError(f"{self.url}: unexpected archive member {path[:100]!r}")
            kept.append((info, path.removeprefix(self.strip)))
        return kept


def _extract(origin: GitHubArchive, archive: Path, target: Path) -> None:
    """Kept members into `target.part/`, checked against the pin, then renamed to `target`."""
    temp = target.with_name(target.name + ".part")
    shutil.rmtree(temp, ignore_errors=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for info, path in origin.members(tar):
                out = temp / path
                out.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(info)
                if source is not None:
                    out.write_bytes(source.read(_MAX_MEMBER_BYTES))
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError) as exc:
        shutil.rmtree(temp, ignore_errors=True)
        archive.unlink(missing_ok=True)
        raise DataError(f"cannot unpack {origin.url}: {str(exc)[:160]}; the download was removed") from None
    actual = tree_sha256(temp) if temp.is_dir() else "nothing"
    if actual != origin.tree_sha256:
        shutil.rmtree(temp, ignore_errors=True)
        archive.unlink(missing_ok=True)
        raise DataError(f"checksum mismatch for {origin.url}: its files hash to {actual[:16]}..., expected "
                        f"{origin.tree_sha256[:16]}...; the download was removed")
    os.replace(temp, target)


# ----------------------------------------------------------------------------------------------------
# Sudoku collections (tdoku's data files, raw from GitHub, solved here)


@dataclass(frozen=True)
class RawSudokuFile:
    path: str          # in the repository
    sha256: str        # of that file
    tag: str           # the `source` column (tdoku's name, as Sudoku-Extreme uses it)


@dataclass(frozen=True)
class SudokuCollections:
    """The origin files hold puzzles only (one per line, `#` comments); the mirror's CSVs add solutions
    and a rating computed locally. Here the same happens on first use: every puzzle is solved by
    hrm.data.sudoku_gen (each has one solution, so answers equal the mirror's); `rating` is that
    solver's dead-end count, which differs from the mirror's for some puzzles (no build reads it except
    sudoku-hard-full --generated, which seeds from puzzles rated 20 or more)."""

    name: str
    local: str
    repo: str
    commit: str
    files: dict[str, RawSudokuFile]      # CSV name -> origin file

    def url(self, raw: RawSudokuFile) -> str:
        return f"{github_endpoint()}/{self.repo}/raw/{self.commit}/{urllib.parse.quote(raw.path)}"

    def materialise(self, folder: Path, member: str, context: FetchContext) -> Path:
        target = folder / member
        if target.exists() or member not in self.files:
            return target
        raw = self.files[member]
        raw_path = folder / "raw" / PurePosixPath(raw.path).name
        download(self.url(raw), raw_path, raw.sha256, context.progress, _offline_hint(raw_path, self.local))
        _write_solved_csv(raw_path, raw.tag, target, context)
        return target


def _puzzle_lines(raw_path: Path) -> list[str]:
    text = raw_path.read_text(encoding="ascii", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def solve_line(question: str) -> tuple[str, int]:
    """(81-digit answer, dead ends) of one puzzle line; ("", -1) when it has no solution."""
    from hrm.data import sudoku_gen

    analysis = sudoku_gen.analyse(question, limit=1)
    if not analysis.solutions:
        return "", -1
    return "".join(str(int(d)) for d in analysis.solutions[0].reshape(-1)), analysis.dead_ends


def _solve_all(questions: list[str], stage: str, context: FetchContext) -> list[tuple[str, int]]:
    from hrm.data import sudoku_gen

    out: list[tuple[str, int]] = []
    with contextlib.ExitStack() as stack:
        mapper: Callable = map
        if context.workers > 1:
            mapper = functools.partial(stack.enter_context(sudoku_gen.process_pool(context.workers)).imap,
                                       chunksize=64)
        for answer in mapper(solve_line, questions):
            out.append(answer)
            if len(out) % 256 == 0 or len(out) == len(questions):
                context.progress(stage, len(out), len(questions))
    return out


def _write_solved_csv(raw_path: Path, tag: str, target: Path, context: FetchContext) -> None:
    questions = _puzzle_lines(raw_path)
    if not questions or any(len(q) != 81 for q in questions):
        raise DataError(f"{raw_path}: expected one 81-character puzzle per line")
    solved = _solve_all(questions, f"solve {raw_path.name}", context)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("source", "question", "answer", "rating"))
    for number, (question, (answer, rating)) in enumerate(zip(questions, solved, strict=True), start=1):
        if not answer:
            raise DataError(f"{raw_path}: puzzle {number} has no solution")
        writer.writerow((tag, question, answer, rating))
    part = target.with_name(target.name + ".part")
    with lzma.open(part, "wt", encoding="ascii") as handle:
        handle.write(buffer.getvalue())
    os.replace(part, target)


# ----------------------------------------------------------------------------------------------------
# HuggingFace hub datasets (the reference builders' CSVs)


@dataclass(frozen=True)
class HubDataset:
    """CSV files of a hub dataset at a revision. We have never held these files, so no SHA-256 is pinned;
    the revision is, where it is known."""

    name: str
    local: str
    repo: str
    revision: str
    files: tuple[str, ...]

    def url(self, file: str) -> str:
        return f"{hf_endpoint()}/datasets/{self.repo}/resolve/{self.revision}/{file}"

    def materialise(self, folder: Path, member: str, context: FetchContext) -> Path:
        target = folder / member
        if member in self.files:
            download(self.url(member), target, None, context.progress, _offline_hint(target, self.local))
        return target


Origin = GitHubArchive | SudokuCollections | HubDataset

ORIGINS: dict[str, Origin] = {o.name: o for o in [
    # tdoku's data files (t-dillon/tdoku data.zip) as committed verbatim to this repository (data/ added in
    # 772077fc); its puzzles5 is `..._11+`, stored by us as `..._11plus`.
    SudokuCollections("sudoku", "sudoku", "balmerdx/sudoku_pytorch", "9c4391b1ea32bb7a9587f668fa51f35473e68e24", {
        "puzzles2_17_clue.csv.xz": RawSudokuFile(
            "data/puzzles2_17_clue", "2cf268735dfd40d32269b5f20ebbea067037e5976b4d016ce0b4d3c0a50deb30",
            "puzzles2_17_clue"),
        "puzzles3_magictour_top1465.csv.xz": RawSudokuFile(
            "data/puzzles3_magictour_top1465", "ca0369f516dac7dfdd987d2c310ac33dcfc7478db5171bea5bca1f3878758bce",
            "puzzles3_magictour_top1465"),
        "puzzles5_forum_hardest_1905_11plus.csv.xz": RawSudokuFile(
            "data/puzzles5_forum_hardest_1905_11+", "56236eaf6c7445ea244db3423ec44a102349dbedf6e457af0fcdd3d07cf39996",
            "puzzles5_forum_hardest_1905_11+"),
        "puzzles6_forum_hardest_1106.csv.xz": RawSudokuFile(
            "data/puzzles6_forum_hardest_1106", "45d0afc5892d6797621d7c00f518df8f1483eceb921416984b8687e16128eb06",
            "puzzles6_forum_hardest_1106"),
    }),
    # The three ARC repositories at the commits the reference HRM repository pins as submodules.
    GitHubArchive("arc-agi-1", "arc/agi1", "fchollet/ARC-AGI", "399030444e0ab0cc8b4e199870fb20b863846f34",
                  ("data/",), "data/", "2c17ac0c546f49a6984116ef596b047f6cf917ff83f284819b6e306cafe38d9a"),
    GitHubArchive("arc-agi-2", "arc/agi2", "arcprize/ARC-AGI-2", "f3283f727488ad98fe575ea6a5ac981e4a188e49",
                  ("data/",), "data/", "4cb664cbdc55c62dc94ac6dc16a4d01cf975daacdba63c071ab9be97f2914deb"),
    GitHubArchive("conceptarc", "arc/conceptarc", "victorvikram/ConceptARC", "b22ef526b4656679816b7811e78f55cc24d736d7",
                  ("corpus/", "MinimalTasks/"), "", "b653660f7ed0106fd10fdd9da836954c30c37ee7134ccaa871ec7624394dc235"),
    # The hub datasets sapientinc/HRM's builders download. Revisions: the one the sudoku-extreme card was
    # read at, and the one a third party cites for the maze set (prefixes of the commits; the hub resolves them).
    HubDataset("sudoku-extreme", "sudoku-extreme", "sapientinc/sudoku-extreme", "58942f96", ("train.csv", "test.csv")),
    HubDataset("maze-30x30-hard", "maze-30x30-hard", "sapientinc/maze-30x30-hard-1k", "549754de",
               ("train.csv", "test.csv")),
]}
