#!/usr/bin/env python3
"""A small circumplex host in Python: a C2A2 circle walk at 60 Hz, printing the cursor, the
nearest emotion and the strongest ARKit blendshapes every half second.

    CIRCUMPLEX_LIB=build/plugin/libcircumplex.so python3 example.py [MODEL_DIR] [SECONDS]
"""
import sys
import time

import circumplex


def main(argv):
    model = argv[1] if len(argv) > 1 and argv[1] != "-" else None  # None: the shipped default
    seconds = float(argv[2]) if len(argv) > 2 else 4.0
    realtime = "--fast" not in argv
    print(f"libcircumplex {circumplex.version()}")
    with circumplex.Context(model=model, rig_only=True) as ctx:
        ctx.play_circle_walk(theta=0.0, phi=0.0, radius=0.8, period=4.0)
        dt = 1.0 / 60.0
        for i in range(1, int(seconds * 60) + 1):
            v, a, z = ctx.update(dt)
            if i % 30 == 0:
                top = sorted(ctx.arkit().items(), key=lambda kv: -kv[1])[:3]
                shapes = ", ".join(f"{name} {w:.2f}" for name, w in top)
                print(f"t={i * dt:5.2f} s  v={v:+.2f} a={a:+.2f}  {ctx.nearest_emotion():<18} {shapes}")
            if realtime:
                time.sleep(dt)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
