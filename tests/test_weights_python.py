#!/usr/bin/env python3
"""The weights in the ecosystem's format: Python with numpy alone reads a circumplex model
package's safetensors weights, rebuilds the decoder in PyTorch, writes weights that
circumplex then loads and draws with.

    /usr/bin/python3 test_weights_python.py LIBCIRCUMPLEX_SO MODEL_DIR BINDINGS_DIR WORK_DIR
Exit 0 on success, 1 on a failure, 77 (skipped) without numpy or torch.
"""
import json
import math
import os
import shutil
import sys

try:
    import numpy as np
    import torch
except ImportError as e:
    print("skipped: %s (Debian: python3-numpy, python3-torch)" % e)
    sys.exit(77)


def main():
    lib, model, bindings, work = sys.argv[1:5]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from script_support import Checks, bindings as load_bindings
    circumplex = load_bindings(lib, bindings)
    import circumplex_weights as cw
    checks = Checks()
    expect = checks.expect

    manifest = json.load(open(os.path.join(model, "manifest.json")))
    weights = os.path.join(model, manifest["weights"]["file"])
    expect(weights.endswith(".safetensors"), "map writes safetensors: " + weights)
    tensors, meta = cw.read(weights, check_hash=True)
    cfg = cw.package_config(model)
    expect(tensors["decoder.project.weight"].shape[1] == cfg["latent"], "the decoder reads the latent")
    expect(meta.get("model", {}).get("latent") == cfg["latent"], "the meta carries the model shape")

    # The decoder rebuilt in PyTorch draws a face-sized image in 0..1.
    dec = cw.decoder(model)
    with torch.no_grad():
        img = dec(torch.zeros(2, cfg["latent"]))
    expect(tuple(img.shape) == (2, 3, cfg["image_size"], cfg["image_size"]), "decoded shape %s" % (tuple(img.shape),))
    expect(float(img.min()) >= 0.0 and float(img.max()) <= 1.0 and float(img.std()) > 0.0, "decoded values")

    # Weights written by Python: every decoder weight 0 and the RGB bias c, so every pixel of
    # every face circumplex draws is sigmoid(c) (and so is the PyTorch rebuild's).
    pkg = os.path.join(work, "python-weights")
    shutil.rmtree(pkg, ignore_errors=True)
    shutil.copytree(model, pkg)
    bias = np.array([-1.0, 0.0, 1.5], dtype=np.float32)
    for name in tensors:
        if name.startswith("decoder."):
            tensors[name] = np.zeros_like(tensors[name])
    tensors["decoder.to_rgb.bias"] = bias
    cw.write(os.path.join(pkg, manifest["weights"]["file"]), tensors, meta)
    expected = [round(255.0 / (1.0 + math.exp(-b))) for b in bias]
    with torch.no_grad():
        rebuilt = cw.decoder(pkg)(torch.randn(1, cfg["latent"]))
    expect(all(abs(float(rebuilt[0, c].mean()) * 255.0 - expected[c]) < 0.51 for c in range(3)), "the rebuild uses the written weights")
    with circumplex.Context(pkg, threads=1) as ctx:
        ctx.set_emotion("happy", 1.0)
        frame = None
        for _ in range(400):
            ctx.update(0.02)
            frame = ctx.copy_frame()
            if frame:
                break
            import time
            time.sleep(0.01)
        expect(frame is not None, "circumplex drew a frame with the Python-written weights")
        if frame:
            px = np.frombuffer(frame[0], np.uint8).reshape(frame[2], frame[1], 4)
            for c in range(3):
                expect(abs(int(px[..., c].min()) - expected[c]) <= 1 and abs(int(px[..., c].max()) - expected[c]) <= 1,
                       "channel %d is %d..%d, expected %d" % (c, px[..., c].min(), px[..., c].max(), expected[c]))
    return checks.finish("numpy read %d tensors, PyTorch rebuilt the decoder, circumplex drew with Python-written weights" % len(tensors))


if __name__ == "__main__":
    sys.exit(main())
