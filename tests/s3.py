"""A real S3-compatible HTTP server (moto's standalone server) on a free loopback port, with one bucket:
the `s3_server` test fixture and the benchmarks start it the same way."""

import contextlib
import socket


@contextlib.contextmanager
def moto_s3(bucket: str = "trendflow"):
    """Yields {"endpoint_url", "storage_options"} (fsspec/s3fs options for the server)."""
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    try:
        boto3.client("s3", endpoint_url=endpoint, **creds).create_bucket(Bucket=bucket)
        yield {"endpoint_url": endpoint,
               "storage_options": {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}}
    finally:
        server.stop()
