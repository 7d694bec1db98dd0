"""Uploads every file below DIR to an S3 server, keyed by its path relative to DIR (so a tree
`AWSLogs/<account>/CloudTrail/...` keeps CloudTrail's key layout), as the user in
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. Prints the number of objects uploaded.

usage: s3_upload_tree.py ENDPOINT BUCKET DIR
"""

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

endpoint, bucket, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
files = sorted(p for p in root.rglob("*") if p.is_file())
with ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda p: s3.upload_file(str(p), bucket, p.relative_to(root).as_posix()), files))
print(len(files))
