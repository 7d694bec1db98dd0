"""Drive trailscope's Elasticsearch-compatible API with the real Python clients.

Runs the requests Kibana's Discover and common dashboards send, through the official
`elasticsearch` client (8.x) and `opensearch-py` (2.x), and compares every answer with
expectations computed independently by DuckDB straight from the CloudTrail .json.gz files that
were ingested into the server's table.

usage:
    pip install -r tests/python/requirements.txt
    python3 tests/python/es_clients.py --url http://127.0.0.1:PORT/_elastic --input DIR [--token T]
    python3 tests/python/es_clients.py --input DIR --expect-only     # DuckDB's expectations only

Prints one line per check. Exit status: 0 all passed, 1 some check failed (the expected and actual
values follow the summary), 2 a client package is missing or a usage error.

Each check is a function `check_*(response, expect) -> list[str]` that returns its problems (an
empty list is a pass). The two clients differ only in how a request is spelled; `es_api` and
`opensearch_api` hide that behind the same few functions.
"""
import argparse
import datetime as dt
import importlib.metadata
import json
import sys
from pathlib import Path
from types import SimpleNamespace

INSTALL_HINT = "hint: pip install -r tests/python/requirements.txt"

INDEX = "cloudtrail"
ECS = "ecs.amazonaws.com"
HOUR_MS = 3_600_000

# Kibana Discover's request: the newest 100 documents plus the histogram above the table.
DISCOVER = {
    "query": {"query_string": {"query": f"eventsource:{ECS}"}},
    "size": 100,
    "sort": [{"eventtime": "desc"}],
    "track_total_hits": True,
    "aggs": {"per_hour": {"date_histogram": {"field": "eventtime", "fixed_interval": "1h"}}},
}
TOP_NAMES = {
    "size": 0,
    "query": {"match": {"eventSource": ECS}},
    "aggs": {"top_names": {"terms": {"field": "eventName", "size": 10}}},
}
TOP_IPS = {
    "size": 0,
    "query": {"match_all": {}},
    "aggs": {"ips": {"terms": {"field": "sourceIPAddress", "size": 5}}},
}
ECS_QUERY = {"query_string": {"query": f"eventsource:{ECS}"}}
BAD_QUERY = {"query": {"query_string": {"query": "eventsource:("}}}


# ---------------------------------------------------------------------------------------------
# Expectations, from the source files with DuckDB
# ---------------------------------------------------------------------------------------------


def compute_expectations(input_dir: str) -> dict:
    """Everything the checks compare against, from the .json.gz files alone."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # hour buckets are UTC hours, like Elasticsearch's
    pattern = f"{input_dir.rstrip('/')}/**/*.json.gz".replace("'", "''")
    # read_json_objects + json_extract rather than read_json: records differ in shape
    # (requestParameters above all) and we need only a few top-level fields as text, so no
    # schema inference is wanted. Files without `Records` (digests) contribute no rows.
    con.execute(f"""
        CREATE TABLE events AS
        SELECT rec ->> 'eventID'                      AS event_id,
               (rec ->> 'eventTime')::TIMESTAMPTZ     AS event_time,
               rec ->> 'eventSource'                  AS event_source,
               rec ->> 'eventName'                    AS event_name,
               rec ->> 'sourceIPAddress'              AS source_ip,
               rec::VARCHAR                           AS raw
        FROM (
            SELECT unnest(json_extract(json, '$.Records[*]')) AS rec
            FROM read_json_objects('{pattern}', format = 'auto',
                                   maximum_object_size = 1073741824)
        )
    """)

    def scalar(sql: str) -> int:
        return con.execute(sql).fetchone()[0]

    def top_terms(column: str, where: str, size: int) -> dict:
        # Elasticsearch's terms order: _count desc, then _key asc (byte order, as DuckDB's
        # default binary collation). Documents without the field fall in no bucket.
        rows = con.execute(f"""
            SELECT {column}, count(*) AS n FROM events
            WHERE {where} AND {column} IS NOT NULL
            GROUP BY 1 ORDER BY n DESC, 1 ASC LIMIT {size}
        """).fetchall()
        with_field = scalar(f"SELECT count({column}) FROM events WHERE {where}")
        return {
            "buckets": [[key, n] for key, n in rows],
            "sum_other_doc_count": with_field - sum(n for _, n in rows),
        }

    ecs = f"event_source = '{ECS}'"
    newest = con.execute(f"""
        SELECT epoch_ms(event_time) FROM events WHERE {ecs}
        ORDER BY event_time DESC LIMIT {DISCOVER['size']}
    """).fetchall()
    newest_ms = [ms for (ms,) in newest]
    # The original records of every ecs event at least as new as the 100th newest: whichever
    # of equally timed events the server picks, its _source can be compared with the original.
    originals = {}
    if newest_ms:
        for event_id, raw in con.execute(f"""
            SELECT event_id, raw FROM events
            WHERE {ecs} AND epoch_ms(event_time) >= {newest_ms[-1]}
        """).fetchall():
            originals[event_id] = json.loads(raw)

    return {
        "total": scalar("SELECT count(*) FROM events"),
        "ecs_count": scalar(f"SELECT count(*) FROM events WHERE {ecs}"),
        "ecs_top_names": top_terms("event_name", ecs, 10),
        "top_ips": top_terms("source_ip", "true", 5),
        "ecs_per_hour": [
            [key, n]
            for key, n in con.execute(f"""
                SELECT epoch_ms(date_trunc('hour', event_time)) AS k, count(*) FROM events
                WHERE {ecs} GROUP BY 1 ORDER BY 1
            """).fetchall()
        ],
        "ecs_newest_ms": newest_ms,
        "ecs_newest_originals": originals,
    }


# ---------------------------------------------------------------------------------------------
# The two clients behind one set of functions
# ---------------------------------------------------------------------------------------------


def es_api(url: str, token: str | None) -> SimpleNamespace:
    """The official client, spelled the 8.x way (keyword arguments, not `body=`)."""
    from elasticsearch import BadRequestError, Elasticsearch

    es = Elasticsearch(url, api_key=token or None, request_timeout=60)  # Authorization: ApiKey

    def error_of(e: Exception):
        if not isinstance(e, BadRequestError):
            return None
        return e.meta.status, e.body

    return SimpleNamespace(
        name="elasticsearch",
        version=importlib.metadata.version("elasticsearch"),
        info=lambda: dict(es.info()),
        search=lambda index, body: dict(es.search(index=index, **body)),
        count=lambda index, query: dict(es.count(index=index, query=query)),
        msearch=lambda searches: dict(es.msearch(searches=searches)),
        get_mapping=lambda index: dict(es.indices.get_mapping(index=index)),
        field_caps=lambda index: dict(es.field_caps(index=index, fields="*")),
        error_of=error_of,
        bad_request_name="elasticsearch.BadRequestError",
    )


def opensearch_api(url: str, token: str | None) -> SimpleNamespace:
    """opensearch-py 2.x, which takes request bodies as `body=`."""
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import RequestError

    headers = {"Authorization": f"Bearer {token}"} if token else None
    client = OpenSearch(hosts=[url], headers=headers, timeout=60)

    def error_of(e: Exception):
        if not isinstance(e, RequestError):
            return None
        return e.status_code, e.info

    return SimpleNamespace(
        name="opensearch-py",
        version=importlib.metadata.version("opensearch-py"),
        info=client.info,
        search=lambda index, body: client.search(index=index, body=body),
        count=lambda index, query: client.count(index=index, body={"query": query}),
        msearch=lambda searches: client.msearch(body=searches),
        get_mapping=lambda index: client.indices.get_mapping(index=index),
        field_caps=lambda index: client.field_caps(index=index, fields="*"),
        error_of=error_of,
        bad_request_name="opensearchpy.exceptions.RequestError",
    )


# ---------------------------------------------------------------------------------------------
# Checks: each returns its problems, an empty list when it passes
# ---------------------------------------------------------------------------------------------


def check_info(resp: dict, expect: dict) -> list[str]:
    number = resp.get("version", {}).get("number")
    return [] if number else [f"version.number missing in {short(resp)}"]


def check_discover_total(resp: dict, expect: dict) -> list[str]:
    total = resp.get("hits", {}).get("total")
    wanted = {"value": expect["ecs_count"], "relation": "eq"}
    return [] if total == wanted else [f"hits.total: expected {wanted}, actual {total}"]


def check_discover_hits(resp: dict, expect: dict) -> list[str]:
    hits = resp.get("hits", {}).get("hits", [])
    wanted = min(DISCOVER["size"], expect["ecs_count"])
    problems = [] if len(hits) == wanted else [f"expected {wanted} hits, actual {len(hits)}"]
    for i, hit in enumerate(hits):
        source = hit.get("_source") or {}
        if hit.get("_index") != INDEX:
            problems.append(f"hit {i}: _index expected {INDEX!r}, actual {hit.get('_index')!r}")
        if not hit.get("_id"):
            problems.append(f"hit {i}: _id is empty")
        elif hit["_id"] != source.get("eventID"):
            problems.append(f"hit {i}: _id {hit['_id']!r} is not eventID {source.get('eventID')!r}")
        if source.get("eventSource") != ECS:
            problems.append(f"hit {i}: _source.eventSource is {source.get('eventSource')!r}")
    return problems


def check_discover_order(resp: dict, expect: dict) -> list[str]:
    """Newest first, `sort` values as Elasticsearch gives them for a date (epoch millis), and
    the very event times DuckDB finds newest (robust to ties between equal times)."""
    hits = resp.get("hits", {}).get("hits", [])
    problems = []
    times = []
    for i, hit in enumerate(hits):
        try:
            ms = iso_to_ms(hit["_source"]["eventTime"])
        except (KeyError, TypeError, ValueError) as e:
            problems.append(f"hit {i}: no readable _source.eventTime ({e!r})")
            continue
        times.append(ms)
        sort = hit.get("sort")
        if not isinstance(sort, list) or not sort:
            problems.append(f"hit {i}: sort array missing, got {sort!r}")
        elif sort[0] != ms:
            problems.append(f"hit {i}: sort[0] expected {ms} (eventTime in ms), actual {sort[0]!r}")
    for i in range(1, len(times)):
        if times[i] > times[i - 1]:
            problems.append(f"hit {i} is newer than hit {i - 1}: {times[i]} > {times[i - 1]}")
    if not problems and times != expect["ecs_newest_ms"]:
        problems.append("event times of the hits differ from DuckDB's newest ecs events:")
        problems += diff_rows(expect["ecs_newest_ms"], times, as_time=True)
    return problems


def check_discover_sources(resp: dict, expect: dict) -> list[str]:
    """_source is the record as CloudTrail wrote it, plus `geoip` and `tags`."""
    problems = []
    for i, hit in enumerate(resp.get("hits", {}).get("hits", [])):
        source = dict(hit.get("_source") or {})
        source.pop("geoip", None)
        source.pop("tags", None)
        original = expect["ecs_newest_originals"].get(hit.get("_id"))
        if original is None:
            problems.append(f"hit {i}: _id {hit.get('_id')!r} is not among the newest ecs events")
        elif source != original:
            problems.append(f"hit {i} ({hit.get('_id')}): _source differs from the original record")
            problems += dict_diff(original, source, "  ")
        if len(problems) > 20:
            problems.append("(more differences not shown)")
            break
    return problems


def check_discover_histogram(resp: dict, expect: dict) -> list[str]:
    """Equal to DuckDB's hourly counts; like Elasticsearch with the default min_doc_count 0,
    buckets run contiguously from the first to the last non-empty hour, gaps filled with 0."""
    buckets = resp.get("aggregations", {}).get("per_hour", {}).get("buckets")
    if not isinstance(buckets, list):
        return [f"aggregations.per_hour.buckets missing: {short(resp.get('aggregations'))}"]
    problems = []
    actual = []
    for i, b in enumerate(buckets):
        key, count, text = b.get("key"), b.get("doc_count"), b.get("key_as_string")
        if not isinstance(key, int):
            problems.append(f"bucket {i}: key should be epoch millis, got {key!r}")
            continue
        try:
            if iso_to_ms(text) != key:
                problems.append(f"bucket {i}: key_as_string {text!r} is not key {key}")
        except (TypeError, ValueError):
            problems.append(f"bucket {i}: key_as_string {text!r} is not an ISO time")
        actual.append([key, count])
    keys = [k for k, _ in actual]
    if any(b - a != HOUR_MS for a, b in zip(keys, keys[1:])):
        problems.append("bucket keys are not consecutive hours (empty hours must be filled)")
    non_zero = [[k, n] for k, n in actual if n != 0]
    if non_zero != expect["ecs_per_hour"]:
        problems.append("buckets differ, doc_count by hour:")
        problems += diff_hours(expect["ecs_per_hour"], actual)
    wanted = expect["ecs_per_hour"]
    if wanted and keys and (keys[0], keys[-1]) != (wanted[0][0], wanted[-1][0]):
        problems.append(
            f"buckets span {ms_to_iso(keys[0])}..{ms_to_iso(keys[-1])}, "
            f"expected {ms_to_iso(wanted[0][0])}..{ms_to_iso(wanted[-1][0])}"
        )
    return problems


def check_terms(agg_name: str, expect_key: str):
    def check(resp: dict, expect: dict) -> list[str]:
        agg = resp.get("aggregations", {}).get(agg_name)
        if not isinstance(agg, dict) or not isinstance(agg.get("buckets"), list):
            return [f"aggregations.{agg_name}.buckets missing: {short(resp.get('aggregations'))}"]
        wanted = expect[expect_key]
        actual = [[b.get("key"), b.get("doc_count")] for b in agg["buckets"]]
        problems = []
        if actual != wanted["buckets"]:
            problems.append("buckets differ, [key, doc_count]:")
            problems += diff_rows(wanted["buckets"], actual)
        other = agg.get("sum_other_doc_count")
        if other != wanted["sum_other_doc_count"]:
            problems.append(
                f"sum_other_doc_count: expected {wanted['sum_other_doc_count']}, actual {other}"
            )
        if resp.get("hits", {}).get("hits"):
            problems.append("size=0 but hits were returned")
        return problems

    check.__name__ = f"check_terms_{agg_name}"
    return check


def check_count_ecs(resp: dict, expect: dict) -> list[str]:
    return expect_equal("count", expect["ecs_count"], resp.get("count"))


def check_count_all(resp: dict, expect: dict) -> list[str]:
    return expect_equal("count", expect["total"], resp.get("count"))


def check_msearch(resp: dict, expect: dict) -> list[str]:
    responses = resp.get("responses")
    if not isinstance(responses, list) or len(responses) != 2:
        return [f"expected 2 responses, actual {short(responses)}"]
    problems = []
    for i, (r, wanted) in enumerate(zip(responses, [expect["ecs_count"], expect["total"]])):
        total = r.get("hits", {}).get("total", {})
        value = total.get("value") if isinstance(total, dict) else total
        problems += expect_equal(f"responses[{i}].hits.total.value", wanted, value)
    return problems


def check_mapping(resp: dict, expect: dict) -> list[str]:
    """Fields are mapped under CloudTrail's own spelling, as they appear in _source."""
    props = resp.get(INDEX, {}).get("mappings", {}).get("properties", {})
    field = props.get("eventTime")
    if not isinstance(field, dict):
        return [f"{INDEX}.mappings.properties.eventTime missing; properties: {short(list(props))}"]
    if field.get("type") not in ("date", "date_nanos"):
        return [f"eventTime should be of type date, mapping is {field}"]
    arn = props.get("userIdentity", {}).get("properties", {}).get("arn", {})
    if arn.get("type") != "keyword":
        return [f"userIdentity.arn should be a keyword, mapping is {short(arn)}"]
    return []


def check_field_caps(resp: dict, expect: dict) -> list[str]:
    fields = resp.get("fields")
    if not isinstance(fields, dict) or not fields:
        return [f"`fields` missing or empty: {short(resp)}"]
    missing = [f for f in ("eventTime", "userIdentity.arn", "geoip.location") if f not in fields]
    return [f"`fields` lacks {missing}"] if missing else []


def check_bad_query(outcome, expect: dict, api: SimpleNamespace) -> list[str]:
    """A query_string syntax error: HTTP 400, raised as the client's bad-request error, with an
    Elasticsearch-shaped body naming the column."""
    if not isinstance(outcome, Exception):
        return [f"expected {api.bad_request_name}, the request succeeded: {short(outcome)}"]
    parts = api.error_of(outcome)
    if parts is None:
        return [f"expected {api.bad_request_name}, got {type(outcome).__name__}: {outcome}"]
    status, body = parts
    error = body.get("error") if isinstance(body, dict) else None
    problems = expect_equal("status", 400, status)
    if not isinstance(error, dict):
        return problems + [f"body.error should be an object with type and reason: {short(body)}"]
    if not error.get("type"):
        problems.append(f"error.type missing: {short(error)}")
    if "eventsource" not in str(error.get("reason", "")).lower():
        problems.append(f"error.reason should mention eventsource: {error.get('reason')!r}")
    return problems


# Each request once, then the checks over its answer.
def requests_and_checks(api: SimpleNamespace) -> list:
    def bad_query():
        try:
            return api.search(INDEX, BAD_QUERY)
        except Exception as e:  # noqa: BLE001 - the exception is the answer under test
            return e

    return [
        ("info", api.info, [check_info]),
        ("discover", lambda: api.search("cloudtrail*", DISCOVER), [
            check_discover_total, check_discover_hits, check_discover_order,
            check_discover_sources, check_discover_histogram,
        ]),
        ("terms eventName", lambda: api.search(INDEX, TOP_NAMES),
         [check_terms("top_names", "ecs_top_names")]),
        ("terms sourceIPAddress", lambda: api.search(INDEX, TOP_IPS),
         [check_terms("ips", "top_ips")]),
        ("count ecs", lambda: api.count(INDEX, ECS_QUERY), [check_count_ecs]),
        ("count all", lambda: api.count(INDEX, {"match_all": {}}), [check_count_all]),
        ("msearch", lambda: api.msearch([
            {"index": INDEX}, {"query": ECS_QUERY, "size": 0, "track_total_hits": True},
            {"index": INDEX}, {"query": {"match_all": {}}, "size": 0, "track_total_hits": True},
        ]), [check_msearch]),
        ("get_mapping", lambda: api.get_mapping(INDEX), [check_mapping]),
        ("field_caps", lambda: api.field_caps(INDEX), [check_field_caps]),
        ("syntax error", bad_query,
         [lambda outcome, expect: check_bad_query(outcome, expect, api)]),
    ]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def expect_equal(what: str, expected, actual) -> list[str]:
    return [] if expected == actual else [f"{what}: expected {expected!r}, actual {actual!r}"]


def diff_rows(expected: list, actual: list, as_time: bool = False) -> list[str]:
    """Row by row, only the rows that differ (at most 15)."""
    show = (lambda v: ms_to_iso(v) if isinstance(v, int) else repr(v)) if as_time else repr
    out = []
    for i in range(max(len(expected), len(actual))):
        e = expected[i] if i < len(expected) else "(none)"
        a = actual[i] if i < len(actual) else "(none)"
        if e != a:
            out.append(f"  #{i}: expected {show(e)}, actual {show(a)}")
    if len(out) > 15:
        out = out[:15] + [f"  … {len(out) - 15} more differing rows"]
    return out


def diff_hours(expected: list, actual: list) -> list[str]:
    """[key, doc_count] pairs compared by key; an empty hour may be missing or 0."""
    want, got = dict(map(tuple, expected)), dict(map(tuple, actual))
    out = []
    for key in sorted(set(want) | set(got)):
        e, a = want.get(key, 0), got.get(key, "(no bucket)")
        if e != a and not (e == 0 and a == "(no bucket)"):
            out.append(f"  {ms_to_iso(key)} ({key}): expected {e}, actual {a}")
    if len(out) > 15:
        out = out[:15] + [f"  … {len(out) - 15} more differing hours"]
    return out


def dict_diff(expected, actual, indent: str, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(f"{indent}{sub}: missing (expected {short(expected[key])})")
            elif key not in expected:
                out.append(f"{indent}{sub}: unexpected {short(actual[key])}")
            else:
                out += dict_diff(expected[key], actual[key], indent, sub)
        return out
    if expected != actual:
        return [f"{indent}{path}: expected {short(expected)}, actual {short(actual)}"]
    return []


def iso_to_ms(text: str) -> int:
    t = dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return round(t.timestamp() * 1000)


def ms_to_iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def short(value, limit: int = 300) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def run_client(api: SimpleNamespace, expect: dict) -> list[tuple[str, list[str]]]:
    """Runs every request and check; prints a line per check; returns the failures."""
    failures = []
    for request_name, request, checks in requests_and_checks(api):
        try:
            response = request()
        except Exception as e:  # noqa: BLE001 - any client error is a failed check
            problem = f"request raised {type(e).__name__}: {e}"
            print(f"FAIL  {api.name:<14} {request_name}: {problem}")
            failures.append((f"{api.name} {request_name}", [problem]))
            if request_name == "info":
                print(f"      {api.name:<14} skipping the other checks: is the server up?")
                return failures
            continue
        for check in checks:
            label = check_label(check, request_name, len(checks) > 1)
            try:
                problems = check(response, expect)
            except Exception as e:  # noqa: BLE001 - a response of the wrong shape fails the check
                problems = [f"response of unexpected shape ({e!r}): {short(response)}"]
            print(f"{'ok  ' if not problems else 'FAIL'}  {api.name:<14} {label}")
            if problems:
                failures.append((f"{api.name} {label}", problems))
    return failures


def check_label(check, request_name: str, several: bool) -> str:
    """`discover: hits`, or just the request's name when one check covers it."""
    if not several:
        return request_name
    return f"{request_name}: " + check.__name__.removeprefix(f"check_{request_name}_")


def printable_expectations(expect: dict) -> dict:
    shown = {k: v for k, v in expect.items() if k not in ("ecs_newest_originals", "ecs_newest_ms")}
    newest = expect["ecs_newest_ms"]
    shown["ecs_newest"] = {
        "n": len(newest),
        "first": ms_to_iso(newest[0]) if newest else None,
        "last": ms_to_iso(newest[-1]) if newest else None,
    }
    shown["ecs_newest_originals"] = len(expect["ecs_newest_originals"])
    shown["ecs_per_hour"] = {
        "buckets": len(expect["ecs_per_hour"]),
        "first": expect["ecs_per_hour"][:3],
        "last": expect["ecs_per_hour"][-3:],
    }
    return shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="the server's ES API: http://127.0.0.1:PORT/_elastic")
    parser.add_argument("--input", required=True, help="folder of the .json.gz files ingested")
    parser.add_argument("--token", help="API token (sent as `ApiKey` and as `Bearer`)")
    parser.add_argument("--expect-only", action="store_true",
                        help="print DuckDB's expectations and stop")
    args = parser.parse_args()
    if not args.expect_only and not args.url:
        parser.error("--url is required unless --expect-only")

    apis = []
    try:
        import duckdb  # noqa: F401

        if not args.expect_only:
            apis = [es_api(args.url, args.token), opensearch_api(args.url, args.token)]
    except ImportError as e:
        print(f"error: {e}\n{INSTALL_HINT}", file=sys.stderr)
        return 2

    if not any(Path(args.input).glob("**/*.json.gz")):
        print(f"error: no .json.gz files under {args.input}", file=sys.stderr)
        return 2
    expect = compute_expectations(args.input)
    if expect["total"] == 0:
        print(f"error: no CloudTrail records under {args.input}/**/*.json.gz", file=sys.stderr)
        return 2
    print(f"expected (DuckDB over {args.input}): {expect['total']} events, "
          f"{expect['ecs_count']} from {ECS}", file=sys.stderr)
    if args.expect_only:
        for key, value in printable_expectations(expect).items():
            print(f"{key}: {json.dumps(value)}")
        return 0

    failures = []
    for api in apis:
        print(f"# {api.name} {api.version} -> {args.url}")
        failures += run_client(api, expect)

    if not failures:
        print("all checks passed")
        return 0
    print(f"\n{len(failures)} check(s) failed:")
    for label, problems in failures:
        print(f"\n{label}")
        for p in problems:
            print(f"  {p}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
