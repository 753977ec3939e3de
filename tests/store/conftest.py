"""A local S3 (moto's server on 127.0.0.1) for the object-storage tests of this folder."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture(scope="module")
def s3_server(request):
    """(env, client): a moto S3 server on a free 127.0.0.1 port holding the module's BUCKET, the AWS variables
    pointing at it for the module's tests; stopped, and the variables restored, after the module."""
    pytest.importorskip("moto")
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    client.create_bucket(Bucket=request.module.BUCKET)
    yield env, client
    mp.undo()
    server.stop()
