"""Settings for the prediction log's location and object-store credentials."""

from __future__ import annotations

import os
import socket

import pytest

from ferry.config import RegistrySettings, replica_id, storage_options
from ferry.errors import InvalidInput


def test_the_log_lives_in_the_home_unless_ferry_log_dir_says_otherwise(tmp_path):
    default = RegistrySettings.resolve(tmp_path, environ={})
    assert default.log_url == str(tmp_path)
    moved = RegistrySettings.resolve(tmp_path, environ={"FERRY_LOG_DIR": "s3://bucket/logs"})
    assert moved.log_url == "s3://bucket/logs" and moved.artifacts_url == str(tmp_path)


def test_replica_ids_default_to_host_and_pid_and_are_safe_in_file_names():
    assert replica_id() == f"{socket.gethostname()}-{os.getpid()}".replace("/", "_")
    assert replica_id("pod/7 (blue)") == "pod_7_blue"
    assert replica_id("ferry-0") == "ferry-0"


def test_s3_endpoint_and_credentials_come_from_ferry_variables():
    options = storage_options({
        "FERRY_S3_ENDPOINT_URL": "http://127.0.0.1:4568", "FERRY_S3_KEY": "k",
        "FERRY_S3_SECRET": "s", "FERRY_S3_REGION": "eu-west-1",
        "FERRY_STORAGE_OPTIONS": '{"anon": false}',
    })  # fmt: skip
    assert options == {
        "anon": False, "endpoint_url": "http://127.0.0.1:4568", "key": "k", "secret": "s",
        "client_kwargs": {"region_name": "eu-west-1"},
    }  # fmt: skip
    assert storage_options({}) == {}
    with pytest.raises(InvalidInput, match="FERRY_STORAGE_OPTIONS"):
        storage_options({"FERRY_STORAGE_OPTIONS": "[1]"})
