"""Reads a Cloud API JSON document with the API's own message classes, as gcloud ships them, and
prints every field the API does not know (a misspelled or invented field), as a JSON list.

Usage: python3 gcloud_messages.py SDK_ROOT KIND < document.json
KIND: LogMetric (logging v2), AlertPolicy (monitoring v3) or Dashboard (monitoring v1). Exit 0: every field is known.
"""
import json
import sys

sdk_root, kind = sys.argv[1], sys.argv[2]
sys.path.insert(0, sdk_root + "/lib")
sys.path.insert(0, sdk_root + "/lib/third_party")

from apitools.base.py import encoding  # noqa: E402
from googlecloudsdk.generated_clients.apis.logging.v2 import logging_v2_messages  # noqa: E402
from googlecloudsdk.generated_clients.apis.monitoring.v1 import monitoring_v1_messages  # noqa: E402
from googlecloudsdk.generated_clients.apis.monitoring.v3 import monitoring_v3_messages  # noqa: E402

classes = {
    "LogMetric": logging_v2_messages.LogMetric,
    "AlertPolicy": monitoring_v3_messages.AlertPolicy,
    "Dashboard": monitoring_v1_messages.Dashboard,
}
message = encoding.JsonToMessage(classes[kind], sys.stdin.read())


def unknown(message, path):
    found = [path + "." + name for name in message.all_unrecognized_fields()]
    for field in message.all_fields():
        value = message.get_assigned_value(field.name)
        for item in value if isinstance(value, list) else [value]:
            if hasattr(item, "all_unrecognized_fields"):
                found += unknown(item, path + "." + field.name)
    return found


found = unknown(message, kind)
print(json.dumps(found))
sys.exit(1 if found else 0)
