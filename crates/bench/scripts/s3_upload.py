"""Uploads a folder to an S3 server under the same relative keys (for the S3 ingest benchmark).

usage: s3_upload.py ENDPOINT BUCKET DIR     (credentials from the AWS_* variables)
"""

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

endpoint, bucket, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, max_pool_connections=16),
)
s3.create_bucket(Bucket=bucket)
files = [p for p in root.rglob("*") if p.is_file()]
with ThreadPoolExecutor(16) as pool:
    list(pool.map(lambda p: s3.upload_file(str(p), bucket, p.relative_to(root).as_posix()), files))
print(len(files))
