#!/usr/bin/env python3
"""`gcloud` for the local cloud (testkit): the real gcloud where an emulator exists, a simulation only
where none does.

- `storage ...`            the real gcloud against fake-gcs-server (endpoint override, any token,
                           an empty config), so filters and output formats are gcloud's own;
- `logging read ...`       Cloud Logging, simulated: the collector's own log lines as Cloud Run
                           entries (`severity` and `time` lifted out), honouring the filter's
                           resource, timestamp, severity and payload terms, --order, --limit and
                           gcloud's default one-day --freshness;
- `scheduler jobs run J`   Cloud Scheduler, simulated: publishes {} to J's topic on the real Pub/Sub
                           emulator;
- the preflight's reads    from the canned project (testkit's CloudProject), in the shapes of the
                           APIs' references:
    `billing projects describe P`      a ProjectBillingInfo
        (https://cloud.google.com/billing/docs/reference/rest/v1/ProjectBillingInfo);
    `services list --enabled`          Service Usage Service resources
        (https://cloud.google.com/service-usage/docs/reference/rest/v1/services#Service);
    `org-policies describe C --effective`  an Org Policy v2 Policy
        (https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/organizations.policies#Policy);
    `auth print-access-token`          the token testkit's ResourceManager requires;
    `config get api_endpoint_overrides/cloudresourcemanager`  that ResourceManager's endpoint,
        where projects.testIamPermissions is answered
        (https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions);
- anything else            the real gcloud's parse check (see `gcloud_parses`), then a canned reply.

Configured by local-cloud.json next to this file; every call is appended to calls.jsonl.
"""
import datetime, fcntl, json, os, re, shutil, subprocess, sys, tempfile, urllib.error, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "local-cloud.json")) as f:
    CONFIG = json.load(f)
ARGS = sys.argv[1:]


def fail(message, code=1):
    sys.stderr.write("ERROR: (gcloud) %s\n" % message)
    sys.exit(code)


def gcloud_parses(args):
    """The real gcloud's verdict on a command line, without credentials: None when it parses (gcloud
    then stops at "You do not currently have an active account selected"), else gcloud's error."""
    config = tempfile.mkdtemp(prefix="gcloud-parse-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSDK_")}
    env["CLOUDSDK_CONFIG"] = config
    try:
        done = subprocess.run([CONFIG["real_gcloud"]] + args, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(config, ignore_errors=True)
    if "You do not currently have an active account selected" in done.stderr:
        return None
    if done.returncode == 0:  # needs no credentials (`config get`)
        return None
    return (done.stderr.strip() or "exit status %d" % done.returncode)


def parse_check(args):
    """gcloud_parses, cached per command line (timestamps in it do not change the verdict)."""
    key = json.dumps([re.sub(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:?\d\d)?", "T", a) for a in args])
    cache = os.path.join(HERE, "parse-cache.json")
    with open(os.path.join(HERE, "parse-cache.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = json.load(open(cache)) if os.path.exists(cache) else {}
    if key in known:
        return known[key]
    verdict = gcloud_parses(args)
    with open(os.path.join(HERE, "parse-cache.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = json.load(open(cache)) if os.path.exists(cache) else {}
        known[key] = verdict
        with open(cache, "w") as f:
            json.dump(known, f)
    return verdict


def record(served, stdin=""):
    with open(os.path.join(HERE, "calls.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(HERE, "calls.jsonl"), "a") as log:
            log.write(json.dumps({"program": "gcloud", "args": ARGS, "served": served,
                                  "cwd": os.getcwd(), "stdin": stdin}) + "\n")


def flags(args, known, switches=()):
    """Splits `args` into positionals and --flag values, refusing flags the command does not have."""
    positional, values, i = [], {}, 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            name, sep, value = arg[2:].partition("=")
            if name in switches:
                values[name] = True
            elif name in known:
                if not sep:
                    i += 1
                    if i >= len(args):
                        fail("argument --%s: expected one argument" % name, 2)
                    value = args[i]
                values[name] = value
            else:
                fail("unrecognized arguments: %s" % arg, 2)
        else:
            positional.append(arg)
        i += 1
    return positional, values


# ---------------------------------------------------------------- storage: the real gcloud
def storage():
    record("storage")
    env = dict(os.environ)
    env.update({
        "CLOUDSDK_CONFIG": CONFIG["storage_config"],
        "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": CONFIG["token_file"],
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE": CONFIG["storage_endpoint"].rstrip("/") + "/",
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
    })
    os.execve(CONFIG["real_gcloud"], [CONFIG["real_gcloud"]] + ARGS, env)


# ---------------------------------------------------------------- Cloud Logging, simulated
SEVERITIES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"]


def when(text):
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match and match.group(2):
        text = match.group(1) + (match.group(2) + "000000")[:7] + match.group(3)
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def entries():
    """Every log line of every service, as Cloud Run would store it."""
    out = []
    for service, files in CONFIG["logs"].items():
        for stream, path in files.items():
            if not os.path.exists(path):
                continue
            last = None
            with open(path, encoding="utf-8", errors="replace") as f:
                for number, line in enumerate(f):
                    line = line.rstrip("\n")
                    if not line.strip():
                        continue
                    entry = {
                        "insertId": "%s-%s-%d" % (service, stream, number),
                        "logName": "projects/%s/logs/run.googleapis.com%%2F%s" % (CONFIG["project"], stream),
                        "resource": {"type": "cloud_run_revision", "labels": {
                            "service_name": service, "location": CONFIG["region"],
                            "project_id": CONFIG["project"], "configuration_name": service,
                            "revision_name": service + "-00001-loc"}},
                        "severity": "DEFAULT",
                    }
                    try:
                        payload = json.loads(line)
                    except ValueError:
                        payload = None
                    if isinstance(payload, dict):
                        severity = str(payload.pop("severity", "DEFAULT")).upper()
                        entry["severity"] = severity if severity in SEVERITIES else "DEFAULT"
                        stamp = payload.pop("time", None) or payload.pop("timestamp", None)
                        entry["jsonPayload"] = payload
                    else:
                        stamp = None
                        entry["textPayload"] = line
                    if stamp is None:
                        stamp = last or datetime.datetime.fromtimestamp(
                            os.path.getmtime(path), datetime.timezone.utc).isoformat().replace("+00:00", "Z")
                    last = stamp
                    entry["timestamp"] = stamp
                    entry["receiveTimestamp"] = stamp
                    out.append(entry)
    return out


def lookup(entry, field):
    value = entry
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


TERM = re.compile(r'\s*([A-Za-z_][\w.]*)\s*(>=|<=|!=|=|>|<|:)\s*("(?:[^"\\]|\\.)*"|[^\s()]+)\s*')


def parse_filter(text):
    """The filter as (field, op, value) terms joined by AND; anything else is refused loudly so a
    test never passes on a filter the simulation does not understand."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    terms = []
    for part in re.split(r"\s+AND\s+", text):
        part = part.strip()
        while part.startswith("(") and part.endswith(")"):
            part = part[1:-1].strip()
        match = TERM.fullmatch(part)
        if not match or re.search(r"\b(OR|NOT)\b", part):
            fail("local cloud: unsupported filter term %r in %r (the simulation serves "
                 "field OP value terms joined by AND)" % (part, text), 3)
        field, op, value = match.groups()
        if value.startswith('"'):
            value = json.loads(value)
        terms.append((field, op, value))
    return terms


def compare(left, op, right):
    if op == ":":
        return right.lower() in str(left).lower()
    return {"=": left == right, "!=": left != right, ">=": left >= right, "<=": left <= right,
            ">": left > right, "<": left < right}[op]


def matches(entry, term):
    field, op, value = term
    if field == "timestamp":
        return compare(when(entry["timestamp"]), op, when(value))
    if field == "severity":
        if value.upper() not in SEVERITIES:
            fail("local cloud: unknown severity %r" % value, 3)
        return compare(SEVERITIES.index(entry["severity"]), op, SEVERITIES.index(value.upper()))
    found = lookup(entry, field)
    if found is None:
        return op == "!="
    if isinstance(found, bool):
        found = "true" if found else "false"
    if isinstance(found, (int, float)) and op != ":":
        try:
            return compare(found, op, float(value))
        except ValueError:
            return False
    return compare(str(found), op, value)


def duration(text):
    total, rest = 0, text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if re.fullmatch(r"\d+", rest):
        return int(rest)
    for number, unit in re.findall(r"(\d+)([smhd])", rest):
        total += int(number) * units[unit]
    if not re.fullmatch(r"(\d+[smhd])+", rest):
        fail("argument --freshness: Failed to parse duration: %s" % text, 2)
    return total


def logging_read():
    args = ARGS[2:]
    positional, values = flags(args, {"limit", "order", "format", "freshness", "project"})
    if len(positional) > 1:
        fail("unrecognized arguments: %s" % " ".join(positional[1:]), 2)
    verdict = parse_check(ARGS)
    if verdict is not None:
        record("refused")
        sys.stderr.write(verdict + "\n")
        sys.exit(2)
    record("logging")
    if values.get("format") != "json":
        fail("local cloud: logging read is served with --format json only", 3)
    log_filter = positional[0] if positional else ""
    order = values.get("order", "desc")
    terms = parse_filter(log_filter) if log_filter.strip() else []
    if order == "desc" and "timestamp" not in log_filter:
        oldest = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
            seconds=duration(values.get("freshness", "1d")))
        terms.append(("timestamp", ">=", oldest.isoformat()))
    # Equal times keep the order the lines were written in (a plain-text line takes the time of the
    # JSON line before it).
    found = [(i, e) for i, e in enumerate(entries()) if all(matches(e, t) for t in terms)]
    found.sort(key=lambda p: (when(p[1]["timestamp"]), p[0]), reverse=(order == "desc"))
    found = [e for _, e in found]
    if "limit" in values:
        found = found[:int(values["limit"])]
    sys.stdout.write(json.dumps(found, indent=2) + "\n")


# ---------------------------------------------------------------- Cloud Scheduler, simulated
def scheduler_run():
    positional, values = flags(ARGS[3:], {"location", "project"})
    verdict = parse_check(ARGS)
    if verdict is not None:
        record("refused")
        sys.stderr.write(verdict + "\n")
        sys.exit(2)
    record("scheduler")
    job = positional[0] if positional else ""
    target = CONFIG["jobs"].get(job)
    if target is None or values.get("location") != CONFIG["region"]:
        fail("NOT_FOUND: Job not found.")
    url = "http://%s/v1/projects/%s/topics/%s:publish" % (CONFIG["pubsub"], target["project"], target["topic"])
    request = urllib.request.Request(url, data=json.dumps({"messages": [{"data": "e30="}]}).encode(),
                                     headers={"content-type": "application/json"}, method="POST")
    try:
        urllib.request.urlopen(request, timeout=30).read()
    except urllib.error.URLError as e:
        fail("UNAVAILABLE: the Pub/Sub emulator did not accept the publish: %s" % e)


# ---------------------------------------------------------------- the preflight's reads, canned state
def checked():
    """The real gcloud's parse check, then the call recorded as served by the canned project."""
    verdict = parse_check(ARGS)
    if verdict is not None:
        record("refused")
        sys.stderr.write(verdict + "\n")
        sys.exit(2)
    record("project")


def the_project(values):
    project = values.get("project", CONFIG["project"])
    if project != CONFIG["project"]:
        fail("PERMISSION_DENIED: The caller does not have permission on projects/%s (the local "
             "cloud plays %s only)" % (project, CONFIG["project"]))
    return project


def json_only(values, command):
    if values.get("format") != "json":
        fail("local cloud: %s is served with --format json only" % command, 3)


def billing_describe():
    positional, values = flags(ARGS[3:], {"format", "project"})
    checked()
    json_only(values, "billing projects describe")
    if len(positional) != 1:
        fail("argument PROJECT_ID: Must be specified.", 2)
    state = CONFIG["cloud_project"]
    project = positional[0]
    the_project({"project": project})
    # proto3 JSON: a false billingEnabled and an empty billingAccountName are left out.
    info = {"name": "projects/%s/billingInfo" % project, "projectId": project}
    if state["billing_account"]:
        info["billingAccountName"] = state["billing_account"]
    if state["billing_enabled"]:
        info["billingEnabled"] = True
    sys.stdout.write(json.dumps(info, indent=2, sort_keys=True) + "\n")


def services_list():
    _, values = flags(ARGS[2:], {"format", "project"}, switches=("enabled",))
    checked()
    json_only(values, "services list")
    if not values.get("enabled"):
        fail("local cloud: only `services list --enabled` is served", 3)
    the_project(values)
    number = CONFIG["cloud_project"]["number"]
    services = [{"config": {"name": api}, "name": "projects/%s/services/%s" % (number, api),
                 "parent": "projects/%s" % number, "state": "ENABLED"}
                for api in sorted(CONFIG["cloud_project"]["enabled_apis"])]
    sys.stdout.write(json.dumps(services, indent=2) + "\n")


def org_policies_describe():
    positional, values = flags(ARGS[2:], {"format", "project"}, switches=("effective",))
    checked()
    json_only(values, "org-policies describe")
    if not values.get("effective"):
        fail("local cloud: only `org-policies describe --effective` is served", 3)
    the_project(values)
    if len(positional) != 1:
        fail("argument CONSTRAINT: Must be specified.", 2)
    constraint = positional[0]
    if constraint.startswith("constraints/"):
        constraint = constraint[len("constraints/"):]
    number = CONFIG["cloud_project"]["number"]
    policy = {"name": "projects/%s/policies/%s" % (number, constraint)}
    spec = CONFIG["cloud_project"]["policies"].get(constraint)
    if spec is not None:
        policy["spec"] = spec
    sys.stdout.write(json.dumps(policy, indent=2) + "\n")


def print_access_token():
    flags(ARGS[2:], set())
    checked()
    sys.stdout.write(CONFIG["access_token"] + "\n")


def config_get():
    checked()
    sys.stdout.write(CONFIG["resource_manager"] + "\n")


# ---------------------------------------------------------------- everything else: canned
def canned():
    stdin = ""
    if "--data-file=-" in ARGS:
        stdin = sys.stdin.read()
    verdict = parse_check(ARGS)
    if verdict is not None:
        record("refused", stdin)
        sys.stderr.write(verdict + "\n")
        sys.exit(2)
    record("canned", stdin)
    reply = {"stdout": "", "stderr": "", "exit_code": 0}
    with open(os.path.join(HERE, "calls.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for index, rule in enumerate(CONFIG.get("rules", [])):
            if all(needle in ARGS for needle in rule["args_contain"]):
                counter = os.path.join(HERE, "rule-%d.count" % index)
                used = int(open(counter).read()) if os.path.exists(counter) else 0
                with open(counter, "w") as f:
                    f.write(str(used + 1))
                reply = rule["replies"][min(used, len(rule["replies"]) - 1)]
                break
    sys.stdout.write(reply["stdout"])
    sys.stderr.write(reply["stderr"])
    sys.exit(reply["exit_code"])


if ARGS[:1] == ["storage"]:
    storage()
elif ARGS[:2] == ["logging", "read"]:
    logging_read()
elif ARGS[:3] == ["scheduler", "jobs", "run"]:
    scheduler_run()
elif ARGS[:3] == ["billing", "projects", "describe"]:
    billing_describe()
elif ARGS[:2] == ["services", "list"]:
    services_list()
elif ARGS[:2] == ["org-policies", "describe"]:
    org_policies_describe()
elif ARGS[:2] == ["auth", "print-access-token"]:
    print_access_token()
elif ARGS == ["config", "get", "api_endpoint_overrides/cloudresourcemanager"]:
    config_get()
else:
    canned()
