#!/usr/bin/env python3
"""The Python (ctypes) bindings drive a real circle walk on the tiny model and check the
weights; errors arrive as CircumplexError; frames and the example script work.

    python3 test_plugin_python.py LIBCIRCUMPLEX_SO MODEL_DIR BINDINGS_DIR
"""
import math
import os
import runpy
import sys


def main():
    lib, model, bindings = sys.argv[1:4]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from script_support import Checks, bindings as load_bindings
    circumplex = load_bindings(lib, bindings)
    checks = Checks()
    expect = checks.expect

    expect(circumplex.version().count(".") == 2, "version string")
    names = circumplex.output_names(circumplex.OUTPUT_ARKIT)
    expect(len(names) == 52 and names[17] == "jawOpen", "ARKit names")
    expect(circumplex.output_index(circumplex.OUTPUT_AU, "AU12") == 8, "AU index")
    expect("happily-sad" in circumplex.emotion_names(), "emotion names")

    # A circle walk: the cursor settles on the circle, the weights stay in [0, 1], the smile
    # peaks on the pleasant side and the brows lower on the unpleasant side.
    with circumplex.Context(model=model, rig_only=True, half_life=0.05) as ctx:
        ctx.play_circle_walk(0.0, 0.0, 0.8, 4.0)
        smile_pleasant, smile_unpleasant, brow_unpleasant = 0.0, 0.0, 0.0
        for i in range(8 * 60):
            v, a, z = ctx.update(1 / 60)
            w = ctx.arkit()
            expect(all(0.0 <= x <= 1.0 for x in w.values()), f"weights in [0, 1] at update {i}")
            expect(w["mouthSmileLeft"] == w["mouthSmileRight"], "symmetric smile")
            if i > 120:
                expect(abs(math.hypot(v, a) - 0.8) < 0.05, f"on the circle at update {i}: {v}, {a}")
                if v > 0.6:
                    smile_pleasant = max(smile_pleasant, w["mouthSmileLeft"])
                if v < -0.6:
                    smile_unpleasant = max(smile_unpleasant, w["mouthSmileLeft"])
                    brow_unpleasant = max(brow_unpleasant, w["browDownLeft"])
        expect(smile_pleasant > 0.3, f"smile on the pleasant side ({smile_pleasant})")
        expect(smile_unpleasant < smile_pleasant / 2, f"less smile on the unpleasant side ({smile_unpleasant})")
        expect(brow_unpleasant > 0.1, f"lowered brows on the unpleasant side ({brow_unpleasant})")
        s = ctx.state()
        expect(s["update_count"] == 480 and s["playing"], "state")
        expect(len(ctx.vrm()) == 18 and len(ctx.action_units()) == 17, "VRM and AU outputs")

        # An identity saved and loaded back (API 3); a damaged file raises with its name.
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            ctx.set_identity_seed(7)
            ctx.save_identity(os.path.join(tmp, "id.safetensors"))
            ctx.set_identity_seed(8)
            ctx.load_identity(os.path.join(tmp, "id.safetensors"))
            with open(os.path.join(tmp, "bad.safetensors"), "wb") as f:
                f.write(b"not an identity")
            try:
                ctx.load_identity(os.path.join(tmp, "bad.safetensors"))
                expect(False, "a damaged identity file raises")
            except circumplex.CircumplexError as e:
                expect(e.name == "CPX_ERROR_BAD_DATA" and "bad.safetensors" in e.message, f"identity error: {e}")

        # Errors arrive as exceptions with the code and the message.
        try:
            ctx.set_emotion("hapy", 1.0)
            expect(False, "unknown emotion raises")
        except circumplex.CircumplexError as e:
            expect(e.code == 4 and e.name == "CPX_ERROR_UNKNOWN_NAME" and "happy" in e.message, f"error: {e}")
        try:
            ctx.update(float("nan"))
            expect(False, "NaN dt raises")
        except circumplex.CircumplexError as e:
            expect(e.code == 3, f"NaN error code {e.code}")
    try:
        circumplex.Context(model="/nonexistent/model")
        expect(False, "bad model raises")
    except circumplex.CircumplexError as e:
        expect(e.name == "CPX_ERROR_MODEL" and "/nonexistent/model" in e.message, f"model error: {e}")
    try:  # the device (API 4) reaches the library: an unknown name is refused by name
        circumplex.Context(model=model, device="tpu")
        expect(False, "an unknown device raises")
    except circumplex.CircumplexError as e:
        expect(e.name == "CPX_ERROR_INVALID_ARGUMENT" and "tpu" in e.message, f"device error: {e}")
    with circumplex.Context(model=model, rig_only=True, device="cpu") as ctx:
        expect(ctx is not None, "device cpu")

    # Frames.
    with circumplex.Context(model=model, threads=1) as ctx:
        ctx.set_emotion("surprised", 0.9)
        ctx.update(1.0)
        ctx.wait_frame(60.0)  # API 6: the face of the last update is there, no polling
        frame = ctx.copy_frame()
        expect(frame is not None, "a frame arrives")
        try:
            ctx.wait_frame(-1.0)
            expect(False, "a negative wait raises")
        except circumplex.CircumplexError as e:
            expect(e.name == "CPX_ERROR_INVALID_ARGUMENT", f"negative wait: {e}")
        if frame:
            rgba, w, h, seq, affect = frame
            expect(w == 32 and h == 32 and len(rgba) == 32 * 32 * 4 and seq >= 1, "frame shape")
            expect(all(rgba[i] == 255 for i in range(3, len(rgba), 4)), "opaque alpha")
        # A photo as the identity: the tiny model states no framing, and the returned notes say
        # that its centre square was used (API 5).
        notes = ctx.set_identity_image(bytes(range(256)) * 48, 64, 64, 3)
        expect(len(notes) == 1 and "states no framing" in notes[0], f"identity notes: {notes}")

    # keep_detail (API 7): at neutral the face of an image identity is that image, up to
    # rounding; without it the tiny decoder's own face is far from the stripes.
    stripes = bytes((40 + c * 60 if x % 4 < 2 else 200) for y in range(32) for x in range(32) for c in range(3))
    worst = {}
    for keep in (True, False):
        with circumplex.Context(model=model, threads=1, half_life=0.0, keep_detail=keep) as ctx:
            ctx.set_identity_image(stripes, 32, 32, 3)
            ctx.set_target(0.0, 0.0)
            ctx.update(0.0)
            ctx.wait_frame(60.0)
            rgba = ctx.copy_frame()[0]
            worst[keep] = max(abs(rgba[4 * p + c] - stripes[3 * p + c]) for p in range(32 * 32) for c in range(3))
    expect(worst[True] <= 1 and worst[False] > 40, f"keep_detail: worst channel error {worst}")

    # The example script.
    example = runpy.run_path(os.path.join(bindings, "example.py"))
    expect(example["main"](["example.py", model, "1", "--fast"]) == 0, "example runs")

    return checks.finish("Python bindings: all checks passed")


if __name__ == "__main__":
    sys.exit(main())
