"""The built-in web console (issue 8), end to end in headless Chromium.

Resources are made with boto3; the console (served by the binary under /console) is driven by
Playwright over Debian's /usr/bin/chromium (`.ci/run` installs both; Playwright's own browser
download is not used). The server runs with --time-scale 120, so a 20-minute strategy takes
10 s and the page can be watched moving through it. Experiments (issue 16): a definition's
page and a run's page, whose buttons raise exposure and stop the run.

Also checks the console's SigV4 signer (console/assets/sigv4.js) with node: AWS's published
test vectors, and agreement with botocore's signer on AppConfig-shaped requests (ARN in the
path, query, JSON body), including requests the page itself sends.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.config import Config
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import answer_post

REPO = Path(__file__).resolve().parents[2]
SIGV4_JS = REPO / "src" / "console" / "assets" / "sigv4.js"
CHROMIUM = os.environ.get("APPCONFIGD_CHROMIUM", "/usr/bin/chromium")
TIME_SCALE = "120"


def _missing(what):
    # In CI the browser must be there (.ci/run installs it); elsewhere, say how to get it.
    message = f"{what} (install with: apt-get install -y chromium; python3 -m pip install playwright)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is missing")
    with sync_playwright() as p:
        # No background traffic: this machine's network is closed, and tests stay on 127.0.0.1.
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
            "--disable-background-networking", "--disable-component-update",
        ])
        yield b
        b.close()


@pytest.fixture(scope="module")
def console_server(start_server):
    return start_server("--time-scale", TIME_SCALE)


@pytest.fixture()
def page(browser, console_server):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    # Stop and Roll back ask for confirmation.
    pg.on("dialog", lambda d: d.accept())
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors in the console: {errors}"


@pytest.fixture()
def shots(tmp_path):
    """Saves a screenshot and checks it is a real, non-empty PNG."""

    def take(pg, name):
        path = tmp_path / f"{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
        width, height = struct.unpack(">II", data[16:24])
        assert width >= 800 and height >= 400 and len(data) > 5_000, (path, width, height, len(data))
        return path

    return take


class FailingWebhook:
    """A local extension target that answers every call with HTTP 500."""

    def __init__(self):
        calls = self.calls = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                answer_post(self, calls, 500, b'{"message": "target is down"}')

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self):
        self.httpd.shutdown()


def make_app(client, name, versions=(b'{"version": 1}',)):
    app = client.create_application(Name=name, Description="made by test_console")["Id"]
    env = client.create_environment(ApplicationId=app, Name="prod")["Id"]
    profile = client.create_configuration_profile(ApplicationId=app, Name="settings", LocationUri="hosted")["Id"]
    for content in versions:
        client.create_hosted_configuration_version(
            ApplicationId=app, ConfigurationProfileId=profile, Content=content, ContentType="application/json"
        )
    return app, env, profile


def strategy(client, name, minutes, factor, bake=0):
    return client.create_deployment_strategy(
        Name=name,
        DeploymentDurationInMinutes=minutes,
        GrowthType="LINEAR",
        GrowthFactor=factor,
        FinalBakeTimeInMinutes=bake,
        ReplicateTo="NONE",
    )["Id"]


def state_of(pg):
    return pg.inner_text("#deployment-state").strip()


def percentage_of(pg):
    return float(pg.inner_text("#deployment-percentage").strip().rstrip("%"))


def wait_state(pg, wanted, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pg.locator("#deployment-state").count() and state_of(pg) == wanted:
            return
        time.sleep(0.2)
    raise AssertionError(f"deployment never showed {wanted} (last: {pg.inner_text('#live')})")


def test_console_follows_a_deployment_to_completion_and_stops_another(page, console_server, unique, shots):
    client = console_server.client()
    app, env, profile = make_app(client, unique, versions=(b'{"version": 1}', b'{"version": 2}'))
    # 20 strategy minutes at 120x: 10 s, a step of 25% every 2.5 s.
    steps = strategy(client, f"{unique}-steps", 20, 25)
    hook = FailingWebhook()

    def switch_to(strategy_id, number, state):
        """Deploys version 2 with `strategy_id`; waits for the page to show deployment `number` in
        `state`."""
        client.start_deployment(
            ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=strategy_id,
            ConfigurationProfileId=profile, ConfigurationVersion="2",
        )
        page.wait_for_function(f"document.querySelector('#deployment-title').textContent.includes('#{number}')")
        wait_state(page, state)

    try:
        ext = client.create_extension(
            Name=f"{unique}-hook",
            Actions={"ON_DEPLOYMENT_START": [{"Name": "notify", "Uri": hook.url}]},
        )
        client.create_extension_association(
            ExtensionIdentifier=ext["Id"],
            ResourceIdentifier=f"arn:aws:appconfig:us-east-1:000000000000:application/{app}/environment/{env}",
        )

        # Navigate like a user: application list -> application -> environment.
        page.goto(f"{console_server.endpoint}/console/")
        page.click(f"#applications a:text-is('{unique}')")
        page.wait_for_selector("#environments")
        assert page.locator("#profiles tr[data-id]").count() == 1
        page.click("#environments a:text-is('prod')")
        page.wait_for_selector("#live")

        client.start_deployment(
            ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=steps,
            ConfigurationProfileId=profile, ConfigurationVersion="1",
        )
        wait_state(page, "DEPLOYING", timeout=10)
        assert "#1" in page.inner_text("#deployment-title")

        # Watch PercentageComplete grow in the page until COMPLETE.
        seen = []
        deadline = time.monotonic() + 40
        shot_midway = None
        while time.monotonic() < deadline:
            state, pct = state_of(page), percentage_of(page)
            if not seen or seen[-1] != (state, pct):
                seen.append((state, pct))
            if 0 < pct < 100 and shot_midway is None:
                shot_midway = shots(page, "deployment-in-progress")
                # The chart already has the start and at least one step.
                assert page.locator("#progress-chart circle.point").count() >= 2
            if state == "COMPLETE":
                break
            time.sleep(0.25)
        assert seen[-1] == ("COMPLETE", 100.0), seen
        values = [p for _, p in seen]
        assert values == sorted(values), f"progress went backwards: {seen}"
        middle = sorted({p for p in values if 0 < p < 100})
        assert len(middle) >= 2, f"too few intermediate steps seen: {seen}"
        assert shot_midway is not None

        # The chart: 0, four steps of 25, then bake start and completion at 100.
        points = [float(p) for p in page.get_attribute("#progress-chart", "data-points").split(",")]
        assert points[:5] == [0, 25, 50, 75, 100] and set(points[5:]) == {100}, points
        assert page.locator("#progress-chart polyline.line").count() == 1

        # The event log, newest first, and the failed webhook call in red.
        types = page.eval_on_selector_all("#event-log tr.event", "rows => rows.map(r => r.dataset.type)")
        assert types[0] == "DEPLOYMENT_COMPLETED" and types[-1] == "DEPLOYMENT_STARTED", types
        assert types.count("PERCENTAGE_UPDATED") == 4, types
        failed = page.locator("#event-log .invocation.error")
        failed.first.wait_for(timeout=20_000)  # three delivery attempts, then the error is recorded
        assert "HTTP500" in failed.first.inner_text()
        color = failed.first.evaluate("e => getComputedStyle(e).color")
        assert color == "rgb(185, 28, 28)", color
        assert hook.calls and hook.calls[0]["Type"] == "OnDeploymentStart"
        shots(page, "deployment-complete")

        # A second, slow deployment (120 strategy minutes: 60 s): the page switches to it, and
        # Stop rolls it back.
        slow = strategy(client, f"{unique}-slow", 120, 10)
        switch_to(slow, 2, "DEPLOYING")
        assert page.is_visible("#stop-deployment") and not page.is_visible("#rollback-deployment")
        page.click("#stop-deployment")
        wait_state(page, "ROLLED_BACK", timeout=10)
        assert client.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=2)["State"] == "ROLLED_BACK"
        types = page.eval_on_selector_all("#event-log tr.event", "rows => rows.map(r => r.dataset.type)")
        assert types[:2] == ["ROLLBACK_COMPLETED", "ROLLBACK_STARTED"], types
        assert page.get_attribute("#progress-chart", "data-points").split(",")[-1] == "0"
        page.wait_for_function("document.querySelector('#environment-state').textContent === 'RolledBack'")
        shots(page, "deployment-stopped")

        # A third, instant deployment completes; Roll back reverts it.
        instant = strategy(client, f"{unique}-instant", 0, 100)
        switch_to(instant, 3, "COMPLETE")
        page.wait_for_selector("#rollback-deployment:visible")
        page.click("#rollback-deployment")
        wait_state(page, "REVERTED", timeout=10)
        assert page.locator("#deployments tr[data-number]").count() == 3
    finally:
        hook.close()


def test_console_shows_a_line_diff_between_two_versions(page, console_server, unique, shots):
    client = console_server.client()
    v1 = b'{\n  "color": "blue",\n  "size": 10,\n  "beta": false\n}'
    v2 = b'{\n  "color": "green",\n  "size": 10,\n  "beta": false,\n  "limit": 5\n}'
    app, _, profile = make_app(client, unique, versions=(v1, v2))
    page.goto(f"{console_server.endpoint}/console/#/apps/{app}/profiles/{profile}")
    page.wait_for_selector("#versions tr[data-version='2']")
    page.select_option("#diff-from", "1")
    page.select_option("#diff-to", "2")
    page.click("#diff-button")
    page.wait_for_selector("#diff:not([hidden])")
    removed = page.eval_on_selector_all("#diff .diff-del", "els => els.map(e => e.textContent)")
    added = page.eval_on_selector_all("#diff .diff-add", "els => els.map(e => e.textContent)")
    same = page.eval_on_selector_all("#diff .diff-same", "els => els.map(e => e.textContent)")
    assert removed == ['-   "color": "blue",', '-   "beta": false'], removed
    assert added == ['+   "color": "green",', '+   "beta": false,', '+   "limit": 5'], added
    assert '    "size": 10,' in same
    # The content of one version, as stored.
    page.click("#versions tr[data-version='1'] button")
    page.wait_for_selector("#version-content:not([hidden])")
    assert page.inner_text("#version-content") == v1.decode()
    shots(page, "version-diff")


def test_console_lists_strategies_extensions_and_associations(page, console_server, unique):
    client = console_server.client()
    app, env, _ = make_app(client, unique)
    strategy(client, f"{unique}-s", 10, 50)
    ext = client.create_extension(
        Name=f"{unique}-x",
        Actions={"PRE_START_DEPLOYMENT": [{"Name": "check", "Uri": "http://127.0.0.1:9/check"}]},
        Parameters={"team": {"Required": False, "Description": "who owns it"}},
    )
    assoc = client.create_extension_association(
        ExtensionIdentifier=ext["Id"],
        ResourceIdentifier=f"arn:aws:appconfig:us-east-1:000000000000:application/{app}",
        Parameters={"team": "blue"},
    )
    base = f"{console_server.endpoint}/console/"
    page.goto(base + "#/strategies")
    page.wait_for_selector(f"#strategies td:text-is('{unique}-s')")
    assert page.locator("#strategies td:text-is('AppConfig.AllAtOnce')").count() == 1
    page.goto(base + "#/extensions")
    page.click(f"#extensions a:text-is('{unique}-x')")
    page.wait_for_selector("#extension-actions")
    assert "PRE_START_DEPLOYMENT" in page.inner_text("#extension-actions")
    assert "who owns it" in page.inner_text("#extension-parameters")
    page.goto(base + "#/associations")
    row = page.locator(f"#associations tr[data-id='{assoc['Id']}']")
    row.wait_for()
    assert '"team":"blue"' in row.inner_text()
    row.locator("a").click()
    page.wait_for_selector(f"#environments tr[data-id='{env}']")


FLAG_DOCUMENT = {
    "version": "1",
    "flags": {
        "checkout": {"name": "Checkout", "attributes": {"limit": {"constraints": {"type": "number"}}}},
        "banner": {"name": "Banner"},
    },
    "values": {
        "checkout": {"_variants": [
            {"name": "Gold", "enabled": True, "rule": '(eq $tier "gold")', "attributeValues": {"limit": 10}},
            {"name": "Testers", "enabled": True, "rule": '(ends_with $email "@qa.example.com")',
             "attributeValues": {"limit": 99}},
            {"name": "Default", "enabled": False, "attributeValues": {"limit": 1}},
        ]},
        "banner": {"enabled": True},
    },
}


def test_console_shows_variants_and_which_one_a_context_gets(page, console_server, unique, shots):
    client = console_server.client()
    app = client.create_application(Name=unique)["Id"]
    env = client.create_environment(ApplicationId=app, Name="prod")["Id"]
    profile = client.create_configuration_profile(
        ApplicationId=app, Name="flags", LocationUri="hosted", Type="AWS.AppConfig.FeatureFlags"
    )["Id"]
    client.create_hosted_configuration_version(
        ApplicationId=app, ConfigurationProfileId=profile,
        Content=json.dumps(FLAG_DOCUMENT).encode(), ContentType="application/json",
    )
    number = client.start_deployment(
        ApplicationId=app, EnvironmentId=env, ConfigurationProfileId=profile, ConfigurationVersion="1",
        DeploymentStrategyId=strategy(client, f"{unique}-now", 0, 100),
    )["DeploymentNumber"]
    deadline = time.monotonic() + 30
    while client.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=number)["State"] != "COMPLETE":
        assert time.monotonic() < deadline, "the deployment did not complete"
        time.sleep(0.2)
    page.goto(f"{console_server.endpoint}/console/#/apps/{app}/profiles/{profile}")
    page.wait_for_selector("#flags tr[data-flag='checkout']")
    variants = page.eval_on_selector_all(
        "#flags tr[data-flag='checkout'] li", "els => els.map(e => e.getAttribute('data-variant'))"
    )
    assert variants == ["Gold", "Testers", "Default"], variants
    assert '(eq $tier "gold")' in page.inner_text("#flags tr[data-flag='checkout']")
    assert "basic flag" in page.inner_text("#flags tr[data-flag='banner']")

    def evaluate(context):
        page.fill("#try-context", context)
        page.click("#try-button")
        page.wait_for_selector("#try-result:not([hidden])")

    page.select_option("#try-flag", "checkout")
    evaluate("tier=gold\nemail=a@example.com")
    assert page.inner_text("#try-variant") == "Gold"
    assert page.inner_text("#try-why") == 'First matching rule: (eq $tier "gold")'
    assert json.loads(page.inner_text("#try-answer")) == {"_variant": "Gold", "enabled": True, "limit": 10}
    shots(page, "flag-variants")

    evaluate("tier=silver\nemail=b@qa.example.com")
    page.wait_for_function("document.querySelector('#try-variant').textContent === 'Testers'")
    assert page.inner_text("#try-why") == 'First matching rule: (ends_with $email "@qa.example.com")'

    evaluate("tier=silver")
    page.wait_for_function("document.querySelector('#try-variant').textContent === 'Default'")
    assert page.inner_text("#try-why") == "No rule matched: the default variant."
    assert json.loads(page.inner_text("#try-answer")) == {"_variant": "Default", "enabled": False}


# ---- experiments -----------------------------------------------------------------------------

# The experiment calls the test makes, by REST route, for a boto3 older than 1.44.8 (which has
# no experiment operations): path members are filled in, the rest is the JSON body.
EXPERIMENT_ROUTES = {
    "CreateExperimentDefinition": ("POST", "/applications/{ApplicationIdentifier}/experimentdefinitions"),
    "StartExperimentRun": (
        "POST", "/applications/{ApplicationIdentifier}/experimentdefinitions/{ExperimentDefinitionIdentifier}/experimentruns"),
    "GetExperimentRun": (
        "GET", "/applications/{ApplicationIdentifier}/experimentdefinitions/{ExperimentDefinitionIdentifier}/experimentruns/{Run}"),
    "UpdateAccountSettings": ("PATCH", "/settings"),
}


def experiment_call(server, client, operation, **params):
    """One experiment-era call: through boto3 when it knows the operation, else unsigned REST (the
    console's server takes unsigned requests)."""
    if operation in client.meta.service_model.operation_names:
        method = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
        return getattr(client, method)(**params)
    verb, template = EXPERIMENT_ROUTES[operation]
    names = re.findall(r"\{(\w+)\}", template)
    url = server.endpoint + template.format(**{n: urllib.parse.quote(str(params.pop(n)), safe="") for n in names})
    body = json.dumps(params).encode() if verb != "GET" else None
    request = urllib.request.Request(url, data=body, method=verb, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def agent_read(server, app, env, profile, flag, entity, context):
    """One agent-style read of `flag` as `entity`: the answer's JSON."""
    request = urllib.request.Request(
        f"{server.endpoint}/applications/{app}/environments/{env}/configurations/{profile}?flag={flag}",
        headers={"Entity-Id": entity, "Context": context},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def run_events(pg):
    return pg.eval_on_selector_all("#run-events tr.event", "rows => rows.map(r => r.dataset.type)")


def make_experiment(server, client, unique):
    """An application with a deployed feature-flag profile (flag `checkout`, attribute `limit`)
    and an experiment definition on it: control limit 1, treatment t1 limit 10, 50/50, audience
    `country = US`. Returns (app, env, profile, definition id)."""
    app = client.create_application(Name=unique)["Id"]
    env = client.create_environment(ApplicationId=app, Name="prod")["Id"]
    profile = client.create_configuration_profile(
        ApplicationId=app, Name="flags", LocationUri="hosted", Type="AWS.AppConfig.FeatureFlags"
    )["Id"]
    document = {
        "version": "1",
        "flags": {"checkout": {"name": "Checkout", "attributes": {"limit": {"constraints": {"type": "number"}}}}},
        "values": {"checkout": {"enabled": False, "limit": 1}},
    }
    client.create_hosted_configuration_version(
        ApplicationId=app, ConfigurationProfileId=profile,
        Content=json.dumps(document).encode(), ContentType="application/json",
    )
    number = client.start_deployment(
        ApplicationId=app, EnvironmentId=env, ConfigurationProfileId=profile, ConfigurationVersion="1",
        DeploymentStrategyId=strategy(client, f"{unique}-now", 0, 100),
    )["DeploymentNumber"]
    deadline = time.monotonic() + 30
    while client.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=number)["State"] != "COMPLETE":
        assert time.monotonic() < deadline, "the deployment did not complete"
        time.sleep(0.2)
    definition = experiment_call(
        server, client, "CreateExperimentDefinition",
        ApplicationIdentifier=app, Name="checkout-limit", ConfigurationProfileIdentifier=profile,
        EnvironmentIdentifier=env, FlagKey="checkout", AudienceRule='(eq $country "US")',
        Hypothesis="A higher limit sells more",
        Control={"Weight": 50, "FlagValue": {"Enabled": False, "AttributeValues": {"limit": {"NumberValue": 1}}}},
        Treatments=[{"Weight": 50, "Description": "ten", "FlagValue": {
            "Enabled": True, "AttributeValues": {"limit": {"NumberValue": 10}}}}],
    )["Id"]
    return app, env, profile, definition


def test_console_shows_an_experiment_run_raises_its_exposure_and_stops_it(page, console_server, unique, shots):
    server, client = console_server, console_server.client()
    app, env, profile, definition = make_experiment(server, client, unique)
    # Counting starts off, so the run page first says so.
    experiment_call(server, client, "UpdateAccountSettings", VendedMetrics={"Enabled": False})
    # The application lists the definition; its page shows control, treatment, rule, no runs.
    page.goto(f"{server.endpoint}/console/#/apps/{app}")
    page.click("#experiments a:text-is('checkout-limit')")
    page.wait_for_selector("#treatments")
    assert page.inner_text("#definition-status") == "IDLE"
    keys = page.eval_on_selector_all("#treatments tr[data-key]", "rows => rows.map(r => r.dataset.key)")
    assert keys == ["c", "t1"], keys
    assert "limit=10" in page.inner_text("#treatments tr[data-key='t1']")
    assert page.inner_text("#audience-rule") == '(eq $country "US")'
    assert page.inner_text("#runs") == "No runs yet."

    run = experiment_call(
        server, client, "StartExperimentRun", ApplicationIdentifier=app, ExperimentDefinitionIdentifier=definition,
        Description="first run", ExposurePercentage=10, TreatmentOverrides={"Inline": {"qa-1": "t1"}},
    )["Run"]
    page.reload()
    page.wait_for_selector("#runs tr[data-run='1']")
    assert page.inner_text("#definition-status") == "ACTIVE"
    shots(page, "experiment-definition")
    page.click("#runs tr[data-run='1'] a")

    # The run: RUNNING at 10 %, the override, one event, the chart's first point.
    page.wait_for_selector("#run-events tr.event")
    assert page.inner_text("#run-status") == "RUNNING"
    assert page.inner_text("#run-exposure") == "10.0%"
    assert "qa-1" in page.inner_text("#run-overrides tr[data-entity='qa-1']")
    assert run_events(page) == ["RUN_STARTED"]
    assert page.get_attribute("#exposure-chart", "data-points") == "10"
    page.wait_for_selector("#served-note[data-state='off']")
    assert "Vended metrics are off" in page.inner_text("#served-note")

    # Raise exposure: not above the current value -> the page refuses; out of range -> the
    # server's AWS error in the banner; 40 -> a new event and the new exposure.
    page.fill("#exposure-input", "5")
    page.click("#raise-exposure")
    page.wait_for_selector("#error:not([hidden])")
    assert "higher than the current 10.0%" in page.inner_text("#error")
    page.fill("#exposure-input", "150")
    page.click("#raise-exposure")
    page.wait_for_function("document.querySelector('#error').textContent.startsWith('BadRequestException')")
    page.fill("#exposure-input", "40")
    page.click("#raise-exposure")
    page.wait_for_function("document.querySelector('#run-exposure').textContent === '40.0%'")
    page.wait_for_function("document.querySelector('#run-events tr.event').dataset.type === 'EXPOSURE_UPDATED'")
    assert page.is_hidden("#error")
    assert run_events(page) == ["EXPOSURE_UPDATED", "RUN_STARTED"]
    assert page.inner_text("#run-events tr.event >> nth=0 >> td.exposure") == "40.0%"
    assert page.get_attribute("#exposure-chart", "data-points") == "10,40"
    got = experiment_call(server, client, "GetExperimentRun", ApplicationIdentifier=app,
                          ExperimentDefinitionIdentifier=definition, Run=run)
    assert got["ExposurePercentage"] == 40

    # Vended metrics on: the override entity's reads are counted under __t1__. (Assignment on
    # the read path and its counter come from their own branch of issue 16: without them the
    # reads get the flag as deployed and the page shows zero for every arm.)
    experiment_call(server, client, "UpdateAccountSettings", VendedMetrics={"Enabled": True})
    answers = [agent_read(server, app, env, profile, "checkout", "qa-1", "country=US") for _ in range(3)]
    assigned = answers[0].get("_variant") == "__t1__"
    if assigned:
        assert all(a.get("_variant") == "__t1__" and a.get("limit") == 10 for a in answers), answers
    page.wait_for_selector("#served-note[data-state='ok']")
    page.wait_for_function(
        "want => document.querySelector(\"#run-treatments tr[data-key='t1'] td.served\").dataset.count === want",
        arg="3" if assigned else "0")
    assert page.get_attribute("#run-treatments tr[data-key='c'] td.served", "data-count") == "0"
    shots(page, "experiment-run")

    # Stop with an executive summary: DONE, the buttons go, the result and RUN_STOPPED show.
    page.fill("#stop-summary", "t1 sells more")
    page.click("#stop-run")
    page.wait_for_function("document.querySelector('#run-status').textContent === 'DONE'")
    assert page.is_hidden("#run-actions")
    page.wait_for_function("document.querySelector('#run-events tr.event').dataset.type === 'RUN_STOPPED'")
    assert "t1 sells more" in page.inner_text("#run-result")
    got = experiment_call(server, client, "GetExperimentRun", ApplicationIdentifier=app,
                          ExperimentDefinitionIdentifier=definition, Run=run)
    assert got["Status"] == "DONE" and got["Result"]["ExecutiveSummary"] == "t1 sells more", got
    shots(page, "experiment-run-stopped")
    page.click(".crumbs a:text-is('Experiment checkout-limit')")
    page.wait_for_selector("#runs tr[data-run='1']")
    assert page.inner_text("#definition-status") == "IDLE"
    assert page.inner_text("#runs tr[data-run='1'] .state") == "DONE"


def test_console_says_counts_are_unavailable_when_metrics_need_a_token(page, start_server, unique):
    server = start_server("--metrics-token", "s3cret", "--time-scale", TIME_SCALE)
    client = server.client()
    app, _, _, definition = make_experiment(server, client, unique)
    experiment_call(server, client, "UpdateAccountSettings", VendedMetrics={"Enabled": True})
    run = experiment_call(server, client, "StartExperimentRun", ApplicationIdentifier=app,
                          ExperimentDefinitionIdentifier=definition)["Run"]
    page.goto(f"{server.endpoint}/console/#/apps/{app}/experiments/{definition}/runs/{run}")
    page.wait_for_selector("#served-note[data-state='unavailable']")
    assert "/metrics needs the server's metrics bearer token" in page.inner_text("#served-note")
    assert page.inner_text("#run-status") == "RUNNING" and page.is_hidden("#error")
    assert page.get_attribute("#run-treatments tr[data-key='t1'] td.served", "data-count") == ""


# ---- the SigV4 signer ------------------------------------------------------------------------

def _node():
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed")
    return node


def _js_sign(requests):
    """Signs each request dict with sigv4.js under node; returns the Authorization headers."""
    script = (
        "const s = require(process.argv[1]);"
        "const reqs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(reqs.map(r => s.sign(Object.assign(r, {date: new Date(r.date)})))));"
    )
    out = subprocess.run(
        [_node(), "-e", script, str(SIGV4_JS)], input=json.dumps(requests), capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def _botocore_signature(method, url, body, amz_date, region="us-east-1", service="appconfig",
                        key="AKIDEXAMPLE", secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"):
    request = AWSRequest(method=method, url=url, data=body, headers={"X-Amz-Date": amz_date})
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(key, secret), service, region)
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request)


def test_sigv4_js_matches_aws_test_vectors():
    base = dict(host="example.amazonaws.com", region="us-east-1", service="service", accessKeyId="AKIDEXAMPLE",
                secretAccessKey="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date="2015-08-30T12:36:00Z", body="")
    signed = _js_sign([
        dict(base, method="GET", path="/", query=""),                              # get-vanilla
        dict(base, method="GET", path="/", query="Param2=value2&Param1=value1"),   # get-vanilla-query-order-key-case
        dict(base, method="POST", path="/", query=""),                             # post-vanilla
    ])
    sigs = [s["Authorization"].rsplit("Signature=", 1)[1] for s in signed]
    assert sigs == [
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    ]
    assert signed[0]["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
    )
    assert signed[0]["X-Amz-Date"] == "20150830T123600Z"


def test_sigv4_js_agrees_with_botocore_on_appconfig_requests():
    # arn:aws:appconfig:us-east-1:000000000000:application/abc1234, escaped as the SDKs send it.
    encoded_arn = "arn%3Aaws%3Aappconfig%3Aus-east-1%3A000000000000%3Aapplication%2Fabc1234"
    cases = [
        ("GET", "/applications", "max_results=50&next_token=a%2Bb%3D", ""),
        ("POST", "/applications", "", json.dumps({"Name": "démo app", "Description": "ünïcode"})),
        ("GET", f"/tags/{encoded_arn}", "", ""),
        ("DELETE", f"/tags/{encoded_arn}", "tagKeys=b&tagKeys=a", ""),
        ("DELETE", "/applications/abc1234/environments/e%20x/deployments/3", "", ""),
    ]
    requests = [
        dict(method=m, path=p, query=q, body=b, host="127.0.0.1:2772", region="us-east-1", service="appconfig",
             accessKeyId="AKIDEXAMPLE", secretAccessKey="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
             date="2024-02-29T23:59:59Z")
        for m, p, q, b in cases
    ]
    signed = _js_sign(requests)
    for (m, p, q, b), s in zip(cases, signed):
        url = f"http://127.0.0.1:2772{p}" + (f"?{q}" if q else "")
        expected = _botocore_signature(m, url, b.encode(), "20240229T235959Z")
        assert s["Authorization"].endswith(f"Signature={expected}"), (m, p, q, s)


def test_console_signs_its_requests_once_keys_are_entered(page, console_server):
    sent = []
    page.on("request", lambda r: sent.append((r.method, r.url, r.headers, r.post_data)) if "/console/" not in r.url else None)
    page.goto(f"{console_server.endpoint}/console/#/settings")
    page.fill("#setting-accessKeyId", "AKIDEXAMPLE")
    page.fill("#setting-secretAccessKey", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    page.fill("#setting-region", "eu-west-1")
    page.click("#settings-save")
    assert "signing as AKIDEXAMPLE (eu-west-1)" in page.inner_text("#signing-status")
    sent.clear()
    page.goto(f"{console_server.endpoint}/console/#/")
    page.wait_for_selector("#applications, p#applications")
    lists = [s for s in sent if s[0] == "GET" and "/applications?" in s[1]]
    assert lists, sent
    method, url, headers, _ = lists[0]
    auth = headers.get("authorization", "")
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and "/eu-west-1/appconfig/aws4_request" in auth, auth
    expected = _botocore_signature(method, url, b"", headers["x-amz-date"], region="eu-west-1")
    assert auth.endswith(f"Signature={expected}")
    # Cleared keys: unsigned again (the anonymous server accepts both).
    page.goto(f"{console_server.endpoint}/console/#/settings")
    page.click("text=Clear keys")
    sent.clear()
    page.goto(f"{console_server.endpoint}/console/#/strategies")
    page.wait_for_selector("#strategies")
    assert all("authorization" not in s[2] for s in sent if "/deploymentstrategies" in s[1])


def test_console_signs_for_a_server_that_checks_signatures(page, start_server, tmp_path, unique):
    """With --credentials the server verifies every signature: the console's own SigV4 must pass."""
    key, secret, account = "AKIDCONSOLECONSOLE01", "console/secret+key=", "444444444444"
    creds = tmp_path / "credentials.toml"
    creds.write_text(
        f'[[credentials]]\naccess_key_id = "{key}"\nsecret_access_key = "{secret}"\naccount_id = "{account}"\n'
    )
    server = start_server("--credentials", str(creds), "--time-scale", TIME_SCALE)
    client = boto3.client("appconfig", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=key, aws_secret_access_key=secret,
                          config=Config(retries={"max_attempts": 1}))
    app, env, profile = make_app(client, unique, versions=(b"a\nb\n", b"a\nc\n"))

    # Unsigned: refused, and the page says why.
    page.goto(f"{server.endpoint}/console/#/")
    page.wait_for_selector("#error:not([hidden])")
    assert "enter an access key in Settings" in page.inner_text("#error"), page.inner_text("#error")

    page.goto(f"{server.endpoint}/console/#/settings")
    page.fill("#setting-accessKeyId", key)
    page.fill("#setting-secretAccessKey", secret)
    page.click("#settings-save")
    page.goto(f"{server.endpoint}/console/#/")
    page.click(f"#applications a:text-is('{unique}')")
    page.click("#profiles a:text-is('settings')")
    page.click("#diff-button")
    page.wait_for_selector("#diff:not([hidden])")
    assert page.eval_on_selector_all("#diff .diff-add", "els => els.map(e => e.textContent)") == ["+ c"]

    # A signed DELETE: Stop on a running deployment.
    slow = strategy(client, f"{unique}-slow", 120, 10)
    client.start_deployment(ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=slow,
                            ConfigurationProfileId=profile, ConfigurationVersion="1")
    page.goto(f"{server.endpoint}/console/#/apps/{app}/envs/{env}")
    wait_state(page, "DEPLOYING")
    page.click("#stop-deployment")
    wait_state(page, "ROLLED_BACK", timeout=10)
    assert page.is_hidden("#error")
