#!/usr/bin/env python3
"""A second implementation agrees: Debian's pyliblo (python3-liblo) receives what the plugin
sends in VMC mode (one bundle: OK, T, every blendshape, Apply last) and in VRChat's budget
mode, through the Python bindings.

    /usr/bin/python3 test_plugin_vmc_python.py LIBCIRCUMPLEX_SO MODEL_DIR BINDINGS_DIR
Exit 0 on success, 1 on a failure, 77 (skipped) without pyliblo.
"""
import os
import sys
import time

try:
    import liblo
except ImportError:
    print("skipped: pyliblo (Debian's python3-liblo) is not installed for", sys.executable)
    sys.exit(77)


def main():
    lib, model, bindings = sys.argv[1:4]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from script_support import Checks, bindings as load_bindings
    circumplex = load_bindings(lib, bindings)
    checks = Checks()
    expect = checks.expect

    server = liblo.Server()  # a free UDP port
    log = []       # (path, args) in arrival order
    bundles = []   # the paths of each complete bundle
    current = []

    def on_message(path, args, types, src):
        log.append((path, args, types))
        current.append(path)

    server.add_method(None, None, on_message)
    has_bundles = hasattr(server, "add_bundle_handlers")
    if has_bundles:
        server.add_bundle_handlers(lambda timetag, data: current.clear(), lambda data: bundles.append(list(current)))

    def receive(until):
        deadline = time.time() + 10
        while not until() and time.time() < deadline:
            server.recv(20)

    with circumplex.Context(model, rig_only=True, half_life=0.0) as ctx:
        ctx.osc_open(port=server.port, mode=circumplex.OSC_VMC, vmc_names=circumplex.VMC_ARKIT)
        ctx.set_emotion("happy", 1.0)
        ctx.update(0.25)
        ctx.osc_flush(10.0)
        arkit = ctx.outputs(circumplex.OUTPUT_ARKIT)
        # The sink may send a bundle of the state before update() (time 0) first: read the one
        # whose /VMC/Ext/T is the update's time, from its T to its Apply.
        def updated_bundle():
            starts = [i for i, (p, a, _) in enumerate(log) if p == "/VMC/Ext/T" and abs(a[0] - 0.25) < 1e-3]
            if not starts:
                return None
            # the bundle began with /VMC/Ext/OK just before T; it ends at the next Apply
            first = max((i for i in range(starts[0] + 1) if log[i][0] == "/VMC/Ext/OK"), default=starts[0])
            ends = [i for i in range(starts[0], len(log)) if log[i][0] == "/VMC/Ext/Blend/Apply"]
            return log[first:ends[0] + 1] if ends else None
        receive(lambda: updated_bundle() is not None)
        bundle = updated_bundle() or []
        blend = {args[0]: args[1] for path, args, types in bundle if path == "/VMC/Ext/Blend/Val" and types == "sf"}
        expect(len(blend) == 52, "52 ARKit blendshapes, got %d" % len(blend))
        smile = circumplex.output_index(circumplex.OUTPUT_ARKIT, "mouthSmileLeft")
        expect(abs(blend.get("mouthSmileLeft", -1) - arkit[smile]) < 1e-6 and arkit[smile] > 0.2, "mouthSmileLeft value")
        paths = [p for p, _, _ in bundle]
        expect(paths[:1] == ["/VMC/Ext/OK"] and paths[-1:] == ["/VMC/Ext/Blend/Apply"], "OK first, Apply last: %s … %s" % (paths[:2], paths[-1:]))
        expect(("/VMC/Ext/T", [0.25], "f") in [(p, [round(a[0], 3)], t) for p, a, t in log if p == "/VMC/Ext/T"], "T carries the time")
        if has_bundles:
            expect(len(bundles) >= 1 and len(bundles[-1]) == 55, "one bundle of 55 messages")

        log.clear()
        ctx.osc_open(port=server.port, mode=circumplex.OSC_VRCHAT_BUDGET)
        ctx.set_emotion("sad", 0.8)
        p = ctx.update(0.1)
        ctx.osc_flush(10.0)
        # The sink sends the state at open (happy) at once, then the update's (sad): wait for sad.
        def latest(path):
            values = [a[0] for q, a, t in log if q == path]
            return values[-1] if values else None
        receive(lambda: latest("/avatar/parameters/CircumplexValence") == p[0])
        receive(lambda: False if latest("/avatar/parameters/CircumplexEmotion") is None else
                len([1 for q, _, _ in log if q == "/avatar/parameters/CircumplexEmotion"]) >= 2)
        while server.recv(50):
            pass
        got = {q: (a[0], t) for q, a, t in log if q.startswith("/avatar/parameters/")}
        expect(set(got) == {"/avatar/parameters/CircumplexValence", "/avatar/parameters/CircumplexArousal",
                            "/avatar/parameters/CircumplexZ", "/avatar/parameters/CircumplexIntensity",
                            "/avatar/parameters/CircumplexEmotion"}, "the five budget parameters: %s" % sorted(got))
        expect(got.get("/avatar/parameters/CircumplexEmotion", (None, ""))[1] == "i", "the emotion is an int")
        index = got.get("/avatar/parameters/CircumplexEmotion", (-1, ""))[0]
        expect(0 <= index < len(circumplex.emotion_names()) and circumplex.emotion_names()[index] == "sad", "the emotion's index names sad")
        expect(got.get("/avatar/parameters/CircumplexValence", (0, ""))[0] < -0.3, "valence is negative")

    return checks.finish("pyliblo received the VMC bundle and the VRChat budget parameters")


if __name__ == "__main__":
    sys.exit(main())
