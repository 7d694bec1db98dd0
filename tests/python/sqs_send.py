"""Sends message bodies to an SQS queue, one per line of standard input, and prints the number
sent; `--depth` instead prints how many messages the queue holds (visible and in flight).

usage: sqs_send.py ENDPOINT QUEUE_URL [--depth]
Uses the credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
"""

import sys

import boto3

endpoint, url = sys.argv[1:3]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
if "--depth" in sys.argv:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    print(int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]))
    sys.exit(0)
n = 0
for line in sys.stdin:
    if line.strip():
        sqs.send_message(QueueUrl=url, MessageBody=line.strip())
        n += 1
print(n)
