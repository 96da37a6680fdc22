#!/usr/bin/env python3
"""Loads .nir files with the NIR reference library's nir.read and prints one JSON line per file.

Used by test/unit/offload/nir-python.test.ts to check that spikedrive's files load in the reference reader.
NIR itself is not part of spikedrive: put a checkout of neuromorphs/NIR on PYTHONPATH (see docs/offload.md), and
run with Debian's python3 (python3-h5py, python3-numpy).

usage: nir-read-check.py [--no-type-check] [--rewrite DIR] FILE...
"""
import json
import os
import sys


def describe(node):
    import numpy as np
    out = {"type": type(node).__name__}
    for key in ("input_type", "output_type"):
        value = getattr(node, key, None)
        if isinstance(value, dict):
            out[key] = {k: (None if v is None else np.asarray(v).astype(int).tolist()) for k, v in value.items()}
    meta = getattr(node, "metadata", None)
    if isinstance(meta, dict) and meta:
        out["metadata"] = sorted(meta.keys())
    if type(node).__name__ == "NIRGraph":
        out["nodes"] = {name: describe(child) for name, child in node.nodes.items()}
        out["edges"] = [list(e) for e in node.edges]
    return out


def main(argv):
    import nir

    if not hasattr(nir, "version"):  # a source checkout (not pip-installed) has no package metadata
        nir.version = "0+checkout"
    type_check = True
    rewrite = None
    files = []
    i = 0
    while i < len(argv):
        if argv[i] == "--no-type-check":
            type_check = False
        elif argv[i] == "--rewrite":
            i += 1
            rewrite = argv[i]
        else:
            files.append(argv[i])
        i += 1
    for path in files:
        try:
            graph = nir.read(path, type_check=type_check)
            try:
                version = nir.serialization.read_version(path)
            except Exception:  # older files have no /version
                version = None
            result = {"file": path, "ok": True, "version": version, "graph": describe(graph)}
            if rewrite is not None:
                target = os.path.join(rewrite, os.path.basename(path))
                nir.write(target, graph)
                result["rewritten"] = target
        except Exception as error:  # report, do not stop: the caller checks each file
            result = {"file": path, "ok": False, "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
