#!/usr/bin/env python3
"""Compares, at every stage the guest printed, each node's kernel routes (`ip -f mpls route`,
`ip route show table 193`) with its LFIB (`lsrctl --json show lfib`, or a stage's `lsrlab
snapshot`), and checks that every entry reports itself installed. `--require STAGE...` after the console file: each of these stages
must have been printed. Exit status 1 on a mismatch or a missing stage."""
import ipaddress
import json
import re
import sys


def sections(text):
    found, name, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith("==== "):
            if name:
                found[name] = "\n".join(lines)
            name = None if line == "==== end" else tuple(line[5:].split())
            lines = []
        elif name:
            lines.append(line)
    return found


def routes(text):
    """Kernel routes as {destination: sorted [(via, dev, labels)]}; continuation lines are nexthops."""
    result, current = {}, None
    for line in text.splitlines():
        # A node without FTN routes has no table 193: iproute2 says so instead of listing nothing.
        if not line.strip() or line.startswith(("Error:", "Dump terminated")):
            continue
        words = line.split()
        if not line[0].isspace():
            current = words[0]
            result[current] = []
        if "dev" in words:
            labels = []
            for key in ("as", "mpls"):  # swap: "as to 200/300", push: "encap mpls 200/300"
                if key in words:
                    index = words.index(key) + (2 if key == "as" else 1)
                    labels = [int(label) for label in words[index].split("/")]
            via = words[words.index("inet") + 1] if "inet" in words else (words[words.index("via") + 1] if "via" in words else None)
            result[current].append((via, words[words.index("dev") + 1], tuple(labels)))
    return {key: sorted(value) for key, value in result.items()}


def lfib(text, labelled):
    start = text.find("{")
    entries = json.loads(text[start:])["entries"] if start >= 0 else []
    result = {}
    for entry in entries:
        if (entry.get("inLabel") is not None) != labelled:
            continue
        key = str(entry["inLabel"]) if labelled else entry["fec"].removesuffix("/32")
        result[key] = sorted((hop.get("address"), hop["interface"], tuple(l for l in hop["outLabels"] if l != 3))
                             for hop in entry["nexthops"])
    return result


found = sections(open(sys.argv[1], errors="replace").read())
# `lsrlab snapshot` (a stage's every router at once): each lsrd router's LFIB and dataplane view,
# as `lsrctl show lfib --json` and `show dataplane --json` would print them.
for key in [key for key in found if len(key) == 2 and key[1] == "snapshot"]:
    text = found.pop(key)
    for router in json.loads(text[text.find("{"):])["routers"] if "{" in text else []:
        if router["software"] == "lsrd":
            found[(key[0], router["name"], "lfib")] = json.dumps({"entries": router.get("lfib") or []})
            found[(key[0], router["name"], "dataplane")] = json.dumps(router.get("dataplane") or {"backends": []})


def entries_of(stage, node):
    text = found.get((stage, node, "lfib"), "")
    return json.loads(text[text.find("{"):])["entries"] if "{" in text else []


required = sys.argv[sys.argv.index("--require") + 1:] if "--require" in sys.argv else []
captures = {key: found.pop(key) for key in [key for key in found if len(key) == 4 and key[1] == "capture"]}
stages = sorted({(stage, node) for stage, node, _ in found})
if not stages:
    print("not ok - no route dumps in the console")
    sys.exit(1)
failed = False
printed = {stage for stage, _ in stages}
for stage in required:
    if stage not in printed:
        failed = True
        print(f"not ok - the guest printed no route dumps for stage {stage}")
for stage, node in stages:
    for kind, labelled in (("mpls", True), ("ftn", False)):
        kernel = routes(found.get((stage, node, kind), ""))
        wanted = lfib(found.get((stage, node, "lfib"), ""), labelled)
        if kernel == wanted:
            print(f"ok - {stage} {node}: {len(kernel)} {kind} routes match the LFIB")
        else:
            failed = True
            print(f"not ok - {stage} {node}: {kind} routes differ from the LFIB\n    kernel {kernel}\n    lfib   {wanted}")
    # Every entry, the static routes' included, reports itself installed in the kernel.
    entries = entries_of(stage, node)
    unreported = [entry["fec"] if entry.get("inLabel") is None else entry["inLabel"] for entry in entries
                  if not entry["installed"]["kernel"] or entry.get("error")]
    if unreported:
        failed = True
        print(f"not ok - {stage} {node}: entries not reported installed in the kernel: {unreported}")
    else:
        print(f"ok - {stage} {node}: all {len(entries)} LFIB entries report kernel: installed")
    # lsrd's own drift report (its netlink dump against its LFIB) must agree: no drift.
    text = found.get((stage, node, "dataplane"), "")
    backends = json.loads(text[text.find("{"):])["backends"] if "{" in text else []
    kernel = [backend for backend in backends if backend["name"] == "kernel"]
    if kernel and kernel[0]["drift"] == []:
        print(f"ok - {stage} {node}: lsrd reports no drift ({kernel[0]['state']})")
    else:
        failed = True
        print(f"not ok - {stage} {node}: lsrd's dataplane view: {kernel or text[:300]}")


# Echoes captured as received by each lsrd router while the CEs pinged (tcpdump -e -nn): a
# labelled one carries an in-label of the receiver's LFIB; an unlabelled customer echo on a core
# interface reaches only the LER that pushes toward its source (the far end of a PHP'd LSP).
echo = re.compile(r"(?:MPLS \(label (\d+)[^)]*\) (?:\(label \d+[^)]*\) )*)?(?:IP )?(\d+\.\d+\.\d+\.\d+) > (\d+\.\d+\.\d+\.\d+): ICMP echo (?:request|reply)")
labelled_per_stage = {}
for (stage, _, node, interface), text in sorted(captures.items()):
    entries = entries_of(stage, node)
    in_labels = {entry["inLabel"] for entry in entries if entry.get("inLabel") is not None}
    core = {hop["interface"] for entry in entries for hop in entry["nexthops"]}
    pushes = [entry["fec"] for entry in entries if entry.get("inLabel") is None]
    problems, labelled = [], 0
    for line in text.splitlines():
        match = echo.search(line)
        if not match or not match.group(2).startswith("192.168."):
            continue
        label, source = match.group(1), match.group(2)
        if label is not None:
            labelled += 1
            if int(label) not in in_labels:
                problems.append(f"label {label} is no in-label of {node}: {line.strip()}")
        elif interface in core and not any(ipaddress.ip_address(source) in ipaddress.ip_network(fec) for fec in pushes):
            problems.append(f"an unlabelled customer echo on core interface {interface}: {line.strip()}")
    labelled_per_stage[stage] = labelled_per_stage.get(stage, 0) + labelled
    if problems:
        failed = True
        print(f"not ok - {stage} {node} {interface}: captured echoes\n    " + "\n    ".join(problems[:5]))
    elif labelled:
        print(f"ok - {stage} {node} {interface}: {labelled} labelled echoes received, each with an in-label of its LFIB")
for stage, labelled in sorted(labelled_per_stage.items()):
    if labelled == 0:
        failed = True
        print(f"not ok - {stage}: no labelled echo captured anywhere")
sys.exit(1 if failed else 0)
