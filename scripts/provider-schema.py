#!/usr/bin/env python3
"""Extracts the google provider's resource and data source schemas from a cdktn-provider-google
JSII assembly (.jsii) into the compact JSON provisioner/tests/provider_schema.rs reads.

    provider-schema.py ASSEMBLY.jsii OUT.json

Output: {"provider_version": "7.41.0", "resources": {"google_x": SCHEMA}, "data_sources": {...}}
and "provider" (the provider block), where SCHEMA is {"arguments": {NAME: REQUIRED}, "blocks": {NAME: {"required": B, "schema": SCHEMA}}}.
Terraform names come from each property's registry link ("…/docs/resources/storage_bucket#name
StorageBucket#name"); a property's nested struct (or list of structs) makes it a block.
"""
import json
import re
import sys

LINK = re.compile(r"\{@link https://registry\.terraform\.io/providers/hashicorp/google/([0-9.]+)/docs/(resources|data-sources)/([a-z0-9_]+)(?:#([a-z0-9_]+))? [^}]*\}")
PREFIX = "@cdktn/provider-google."


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def struct_of(t, types):
    """The provider struct a property's type names (directly, in a collection, or in a union)."""
    if "fqn" in t:
        fqn = t["fqn"]
        if fqn.startswith(PREFIX) and types.get(fqn, {}).get("datatype"):
            return fqn
        return None
    if "collection" in t:
        return struct_of(t["collection"]["elementtype"], types)
    if "union" in t:
        for member in t["union"]["types"]:
            found = struct_of(member, types)
            if found:
                return found
    return None


def tf_name(prop):
    text = prop.get("docs", {}).get("remarks", "") + prop.get("docs", {}).get("summary", "")
    m = LINK.search(text)
    if m and m.group(4):
        return m.group(4)
    return snake(prop["name"])


def schema(fqn, types, seen=()):
    out = {"arguments": {}, "blocks": {}}
    if fqn in seen:
        return out
    for prop in types[fqn].get("properties", []):
        name = tf_name(prop)
        required = not prop.get("optional", False)
        nested = struct_of(prop["type"], types)
        if nested:
            out["blocks"][name] = {"required": required, "schema": schema(nested, types, seen + (fqn,))}
        else:
            out["arguments"][name] = required
    return out


def main():
    assembly, dest = sys.argv[1:]
    with open(assembly) as f:
        jsii = json.load(f)
    types = jsii["types"]
    result = {"provider_version": None, "provider": None, "resources": {}, "data_sources": {}}
    for t in types.values():
        if t.get("kind") == "class" and t.get("base") == "cdktn.TerraformProvider":
            config = [p for p in t.get("initializer", {}).get("parameters", []) if p["name"] == "config"]
            if config:
                result["provider"] = schema(config[0]["type"]["fqn"], types)
            continue
        if t.get("kind") != "class" or t.get("base") not in ("cdktn.TerraformResource", "cdktn.TerraformDataSource"):
            continue
        m = LINK.search(t.get("docs", {}).get("summary", ""))
        if not m:
            continue
        version, kind, short = m.group(1), m.group(2), m.group(3)
        result["provider_version"] = version
        params = t.get("initializer", {}).get("parameters", [])
        config = [p for p in params if p["name"] == "config"]
        if not config:
            continue
        name = "google_" + short
        key = "resources" if kind == "resources" else "data_sources"
        result[key][name] = schema(config[0]["type"]["fqn"], types)
    with open(dest + ".tmp", "w") as f:
        json.dump(result, f, sort_keys=True, separators=(",", ":"))
    import os
    os.replace(dest + ".tmp", dest)
    print(f"{dest}: google {result['provider_version']}, {len(result['resources'])} resources, {len(result['data_sources'])} data sources")


if __name__ == "__main__":
    main()
