"""The peer of trailscope's ingest benchmark: DuckDB turning the same CloudTrail .json.gz files
into zstd Parquet with typed columns, the fast way (read_json_objects, unnest Records,
json_transform), single process, all cores.

usage: python3 duckdb_ingest.py INPUT_DIR OUTPUT_PARQUET
prints one JSON line: {"events": N}
"""
import json
import sys

import duckdb

STRUCTURE = {
    "eventVersion": "VARCHAR",
    "userIdentity": {
        "type": "VARCHAR", "principalId": "VARCHAR", "arn": "VARCHAR", "accountId": "VARCHAR",
        "invokedBy": "VARCHAR", "accessKeyId": "VARCHAR", "userName": "VARCHAR",
        "sessionContext": {
            "attributes": {"mfaAuthenticated": "VARCHAR", "creationDate": "VARCHAR"},
            "sessionIssuer": {"type": "VARCHAR", "principalId": "VARCHAR", "arn": "VARCHAR",
                              "accountId": "VARCHAR", "userName": "VARCHAR"},
        },
    },
    "eventTime": "TIMESTAMP",
    "eventSource": "VARCHAR",
    "eventName": "VARCHAR",
    "awsRegion": "VARCHAR",
    "sourceIPAddress": "VARCHAR",
    "userAgent": "VARCHAR",
    "errorCode": "VARCHAR",
    "errorMessage": "VARCHAR",
    "requestParameters": "JSON",
    "responseElements": "JSON",
    "additionalEventData": "JSON",
    "requestID": "VARCHAR",
    "eventID": "VARCHAR",
    "resources": [{"ARN": "VARCHAR", "accountId": "VARCHAR", "type": "VARCHAR"}],
    "eventType": "VARCHAR",
    "readOnly": "VARCHAR",
    "recipientAccountId": "VARCHAR",
    "eventCategory": "VARCHAR",
    "managementEvent": "VARCHAR",
    "tlsDetails": {"tlsVersion": "VARCHAR", "cipherSuite": "VARCHAR", "clientProvidedHostHeader": "VARCHAR"},
}


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    structure = json.dumps(STRUCTURE).replace("'", "''")
    con.execute(f"""
        COPY (
            SELECT unnest(json_transform(rec, '{structure}'))
            FROM (
                SELECT unnest(json_extract(json, '$.Records[*]')) AS rec
                FROM read_json_objects('{src}/**/*.json.gz', format = 'auto',
                                       maximum_object_size = 1073741824)
            )
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd)
    """)
    (n,) = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()
    print(json.dumps({"events": n}))


if __name__ == "__main__":
    main()
