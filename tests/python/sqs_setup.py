"""Makes a moto S3 bucket notify an SQS queue of every object created, as S3 does in AWS.

usage: sqs_setup.py ENDPOINT BUCKET QUEUE
Prints the queue's URL. Uses the credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
"""

import sys

import boto3
from botocore.config import Config

endpoint, bucket, queue = sys.argv[1:4]
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
sqs = boto3.client("sqs", **kw)
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **kw)
url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
s3.put_bucket_notification_configuration(
    Bucket=bucket,
    NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
)
print(url)
