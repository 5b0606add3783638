#!/usr/bin/env python3
"""circumplex_weights — a circumplex model's weights in Python: numpy only to read and write,
PyTorch (optional) to rebuild the decoder.

circumplex stores weights as safetensors (runtime/include/circumplex/weights.hpp): a u64
header length, a JSON header {name: {dtype "F32", shape, data_offsets}, "__metadata__":
{"circumplex": meta JSON as a string, "fnv1a64": hash of the data}}, then the data. Files
this module writes load in circumplex (any safetensors file of F32 tensors does); circumplex
0.1's own ".cpxw" format is read too.

    import circumplex_weights as cw
    tensors, meta = cw.read("assets/models/default/weights.safetensors")  # {name: ndarray}, dict
    cw.write("my/weights.safetensors", tensors, meta)                      # circumplex loads it
    dec = cw.decoder("assets/models/default")   # torch.nn.Module: latent [N, D] -> RGB [N, 3, S, S] in 0..1

    python3 circumplex_weights.py PKG_OR_FILE   # lists the tensors and the model's shape
    python3 circumplex_weights.py --convert PKG # rewrites a package's circumplex 0.1 .cpxw files
                                                # as .safetensors and points its manifest at them
"""
import json
import os
import struct
import sys

import numpy as np

__all__ = ["read", "write", "decoder", "package_config"]

_LEGACY_MAGIC = b"CPXWGT01"


def _fnv1a64(data):
    h = 1469598103934665603
    # 64-bit FNV-1a over the bytes; numpy would not make this faster without wrapping tricks.
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def read(path, check_hash=False):
    """(tensors, meta): every tensor as a float32 ndarray by name, and the circumplex meta dict.
    check_hash: also verify the data hash (slow in pure Python for large files)."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] == _LEGACY_MAGIC:
        (n,) = struct.unpack("<Q", blob[8:16])
        header = json.loads(blob[16:16 + n])
        data = blob[16 + n:]
        tensors = {t["name"]: np.frombuffer(data, "<f4", int(np.prod(t["shape"], dtype=np.int64)), t["offset"]).reshape(tuple(t["shape"])).copy()
                   for t in header["tensors"]}
        return tensors, header.get("meta", {})
    if len(blob) < 8:
        raise ValueError("%s: too short to be a safetensors file" % path)
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError("%s: header length %d exceeds the file (truncated?)" % (path, n))
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    if check_hash and "fnv1a64" in meta and _fnv1a64(data) != meta["fnv1a64"]:
        raise ValueError("%s: data hash mismatch (corrupt file)" % path)
    tensors = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            raise ValueError("%s: tensor %r is %s, expected F32" % (path, name, t["dtype"]))
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], "<f4").reshape(tuple(t["shape"])).copy()
    return tensors, json.loads(meta.get("circumplex", "{}"))


def write(path, tensors, meta=None):
    """Writes {name: array} as F32 safetensors with circumplex's metadata (through a temporary
    file renamed into place, so a half-written file never looks complete)."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.array(tensors[name], dtype="<f4", order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        chunks.append(a.tobytes())
        offset += a.nbytes
    data = b"".join(chunks)
    header["__metadata__"] = {"circumplex": json.dumps(meta or {}), "fnv1a64": _fnv1a64(data)}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = "%s.partial.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def package_config(package_dir):
    """The package's network shape: {"image_size", "latent", "width", "decoder_width"} and,
    where the package has them, "decoder_refine", "decoder_detail" and "affect_head"."""
    with open(os.path.join(package_dir, "manifest.json")) as f:
        return json.load(f)["model"]


def decoder(package_dir):
    """The package's decoder as a PyTorch module (eval mode): latent [N, latent] -> RGB
    [N, 3, S, S] in 0..1, the network runtime/src/vae.cpp runs. Needs PyTorch."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    cfg = package_config(package_dir)
    with open(os.path.join(package_dir, "manifest.json")) as f:
        weights_file = json.load(f)["weights"]["file"]
    tensors, _ = read(os.path.join(package_dir, weights_file))
    stages, s = 0, cfg["image_size"]
    while s > 4:
        s //= 2
        stages += 1
    width = cfg["width"]

    def channels(stage):
        return width * min(1 << stage, 8)

    def decoder_channels(stage):
        return (cfg.get("decoder_width") or width) if stage >= stages else channels(stages - 1 - stage)

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(cfg["latent"], decoder_channels(0) * 16)
            self.stages = nn.ModuleList(nn.Conv2d(decoder_channels(i), decoder_channels(i + 1), 3, padding=1) for i in range(stages))
            # the lowest "decoder_refine" stages add a residual 3x3 convolution: h + SiLU(conv(h))
            self.refine = nn.ModuleList(nn.Conv2d(decoder_channels(i + 1), decoder_channels(i + 1), 3, padding=1)
                                        for i in range(cfg.get("decoder_refine", 0)))
            # "decoder_detail" residual 3x3 convolutions at full resolution, after the last stage
            self.detail = nn.ModuleList(nn.Conv2d(decoder_channels(stages), decoder_channels(stages), 3, padding=1)
                                        for _ in range(cfg.get("decoder_detail", 0)))
            self.to_rgb = nn.Conv2d(decoder_channels(stages), 3, 3, padding=1)

        def forward(self, z):
            h = F.silu(self.project(z)).view(z.shape[0], decoder_channels(0), 4, 4)
            for i, conv in enumerate(self.stages):
                h = F.silu(conv(F.interpolate(h, scale_factor=2, mode="nearest")))
                if i < len(self.refine):
                    h = h + F.silu(self.refine[i](h))
            for conv in self.detail:
                h = h + F.silu(conv(h))
            return torch.sigmoid(self.to_rgb(h))

    dec = Decoder()
    state = {k[len("decoder."):]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith("decoder.")}
    dec.load_state_dict(state, strict=True)
    return dec.eval()


def convert(package_dir):
    """Rewrites every .cpxw file a package's manifest names (weights, people) as .safetensors
    with the same tensors and meta, updates manifest.json, and removes the old files."""
    path = os.path.join(package_dir, "manifest.json")
    with open(path) as f:
        manifest = json.load(f)
    slots = [manifest.get("weights", {}), manifest.get("identity_prior", {}).get("people", {})]
    done = []
    for slot in slots:
        name = slot.get("file", "")
        if not name.endswith(".cpxw"):
            continue
        tensors, meta = read(os.path.join(package_dir, name), check_hash=True)
        new = name[:-len(".cpxw")] + ".safetensors"
        write(os.path.join(package_dir, new), tensors, meta)
        slot["file"] = new
        done.append(name)
    tmp = path + ".partial"
    with open(tmp, "w") as f:
        f.write(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp, path)
    for name in done:
        os.remove(os.path.join(package_dir, name))
    return done


def _main(argv):
    if len(argv) == 3 and argv[1] == "--convert":
        print("converted:", ", ".join(convert(argv[2])) or "nothing (no .cpxw files)")
        return 0
    if len(argv) != 2:
        print(__doc__)
        return 2
    target = argv[1]
    if os.path.isdir(target):
        print("model:", package_config(target))
        with open(os.path.join(target, "manifest.json")) as f:
            target = os.path.join(target, json.load(f)["weights"]["file"])
    tensors, meta = read(target, check_hash=True)
    for name, a in sorted(tensors.items()):
        print("%-40s %-20s %s" % (name, list(a.shape), a.dtype))
    print("meta:", json.dumps(meta))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
