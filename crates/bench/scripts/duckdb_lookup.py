"""The peer of trailscope's LookupEvents benchmark: DuckDB answering the same page questions
(management events matching one attribute, newest first, 51 rows so one knows whether a next page
exists) over the same Delta table's Parquet files, single process, all cores.

usage: python3 duckdb_lookup.py TABLE_DIR --runs N --clients C --seconds S --questions JSON

JSON is a list of {"label", "key", "value"} (LookupEvents attribute keys). `Username` uses
trailscope's derivation as SQL. DuckDB has no equivalent of the derived resources, so
`ResourceType` and `ResourceName` are approximated by what trailscope pre-filters on (the event
sources that can name the type; the value inside the parameters' text) and do less work than
trailscope's exact check. The next page is the same query with OFFSET 50. Prints one JSON object:

{"engine": "duckdb", "version", "threads",
 "questions": {label: {"first_p50_ms", "next_p50_ms", "rows"}},
 "throughput": {"per_second", "p50_ms"}}
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from duckdb_search import live_files  # noqa: E402

MANAGEMENT = ("coalesce(eventcategory, 'Management') = 'Management' "
              "AND coalesce(managementevent, 'true') <> 'false'")
USERNAME = ("CASE useridentity.type WHEN 'Root' THEN 'root' "
            "WHEN 'AssumedRole' THEN split_part(useridentity.arn, '/', 3) "
            "WHEN 'FederatedUser' THEN split_part(useridentity.arn, '/', 2) "
            "ELSE useridentity.username END")
# Event sources whose parameters can name each resource type (trailscope's rule table, in part).
SOURCES = {"AWS::ECS::": "ecs.amazonaws.com", "AWS::EC2::": "ec2.amazonaws.com",
           "AWS::IAM::": "iam.amazonaws.com", "AWS::ElasticLoadBalancing": "elasticloadbalancing.amazonaws.com",
           "AWS::AutoScaling::": "autoscaling.amazonaws.com", "AWS::CloudTrail::": "cloudtrail.amazonaws.com",
           "AWS::S3::": "s3.amazonaws.com"}


def predicate(key: str, value: str) -> tuple[str, list]:
    if key == "EventId":
        return "eventid = ?", [value]
    if key == "EventName":
        return "eventname = ?", [value]
    if key == "ReadOnly":
        return "readonly = ?", [value]
    if key == "EventSource":
        return "eventsource = ?", [value]
    if key == "AccessKeyId":
        return "useridentity.accesskeyid = ?", [value]
    if key == "Username":
        return f"{USERNAME} = ?", [value]
    if key == "ResourceType":
        source = next((s for p, s in SOURCES.items() if value.startswith(p)), "")
        return ("(eventsource = ? AND coalesce(readonly, '') <> 'true') "
                "OR list_contains(list_transform(resources, lambda r: r.type), ?)"), [source, value]
    if key == "ResourceName":
        return ("coalesce(readonly, '') <> 'true' AND (contains(requestparameters, ?) "
                "OR contains(responseelements, ?))"), [value, value]
    raise ValueError(key)


def query(files: list[str], key: str, value: str, offset: int) -> tuple[str, list]:
    where, params = predicate(key, value)
    sql = (f"SELECT eventid, eventtime, eventname, eventsource, readonly, useridentity, resources, "
           f"requestparameters, responseelements FROM read_parquet(?) "
           f"WHERE {MANAGEMENT} AND ({where}) ORDER BY eventtime DESC, eventid DESC LIMIT 51 OFFSET {offset}")
    return sql, [files, *params]


def timed(con, sql, params) -> tuple[float, int]:
    t = time.perf_counter()
    rows = con.execute(sql, params).fetchall()
    return (time.perf_counter() - t) * 1e3, len(rows)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("table", type=Path)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--questions", required=True)
    a = p.parse_args()
    questions = json.loads(a.questions)
    con = duckdb.connect()
    files = live_files(con, a.table)
    out = {"engine": "duckdb", "version": duckdb.__version__,
           "threads": con.execute("SELECT current_setting('threads')").fetchone()[0], "questions": {}}
    for q in questions:
        first, nxt, rows = [], [], 0
        for i in range(a.runs + 1):
            ms, rows_first = timed(con, *query(files, q["key"], q["value"], 0))
            ms_next, _ = timed(con, *query(files, q["key"], q["value"], 50))
            if i:
                first.append(ms)
                nxt.append(ms_next)
            rows = rows_first
        out["questions"][q["label"]] = {"first_p50_ms": statistics.median(first),
                                        "next_p50_ms": statistics.median(nxt), "rows": rows}
        print(f"duckdb {q['label']}: {statistics.median(first):.1f} ms", file=sys.stderr)

    stop = time.perf_counter() + a.seconds
    times: list[float] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        cur = con.cursor()
        i = c
        while time.perf_counter() < stop:
            q = questions[i % len(questions)]
            ms, _ = timed(cur, *query(files, q["key"], q["value"], 0))
            with lock:
                times.append(ms)
            i += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    out["throughput"] = {"per_second": len(times) / elapsed, "p50_ms": statistics.median(times) if times else None}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
