"""The keyword index: SQLite FTS5 with bm25(), one file per index generation.

Why FTS5: it ships with Python (stdlib sqlite3, no new dependency), it is a
file that opens in O(1) whatever the library's size, it ranks with BM25 in C
instead of scoring every passage in Python, and readers in many processes
can share it. The passages are stored as the tokens `advisor.text.tokenize`
makes (lower-cased, stop words dropped, Snowball-stemmed), so a query
matches exactly the words it matched before; FTS5 only splits them on spaces.

A generation's file is written beside its final name and renamed into place
before the manifest names the generation, and is never written again: the
reader opens it immutable (no locks, works on a read-only mount).
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from advisor.chunking import Chunk
from advisor.text import tokenize

SCHEMA_VERSION = 2  # 2: passage counts per term in a table (fts5vocab counts them per query)
FOLDER = "keyword"
# Okapi BM25 as rank-bm25 0.2.2 computes it (the ranking the labelled sets were tuned on)
K1, B, EPSILON = 1.5, 0.75, 0.25
PREFILTER = 200  # FTS5 matches re-scored per query, at least (10 x the hits asked for)
# Passages FTS5 may rank for one query (the sum of its words' passage counts): ranking
# costs about 2 microseconds a passage, so this bounds a keyword search near 10 ms
# whatever the library's size. A five- or fifty-article library never reaches it.
MATCH_BUDGET = 5_000
# tokens are [a-z0-9] runs that may hold "." or "," between digits ("54,972", "3.5")
_TOKENIZER = "unicode61 remove_diacritics 0 tokenchars '.,'"


class KeywordIndexError(RuntimeError):
    """The keyword file is missing or damaged; the message says which and how to fix it."""


def keyword_path(index_folder: Path, collection: str) -> Path:
    """The keyword file of one generation (named after its chroma collection)."""
    return index_folder / FOLDER / f"{collection}.sqlite"


def _connect_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise KeywordIndexError(f"the keyword index {path} is missing")
    return sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True, check_same_thread=False)


def _idf(passages: int, df: int, floor: float) -> float:
    """rank-bm25's idf: log((N - df + 0.5) / (df + 0.5)), or `floor` where that is negative."""
    value = math.log(passages - df + 0.5) - math.log(df + 0.5)
    return floor if value < 0 else value


def _match_expression(tokens: Iterable[str]) -> str:
    """Any of the tokens; each is quoted, so nothing in it is FTS5 syntax."""
    return " OR ".join(f'"{t}"' for t in tokens if t)


class KeywordIndex:
    """One generation's keyword file, opened for reading; safe to share across threads
    (each thread gets its own connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            meta = dict(self._connection().execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as err:
            raise KeywordIndexError(
                f"the keyword index {path} is damaged ({type(err).__name__}: {err})"
            ) from err
        if int(meta.get("schema", -1)) != SCHEMA_VERSION:
            raise KeywordIndexError(f"the keyword index {path} has another schema version")
        self.size = int(meta.get("passages", 0))
        self.avgdl = float(meta.get("avgdl", 1.0)) or 1.0
        self.floor = float(meta.get("idf_floor", 0.0))

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect_read_only(self.path)
            self._local.conn = conn
        return conn

    def _run(self, sql: str, params: tuple) -> list[tuple]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise KeywordIndexError(
                f"the keyword index {self.path} cannot be read ({type(err).__name__}: {err})"
            ) from err

    def search(self, tokens: list[str], n: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score), best first; only passages sharing a token with the query."""
        return self.candidates(tokens, n)[0]

    def candidates(self, tokens: list[str], n: int) -> tuple[list[tuple[str, float]], bool]:
        """`search`'s hits, and whether some words were too common to pick them (then
        `score` weighs dense search's candidates with those words too).

        FTS5 finds and pre-ranks the matches with its own bm25() in C; the best of them
        are then scored with Okapi BM25 exactly as rank-bm25 scored them before (k1 1.5,
        b 0.75, a term in most passages weighs a quarter of the mean idf, not nothing),
        so the ranking the labelled sets were measured on is kept. A query whose every
        word is too common to pick candidates (see `_selective`) finds none.
        """
        frequency = self._frequency(tokens)
        chosen = self._selective(tokens, frequency)
        cut = len(chosen) < len(set(tokens) & frequency.keys())
        if n < 1 or not chosen:
            return [], cut
        rows = self._run(
            "SELECT chunk_id, tokens FROM passages WHERE passages MATCH ? ORDER BY rank LIMIT ?",
            (_match_expression(chosen), max(PREFILTER, 10 * n)),
        )
        idf = self._idf(frequency)
        scored = [(cid, self._okapi(text.split(), tokens, idf)) for cid, text in rows]
        scored = [(cid, score) for cid, score in scored if score > 0]
        scored.sort(key=lambda pair: -pair[1])
        return scored[:n], cut

    def score(self, tokens: list[str], passages: dict[str, list[str]]) -> dict[str, float]:
        """BM25 of given passages (their tokens as `advisor.text.tokenize` makes them),
        scored as `search` scores its matches; those sharing no token are left out."""
        idf = self._idf(self._frequency(tokens))
        scored = {cid: self._okapi(words, tokens, idf) for cid, words in passages.items()}
        return {cid: score for cid, score in scored.items() if score > 0}

    def check(self) -> None:
        """Read the full-text index itself: one stored word, searched."""
        some = self._run("SELECT term FROM terms LIMIT 1", ())
        self.search([some[0][0]] if some else ["a"], 1)

    def _idf(self, frequency: dict[str, int]) -> dict[str, float]:
        return {t: _idf(self.size, df, self.floor) for t, df in frequency.items()}

    def _okapi(self, words: list[str], tokens: list[str], idf: dict[str, float]) -> float:
        norm = K1 * (1 - B + B * len(words) / self.avgdl)
        counts: dict[str, int] = {}
        for word in words:
            if word in idf:
                counts[word] = counts.get(word, 0) + 1
        return sum(
            idf[t] * counts[t] * (K1 + 1) / (counts[t] + norm) for t in tokens if t in counts
        )

    def _frequency(self, tokens: list[str]) -> dict[str, int]:
        """How many passages hold each token (those that occur at all)."""
        wanted = sorted(set(tokens))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        found = self._run(f"SELECT term, doc FROM terms WHERE term IN ({marks})", (*wanted,))
        return dict(found)

    def _selective(self, tokens: list[str], frequency: dict[str, int]) -> list[str]:
        """The tokens that pick the candidates, rarest first, while together they are in
        at most MATCH_BUDGET passages. FTS5 ranks every passage a picking token is in, so
        a word in much of a large library ("medical" in a medical one) would cost a scan
        of much of it and add little (a low idf; dense search finds such passages). The
        words left out still count when the candidates are scored."""
        chosen, total = [], 0
        for token in sorted(dict.fromkeys(t for t in tokens if t in frequency), key=frequency.get):
            total += frequency[token]
            if total > MATCH_BUDGET:
                break
            chosen.append(token)
        return chosen

    def known(self, tokens: Iterable[str]) -> set[str]:
        """The tokens that occur in some passage."""
        wanted = sorted(set(tokens))
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        return {
            t for (t,) in self._run(f"SELECT term FROM terms WHERE term IN ({marks})", (*wanted,))
        }


class KeywordWriter:
    """Builds one generation's file beside its final name; `finish` renames it into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.unlink(missing_ok=True)
        self.count = 0
        self._conn = sqlite3.connect(self.tmp)
        self._conn.executescript(
            f"""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE VIRTUAL TABLE passages USING fts5(
                tokens, chunk_id UNINDEXED, tokenize = "{_TOKENIZER}");
            CREATE VIRTUAL TABLE vocab USING fts5vocab(passages, row);
            """
        )

    def add(self, chunks: Iterable[Chunk]) -> int:
        """Tokenise and store passages (the title and section count, as they are embedded)."""
        rows = [(" ".join(tokenize(c.embed_text)), c.chunk_id) for c in chunks]
        self._conn.executemany("INSERT INTO passages (tokens, chunk_id) VALUES (?, ?)", rows)
        self.count += len(rows)
        return len(rows)

    def copy_from(self, source: Path, ids: Iterable[str]) -> set[str]:
        """Copy the stored tokens of `ids` from an earlier generation's file (no re-stemming).

        Returns the ids found there; a source that is missing or damaged gives none,
        and the caller tokenises those passages again.
        """
        wanted = list(ids)
        if not wanted or not source.is_file():
            return set()
        conn = self._conn
        try:
            conn.execute("ATTACH DATABASE ? AS old", (f"{source.as_uri()}?immutable=1",))
        except sqlite3.Error:
            return set()
        try:
            conn.execute("CREATE TEMP TABLE wanted (chunk_id TEXT PRIMARY KEY)")
            conn.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((i,) for i in wanted))
            rows = conn.execute(
                "SELECT tokens, chunk_id FROM old.passages WHERE chunk_id IN wanted"
            ).fetchall()
        except sqlite3.Error:
            rows = []
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("DROP TABLE IF EXISTS temp.wanted")
            conn.commit()
            conn.execute("DETACH DATABASE old")
        unique = {cid: tokens for tokens, cid in rows}
        conn.executemany(
            "INSERT INTO passages (tokens, chunk_id) VALUES (?, ?)",
            ((tokens, cid) for cid, tokens in unique.items()),
        )
        self.count += len(unique)
        return set(unique)

    def finish(self) -> None:
        """Merge the index segments, record the size, and rename the file into place."""
        conn = self._conn
        conn.execute("INSERT INTO passages (passages) VALUES ('optimize')")
        # fts5vocab counts a term's passages by reading its whole list, 7 ms for a common
        # word at 100,000 passages: the counts are stored once, in a table with a key
        conn.execute("CREATE TABLE terms (term TEXT PRIMARY KEY, doc INTEGER) WITHOUT ROWID")
        conn.execute("INSERT INTO terms SELECT term, doc FROM vocab")
        dfs = [df for (df,) in conn.execute("SELECT doc FROM terms")]
        tokens = conn.execute("SELECT coalesce(sum(cnt), 0) FROM vocab").fetchone()[0]
        raw = [math.log(self.count - df + 0.5) - math.log(df + 0.5) for df in dfs]
        floor = EPSILON * (sum(raw) / len(raw)) if raw else 0.0
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("schema", str(SCHEMA_VERSION)),
                ("passages", str(self.count)),
                ("avgdl", repr(tokens / self.count if self.count else 1.0)),
                ("idf_floor", repr(floor)),
            ],
        )
        conn.commit()
        conn.close()
        with open(self.tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        self.tmp.unlink(missing_ok=True)


def verify(path: Path, expected: int) -> str | None:
    """None when the file holds `expected` passages and answers a query, else what is wrong."""
    try:
        index = KeywordIndex(path)
        index.check()
    except KeywordIndexError as err:
        return str(err)
    if index.size != expected:
        return f"the keyword index holds {index.size} passages where the manifest lists {expected}"
    return None


def drop_stale(index_folder: Path, keep: str) -> None:
    """Remove every generation's file but `keep`'s (a reader holding one keeps reading it)."""
    folder = index_folder / FOLDER
    if not folder.is_dir():
        return
    current = keyword_path(index_folder, keep).name
    for path in folder.iterdir():
        if path.name != current:
            with contextlib.suppress(OSError):
                path.unlink()
