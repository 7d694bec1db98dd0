"""The peer of trailscope's search benchmark: DuckDB answering the same searches over the same
Delta table (the Parquet files trailscope wrote), single process, all cores.

usage: python3 duckdb_search.py TABLE_DIR --runs N --start ISO --end ISO --word WORD

TABLE_DIR is the Delta table directory (`<data-dir>/cloudtrail`). The live Parquet files are
taken from the Delta log (last checkpoint, then the JSON commits after it: `add` minus `remove`),
so files that `trailscope optimize` replaced but did not vacuum are not read twice. (A plain
`read_parquet('TABLE_DIR/**/*.parquet')` is right only for a freshly written table: after an
optimize it counts every event twice, and it also picks up the log's checkpoint files.)
Needs duckdb >= 1.3 (the `lambda x:` syntax); tested with 2.0.1.

Every query is limited to `eventtime >= start AND eventtime < end` (plus the equivalent
`eventdate` range, which is how one prunes partitions in DuckDB, Athena or Spark). Every query is
run once before any is timed, then each once more to warm up and N times; a sample is the wall
time to run the query and fetch its rows into Python. Prints one JSON object on stdout, progress on stderr:

{"engine": "duckdb", "version": ..., "threads": ..., "events": ..., "files": ...,
 "queries": {name: {"p50_ms": ..., "p95_ms": ..., "rows": ...}}}

`rows` is the number of rows the (first) query returned; `discover` and `freetext` also give
`hits`, their count(*).
"""
from __future__ import annotations  # duckdb's type classes moved between releases

import argparse
import datetime as dt
import json
import math
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb

ECS = "ecs.amazonaws.com"
GEOTILE_ZOOM = 4
# Web Mercator's limit, where Elasticsearch's geotile_grid clamps latitudes too.
MAX_LAT = 85.0511287798066
# Reader features that change nothing for a plain Parquet read.
HARMLESS_READER_FEATURES = {"timestampNtz"}


# ---------------------------------------------------------------------------------------------
# The Delta log: which Parquet files make up the table now
# ---------------------------------------------------------------------------------------------


def live_files(con: duckdb.DuckDBPyConnection, table: Path) -> list[str]:
    """Replays the Delta log: the last checkpoint's `add`s, then each later commit's `add` and
    `remove` actions in version order. Refuses tables whose reader features a plain read of the
    files would get wrong (column mapping, deletion vectors)."""
    log = table / "_delta_log"
    if not log.is_dir():
        sys.exit(f"error: {log} not found\nhint: pass the table directory, <data-dir>/cloudtrail")

    checkpoint_version, files, protocol = read_checkpoint(con, log)
    commits = sorted(p for p in log.glob("*.json") if p.stem.isdigit() and len(p.stem) == 20)
    expected_version = checkpoint_version + 1
    for commit in commits:
        version = int(commit.stem)
        if version <= checkpoint_version:
            continue
        if version != expected_version:
            sys.exit(f"error: {log} has no commit {expected_version} (next is {version})")
        expected_version += 1
        for line in commit.read_text().splitlines():
            if not line.strip():
                continue
            action = json.loads(line)
            if "add" in action:
                if action["add"].get("deletionVector"):
                    sys.exit(f"error: {commit.name}: deletion vectors are not supported here")
                files.add(action["add"]["path"])
            elif "remove" in action:
                files.discard(action["remove"]["path"])
            elif "protocol" in action:
                protocol = action["protocol"]
    check_protocol(protocol)
    return sorted(resolve(table, path) for path in files)


def read_checkpoint(con, log: Path) -> tuple[int, set[str], dict]:
    """(version, live paths, protocol) of the newest classic checkpoint, or (-1, ∅, {})."""
    last = log / "_last_checkpoint"
    if last.exists():
        version = json.loads(last.read_text())["version"]
    else:
        versions = [int(p.name[:20]) for p in log.glob("*.checkpoint*.parquet")]
        if not versions:
            return -1, set(), {}
        version = max(versions)
    # One file, or the parts of a multi-part checkpoint (NNN.checkpoint.PART.PARTS.parquet).
    parts = sorted(str(p) for p in log.glob(f"{version:020d}.checkpoint*.parquet"))
    if not parts:
        sys.exit(f"error: {log}/_last_checkpoint names version {version}, which has no checkpoint")
    rows = con.execute(
        "SELECT add.path, to_json(protocol) FROM read_parquet(?, union_by_name = true) "
        "WHERE add IS NOT NULL OR protocol IS NOT NULL",
        [parts],
    ).fetchall()
    files = {path for path, _ in rows if path is not None}
    protocols = [json.loads(p) for _, p in rows if p is not None]
    return version, files, (protocols[0] if protocols else {})


def check_protocol(protocol: dict) -> None:
    reader = protocol.get("minReaderVersion", 1)
    features = set(protocol.get("readerFeatures") or [])
    if reader == 2 or (reader >= 3 and not features <= HARMLESS_READER_FEATURES):
        sys.exit(
            f"error: the table needs reader version {reader} {sorted(features)}; this script "
            "reads the Parquet files directly and supports none of that"
        )


def resolve(table: Path, path: str) -> str:
    """Paths in the log are URIs: relative to the table and percent-encoded, or absolute."""
    uri = urlparse(path)
    if uri.scheme == "file":
        return unquote(uri.path)
    if uri.scheme:
        sys.exit(f"error: file {path} is not local")
    return str(table / unquote(path))


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


def contains_word(name: str, ty: duckdb.DuckDBPyType, pattern: str, depth: int = 0) -> list[str]:
    """Predicates true when some string inside the column matches `pattern` (ILIKE), one per
    string leaf outside lists and one per list column (any element matching)."""
    if ty.id == "varchar":
        return [f"{name} ILIKE {pattern} ESCAPE '\\'"]
    if ty.id == "struct":
        return [
            pred
            for field, child in ty.children
            for pred in contains_word(f'{name}."{field}"', child, pattern, depth)
        ]
    if ty.id == "list":
        var = f"x{depth}"
        inner = contains_word(var, ty.children[0][1], pattern, depth + 1)
        if inner:
            return [f"len(list_filter({name}, lambda {var}: {' OR '.join(inner)})) > 0"]
    return []  # numbers, times, booleans; maps would need map_values (the table has none)


def count_string_leaves(ty: duckdb.DuckDBPyType) -> int:
    if ty.id == "varchar":
        return 1
    if ty.id in ("struct", "list"):
        return sum(count_string_leaves(child) for _, child in ty.children)
    return 0


def like_pattern(word: str) -> str:
    """'%word%' as a SQL literal, LIKE's wildcards in the word escaped."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "'%" + escaped.replace("'", "''") + "%'"


def build_queries(con, words: str, word: str, exclude: set[str]) -> dict[str, list[str]]:
    """name -> the SQL statements whose total time is one sample."""
    ecs = f"{words} AND eventsource = '{ECS}'"
    columns = con.sql("SELECT * FROM cloudtrail")  # a relation: its schema, nothing run
    if unknown := exclude - set(columns.columns):
        sys.exit(f"error: --exclude {', '.join(sorted(unknown))}: no such column")
    pattern = like_pattern(word)
    predicates = [
        pred
        for name, ty in zip(columns.columns, columns.types)
        if name not in exclude
        for pred in contains_word(f'"{name}"', ty, pattern)
    ]
    leaves = sum(
        count_string_leaves(ty)
        for name, ty in zip(columns.columns, columns.types)
        if name not in exclude
    )
    print(f"freetext: {leaves} string columns (including struct and list leaves) "
          f"in {len(predicates)} predicates", file=sys.stderr)
    any_match = " OR ".join(f"({p})" for p in predicates)
    n = 2**GEOTILE_ZOOM
    return {
        "discover": [
            f"SELECT * FROM cloudtrail WHERE {ecs} ORDER BY eventtime DESC LIMIT 100",
            f"SELECT count(*) FROM cloudtrail WHERE {ecs}",
            f"SELECT date_trunc('hour', eventtime) AS hour, count(*) FROM cloudtrail "
            f"WHERE {ecs} GROUP BY 1 ORDER BY 1",
        ],
        "top5_ip": [
            f"SELECT sourceipaddress, count(*) AS n FROM cloudtrail WHERE {words} "
            f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5"
        ],
        "top10_eventname": [
            f"SELECT eventname, count(*) AS n FROM cloudtrail WHERE {words} "
            f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT 10"
        ],
        "cardinality_arn": [
            f"SELECT approx_count_distinct(useridentity.arn) FROM cloudtrail WHERE {words}"
        ],
        # Elasticsearch's geotile_grid: Web Mercator tiles at a zoom, doc count and centroid.
        "geotile": [
            f"""
            WITH points AS (
                SELECT geoip.location.lat AS lat, geoip.location.lon AS lon,
                       radians(least(greatest(geoip.location.lat, -{MAX_LAT}), {MAX_LAT})) AS phi
                FROM cloudtrail
                WHERE {words} AND geoip.location.lat IS NOT NULL AND geoip.location.lon IS NOT NULL
            )
            SELECT least(floor((lon + 180) / 360 * {n}), {n - 1})::INTEGER AS x,
                   least(floor((1 - ln(tan(phi) + 1 / cos(phi)) / pi()) / 2 * {n}),
                         {n - 1})::INTEGER AS y,
                   count(*) AS n, avg(lat) AS lat, avg(lon) AS lon
            FROM points GROUP BY x, y ORDER BY n DESC, x, y
            """
        ],
        "freetext": [
            f"SELECT * FROM cloudtrail WHERE {words} AND ({any_match}) "
            f"ORDER BY eventtime DESC LIMIT 100",
            f"SELECT count(*) FROM cloudtrail WHERE {words} AND ({any_match})",
        ],
    }


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def run_once(con, statements: list[str]) -> tuple[float, list[list]]:
    start = time.perf_counter()
    results = [con.execute(sql).fetchall() for sql in statements]
    return (time.perf_counter() - start) * 1000, results


def measure(con, name: str, statements: list[str], runs: int) -> dict:
    run_once(con, statements)  # warm-up: file metadata, OS page cache
    samples = []
    for _ in range(runs):
        ms, results = run_once(con, statements)
        samples.append(ms)
    samples.sort()
    out = {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[math.ceil(0.95 * len(samples)) - 1], 2),  # nearest rank
        "rows": len(results[0]),
    }
    if name in ("discover", "freetext"):
        out["hits"] = results[1][0][0]
    print(f"{name}: p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms, rows {out['rows']}"
          + (f", hits {out['hits']}" if "hits" in out else ""), file=sys.stderr)
    return out


def utc_literal(text: str) -> str:
    """An ISO time as a TIMESTAMPTZ literal; a time without offset is UTC."""
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        sys.exit(f"error: {text!r} is not an ISO 8601 time\nhint: e.g. 2026-11-01T00:00:00Z")
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return f"TIMESTAMPTZ '{t.astimezone(dt.timezone.utc).isoformat()}'"


def main() -> None:
    parser = argparse.ArgumentParser(description="DuckDB peer of trailscope's search benchmark")
    parser.add_argument("table", type=Path, help="the Delta table dir, <data-dir>/cloudtrail")
    parser.add_argument("--runs", type=int, default=10, help="timed runs after a warm-up")
    parser.add_argument("--start", required=True, help="inclusive start, ISO 8601 (UTC if naive)")
    parser.add_argument("--end", required=True, help="exclusive end, ISO 8601")
    parser.add_argument("--word", required=True, help="the free-text search word")
    # Every string column by default, as asked of the peer. `eventtemplate` holds the original
    # JSON's keys and punctuation (values spliced out), so a word like `userName` or `tls` matches
    # every row through it; `--exclude eventtemplate` searches values only.
    parser.add_argument("--exclude", action="append", default=[], metavar="COLUMN",
                        help="top-level column the free-text search skips (repeatable)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # hour buckets and eventdate are UTC
    files = live_files(con, args.table.resolve())
    if not files:
        sys.exit(f"error: the table at {args.table} has no files")
    # eventdate, the partition column, is only in the paths (eventdate=YYYY-MM-DD/), as Delta
    # writes them; hive_partitioning reads it from there.
    file_list = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(f"""
        CREATE VIEW cloudtrail AS
        SELECT * FROM read_parquet([{file_list}], hive_partitioning = true)
    """)
    start, end = utc_literal(args.start), utc_literal(args.end)
    window = (f"eventtime >= {start} AND eventtime < {end} "
              f"AND eventdate >= CAST({start} AS DATE) AND eventdate <= CAST({end} AS DATE)")
    (events,) = con.execute(f"SELECT count(*) FROM cloudtrail WHERE {window}").fetchone()
    (threads,) = con.execute("SELECT current_setting('threads')").fetchone()
    print(f"{len(files)} live files, {events} events in [{args.start}, {args.end}), "
          f"{threads} threads", file=sys.stderr)

    questions = build_queries(con, window, args.word, set(args.exclude))
    # Every question once before any is timed, as the trailscope side does: the first
    # questions are then not the ones to pay for the process's first use of memory and files.
    for statements in questions.values():
        run_once(con, statements)
    queries = {name: measure(con, name, statements, args.runs) for name, statements in questions.items()}
    print(json.dumps({
        "engine": "duckdb",
        "version": duckdb.__version__,
        "threads": threads,
        "events": events,
        "files": len(files),
        "queries": queries,
    }))


if __name__ == "__main__":
    main()
