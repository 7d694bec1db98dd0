"""Uploads one file to an S3 server as the user in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.

usage: s3_put.py ENDPOINT BUCKET KEY FILE
"""

import sys

import boto3
from botocore.config import Config

endpoint, bucket, key, path = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
s3.upload_file(path, bucket, key)
