"""Issue 7 through boto3 and the AWS CLI: SigV4 against a credentials file (header signatures
and presigned URLs), accounts and their isolation, and TLS.

The Rust tests (tests/api/auth.rs) cover the same rules through aws-sdk-appconfig; these prove
that botocore's signer (a different canonicalisation implementation) verifies too.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore
import pytest
from botocore.config import Config

ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"
KEY_A = ("AKIDPYTHONAAAAAAAAAA", "py/secret+a")
KEY_B = ("AKIDPYTHONBBBBBBBBBB", "py-secret-b")

CREDENTIALS = f"""
[[credentials]]
access_key_id = "{KEY_A[0]}"
secret_access_key = "{KEY_A[1]}"
account_id = "{ACCOUNT_A}"

[[credentials]]
access_key_id = "{KEY_B[0]}"
secret_access_key = "{KEY_B[1]}"
account_id = "{ACCOUNT_B}"
"""


@pytest.fixture(scope="module")
def creds_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("creds") / "credentials.toml"
    path.write_text(CREDENTIALS)
    return path


@pytest.fixture(scope="module")
def secured(start_server, creds_file):
    return start_server("--credentials", str(creds_file))


def client(endpoint, key, service="appconfig", **kw):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=kw.pop("config", Config(retries={"max_attempts": 1})),
        **kw,
    )


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message", "")


def test_boto3_signs_and_sees_only_its_account(secured, unique):
    a, b = client(secured.endpoint, KEY_A), client(secured.endpoint, KEY_B)
    app = a.create_application(Name=unique)["Id"]
    env = a.create_environment(ApplicationId=app, Name="prod")["Id"]
    a.tag_resource(ResourceArn=f"arn:aws:appconfig:us-east-1:{ACCOUNT_A}:application/{app}",
                   Tags={"team": "a b/c"})
    assert [i["Id"] for i in a.list_applications()["Items"]] == [app]
    assert b.list_applications()["Items"] == []
    assert error_of(lambda: b.get_application(ApplicationId=app))[:2] == ("ResourceNotFoundException", 404)
    assert error_of(lambda: b.get_environment(ApplicationId=app, EnvironmentId=env))[1] == 404
    assert error_of(lambda: b.delete_application(ApplicationId=app))[1] == 404
    assert a.get_application(ApplicationId=app)["Name"] == unique

    # Hosted content (a raw body) and the data plane, signed by botocore.
    p = a.create_configuration_profile(ApplicationId=app, Name="cfg", LocationUri="hosted")["Id"]
    a.create_hosted_configuration_version(ApplicationId=app, ConfigurationProfileId=p,
                                          Content=b'{"x": 1}', ContentType="application/json")
    s = a.create_deployment_strategy(Name=f"{unique}-now", DeploymentDurationInMinutes=0,
                                     GrowthFactor=100, FinalBakeTimeInMinutes=0)["Id"]
    n = a.start_deployment(ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=s,
                           ConfigurationProfileId=p, ConfigurationVersion="1")["DeploymentNumber"]
    deadline = time.time() + 20
    while a.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=n)["State"] != "COMPLETE":
        assert time.time() < deadline
        time.sleep(0.1)
    da = client(secured.endpoint, KEY_A, "appconfigdata")
    token = da.start_configuration_session(ApplicationIdentifier=unique, EnvironmentIdentifier="prod",
                                           ConfigurationProfileIdentifier="cfg")["InitialConfigurationToken"]
    assert da.get_latest_configuration(ConfigurationToken=token)["Configuration"].read() == b'{"x": 1}'
    db = client(secured.endpoint, KEY_B, "appconfigdata")
    code, status, _ = error_of(lambda: db.start_configuration_session(
        ApplicationIdentifier=unique, EnvironmentIdentifier="prod", ConfigurationProfileIdentifier="cfg"))
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_boto3_refusals(secured, unique):
    stranger = client(secured.endpoint, ("AKIDNOBODY0000000000", "x"))
    code, status, msg = error_of(lambda: stranger.create_application(Name=unique))
    assert (code, status) == ("UnrecognizedClientException", 403)
    assert "security token" in msg
    forger = client(secured.endpoint, (KEY_A[0], "wrong"))
    code, status, msg = error_of(lambda: forger.create_application(Name=unique))
    assert (code, status) == ("InvalidSignatureException", 403)
    unsigned = client(secured.endpoint, KEY_A,
                      config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}))
    code, status, _ = error_of(lambda: unsigned.list_applications())
    assert (code, status) == ("MissingAuthenticationTokenException", 403)
    names = [i["Name"] for i in client(secured.endpoint, KEY_A).list_applications()["Items"]]
    assert unique not in names


def test_presigned_urls(secured, unique):
    a = client(secured.endpoint, KEY_A)
    app = a.create_application(Name=unique)["Id"]
    url = a.generate_presigned_url("get_application", Params={"ApplicationId": app}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url) as r:
        assert r.status == 200
        assert b'"Name":"%s"' % unique.encode() in r.read()

    def status_of(u):
        try:
            with urllib.request.urlopen(u) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    # Another path under the same signature, or a changed signature: refused.
    other = url.replace(f"/applications/{app}", "/applications/abcdefg")
    assert status_of(other) == 403
    sig_at = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    flipped = url[:sig_at] + ("0" if url[sig_at] != "0" else "1") + url[sig_at + 1:]
    assert status_of(flipped) == 403
    # Expired.
    short = a.generate_presigned_url("get_application", Params={"ApplicationId": app}, ExpiresIn=1)
    time.sleep(2.1)
    assert status_of(short) == 403


def aws_cli_base():
    aws = shutil.which("aws")
    if aws:
        return [aws]
    if importlib.util.find_spec("awscli") is not None:
        return [sys.executable, "-m", "awscli"]
    pytest.fail("the AWS CLI is not installed")


def run_cli(endpoint, key, *args, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1], AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="", AWS_MAX_ATTEMPTS="1")
    env.update(extra_env or {})
    cmd = [*aws_cli_base(), "appconfig", *args, "--endpoint-url", endpoint, "--output", "json"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def test_aws_cli_with_and_without_the_right_key(secured, unique):
    ok = run_cli(secured.endpoint, KEY_A, "create-application", "--name", unique)
    assert ok.returncode == 0, ok.stderr
    bad = run_cli(secured.endpoint, (KEY_A[0], "nope"), "list-applications")
    assert bad.returncode != 0
    assert "InvalidSignatureException" in bad.stderr
    other = run_cli(secured.endpoint, KEY_B, "list-applications")
    assert other.returncode == 0, other.stderr
    assert unique not in other.stdout


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


def test_tls_with_boto3_and_the_cli(start_server, creds_file, tls_files, unique):
    cert, key = tls_files
    s = start_server("--credentials", str(creds_file), "--tls-cert", str(cert), "--tls-key", str(key))
    assert s.endpoint.startswith("https://127.0.0.1:")
    a = client(s.endpoint, KEY_A, verify=str(cert))
    app = a.create_application(Name=unique)["Id"]
    assert a.get_application(ApplicationId=app)["Name"] == unique
    cli = run_cli(s.endpoint, KEY_A, "list-applications", "--ca-bundle", str(cert))
    assert cli.returncode == 0, cli.stderr
    assert unique in cli.stdout
    # Not trusted without the CA, and plain HTTP on the TLS port gets nowhere.
    untrusted = client(s.endpoint, KEY_A)
    with pytest.raises(botocore.exceptions.SSLError):
        untrusted.list_applications()
    plain = client(s.endpoint.replace("https://", "http://"), KEY_A)
    with pytest.raises(Exception):
        plain.list_applications()
    # The server is still fine after both.
    assert a.get_application(ApplicationId=app)["Id"] == app


def test_bad_tls_files_refuse_to_start(appconfigd_bin, tmp_path, tls_files):
    cert, _ = tls_files
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a key")
    proc = subprocess.run(
        [str(appconfigd_bin), "serve", "--listen", "127.0.0.1:0", "--database", f"sqlite://{tmp_path}/x.db",
         "--tls-cert", str(cert), "--tls-key", str(bogus)],
        capture_output=True, text=True, timeout=30, env={**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
    )
    assert proc.returncode != 0
    assert "--tls-key" in proc.stderr
    # --tls-cert without --tls-key is a usage error.
    proc = subprocess.run([str(appconfigd_bin), "serve", "--tls-cert", str(cert)], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode != 0
    assert "tls-key" in proc.stderr
