"""Prepares a moto S3 server for the S3 tests: a bucket holding the fixture files under the
CloudTrail key layout, and IAM users whose policies allow only some of what trailscope needs.
Then turns on moto's IAM enforcement, so those policies are checked.

usage: s3_setup.py ENDPOINT BUCKET FIXTURES_DIR
Prints one JSON object: {"objects": [...keys], "users": {"name": {"id", "secret"}}}.
"""

import json
import sys
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

endpoint, bucket, fixtures = sys.argv[1], sys.argv[2], Path(sys.argv[3])
session = boto3.session.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1")
s3 = session.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
iam = session.client("iam", endpoint_url=endpoint)

s3.create_bucket(Bucket=bucket)
keys = []
# Every fixture file, READMEs and licences included, so an S3 backfill meets what a local ingest
# of tests/fixtures meets.
files = sorted(p for p in fixtures.rglob("*") if p.is_file())
for n, path in enumerate(files):
    # The layout CloudTrail writes: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<name>.
    key = f"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/{1 + n % 28:02d}/{n:04d}_{path.name}"
    s3.upload_file(str(path), bucket, key)
    keys.append(key)

this_bucket = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
policies = {
    "reader": (["s3:ListBucket", "s3:GetObject"], this_bucket),
    "lister": (["s3:ListBucket"], this_bucket),
    "getter": (["s3:GetObject"], this_bucket),
    "admin": (["s3:*", "sqs:*"], ["*"]),
    # What a writer of a table kept in this bucket (--data-dir s3://) needs: no DeleteObject.
    "tablewriter": (["s3:ListBucket", "s3:GetObject", "s3:PutObject"], this_bucket),
    # What an SQS-mode source needs: read the bucket, take messages off the queue. (AWS grants the
    # batch calls with the single actions; moto checks them under their own names, so both.)
    "consumer": (["s3:ListBucket", "s3:GetObject", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessageBatch", "sqs:ChangeMessageVisibilityBatch"], ["*"]),
}
users = {}
for name, (actions, resources) in policies.items():
    iam.create_user(UserName=name)
    statement = [{"Effect": "Allow", "Action": actions, "Resource": resources}]
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statement}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    users[name] = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}

# From now on moto checks every request against the users' policies.
urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"content-type": "text/plain"})).read()
print(json.dumps({"objects": keys, "users": users}))
