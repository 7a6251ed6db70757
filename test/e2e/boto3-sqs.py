# Run by test/e2e/sqs-boto3.test.ts: an unmodified boto3 client against Weir's SQS endpoint.
# Prints one JSON line of what it saw; any exception fails the test.
import hashlib
import json
import sys

import boto3

url, queue = sys.argv[1], sys.argv[2]
sqs = boto3.client(
    "sqs",
    endpoint_url=url,
    region_name="eu-central-1",
    aws_access_key_id="admin",
    aws_secret_access_key="weir-local-admin-token",
)
queue_url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "40"})["QueueUrl"]
body = "héllo ✓ from boto3"
sent = sqs.send_message(
    QueueUrl=queue_url,
    MessageBody=body,
    MessageAttributes={
        "n": {"DataType": "Number", "StringValue": "3"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    },
)
batch = sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "x", "MessageBody": "second"}])
got = []
while len(got) < 2:
    got += sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=5, MessageAttributeNames=["All"], AttributeNames=["All"]
    ).get("Messages", [])
first = next(m for m in got if m["Body"] == body)
sqs.delete_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
try:
    sqs.get_queue_url(QueueName="no-such-queue")
    missing = None
except sqs.exceptions.QueueDoesNotExist as error:
    missing = error.response["Error"]["Code"]
print(
    json.dumps(
        {
            "queueUrl": queue_url,
            "bodyMd5Matches": sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest(),
            "batchSuccessful": [e["Id"] for e in batch.get("Successful", [])],
            "bodies": sorted(m["Body"] for m in got),
            "attributes": {k: v.get("StringValue", v.get("BinaryValue", b"").hex()) for k, v in first["MessageAttributes"].items()},
            "receiveCount": first["Attributes"]["ApproximateReceiveCount"],
            "visibilityTimeout": attributes["VisibilityTimeout"],
            "depthAfterDelete": attributes["ApproximateNumberOfMessages"],
            "missing": missing,
        }
    )
)
