#!/usr/bin/env python3
"""tools/bench/peer.py — the Python PyTorch peer of `circumplex bench --peer`.

Builds the same decoder as runtime/src/vae.cpp (VaeDecoderImpl) with random weights and
times it the way tools/bench/bench_core.cpp does: `warmup` untimed calls, then timed calls
whose median and 99th percentile are reported, in inference mode, channels-last, at the
given thread count. The C++ side runs this script in the same `circumplex bench` run and
prints the ratio. Output: one JSON object on stdout.

Architecture (mirrors VaeConfig and VaeDecoderImpl exactly):
  channels(s) = width * min(2**s, 8); stages = log2(image_size / 4)
  decoder_channels(s) = channels(stages - 1 - s) for s < stages, else decoder_width or width
  Linear(latent, decoder_channels(0) * 16) → SiLU → view [N, C0, 4, 4] → channels-last
  per stage: nearest upsample ×2 → Conv2d(3×3, padding 1) → SiLU
    (the lowest decoder_refine stages then: h + SiLU(Conv2d(3×3, padding 1)(h)))
  decoder_detail times at full resolution: h + SiLU(Conv2d(3×3, padding 1)(h))
  Conv2d(3×3, padding 1) to RGB → sigmoid → contiguous (NCHW)

  python3 tools/bench/peer.py --width 16 --latent 64 --threads 2 --batches 1,8,32
"""
import argparse
import json
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--decoder-width", type=int, default=0)
    p.add_argument("--decoder-refine", type=int, default=0)
    p.add_argument("--decoder-detail", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--runs", type=int, default=30)
    a = p.parse_args()

    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:  # reported, not raised: the C++ side says why the peer did not run
        print(json.dumps({"ran": False, "reason": "python3 cannot import torch (%s); on Debian: apt-get install python3-torch" % e}))
        return 0

    torch.set_num_threads(max(1, a.threads))
    torch.manual_seed(7)
    stages = 0
    s = a.image_size
    while s > 4:
        s //= 2
        stages += 1

    def channels(stage):
        return a.width * min(1 << stage, 8)

    def decoder_channels(stage):
        if stage >= stages:
            return a.decoder_width or a.width
        return channels(stages - 1 - stage)

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(a.latent, decoder_channels(0) * 16)
            self.stages = nn.ModuleList(
                nn.Conv2d(decoder_channels(i), decoder_channels(i + 1), 3, padding=1) for i in range(stages))
            self.refine = nn.ModuleList(
                nn.Conv2d(decoder_channels(i + 1), decoder_channels(i + 1), 3, padding=1) for i in range(a.decoder_refine))
            self.detail = nn.ModuleList(
                nn.Conv2d(decoder_channels(stages), decoder_channels(stages), 3, padding=1) for _ in range(a.decoder_detail))
            self.to_rgb = nn.Conv2d(decoder_channels(stages), 3, 3, padding=1)

        def forward(self, z):
            h = F.silu(self.project(z)).view(z.shape[0], decoder_channels(0), 4, 4)
            h = h.contiguous(memory_format=torch.channels_last)
            for i, conv in enumerate(self.stages):
                h = F.interpolate(h, scale_factor=2, mode="nearest")
                h = F.silu(conv(h))
                if i < a.decoder_refine:
                    h = h + F.silu(self.refine[i](h))
            for conv in self.detail:
                h = h + F.silu(conv(h))
            return torch.sigmoid(self.to_rgb(h)).contiguous()

    dec = Decoder().eval()
    dec = dec.to(memory_format=torch.channels_last)  # conv weights channels-last, as vae.cpp does

    def pct(values, q):
        v = sorted(values)
        pos = q * (len(v) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(v) - 1)
        return v[lo] + (v[hi] - v[lo]) * (pos - lo)

    rows = []
    with torch.inference_mode():
        for batch in [int(b) for b in a.batches.split(",") if b]:
            print("peer: decoder forward, batch %d" % batch, file=sys.stderr, flush=True)
            z = torch.randn(batch, a.latent)
            runs = max(3, a.runs * 8 // (batch + 7))  # the C++ side's rule
            for _ in range(a.warmup):
                dec(z)
            ms = []
            cpu0 = time.process_time()
            for _ in range(runs):
                t0 = time.perf_counter()
                dec(z)
                ms.append((time.perf_counter() - t0) * 1000.0)
            cpu_ms = (time.process_time() - cpu0) * 1000.0 / runs
            med = pct(ms, 0.5)
            rows.append({"batch": batch, "median_ms": med, "p99_ms": pct(ms, 0.99), "runs": runs, "cpu_ms": cpu_ms,
                         "images_per_s": 1000.0 * batch / med if med > 0 else 0.0})
    print(json.dumps({"ran": True, "reason": "", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "python": sys.version.split()[0], "batches": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
