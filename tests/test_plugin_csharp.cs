// The C# bindings (plugin/bindings/csharp/Circumplex.cs) against the real libcircumplex.so
// under Mono: tables, a real circle walk with its weights checked, errors as exceptions,
// frames, several contexts. Exit code 0 when every check passes.
//   mono test_plugin_csharp.exe MODEL_DIR
using System;
using System.Collections.Generic;
using Circumplex;

static class TestPluginCSharp
{
    static int failures;

    static void Expect(bool ok, string what)
    {
        if (ok) return;
        ++failures;
        Console.Error.WriteLine("FAILED: " + what);
    }

    static Result Code(Action action)
    {
        try { action(); }
        catch (CircumplexException e) { return e.Result; }
        return Result.Ok;
    }

    static int Main(string[] args)
    {
        string model = args[0];
        Expect(Native.cpx_api_version() >= Native.ApiVersion, "API version");
        Expect(Utf8.String(Native.cpx_version_string()).Split('.').Length == 3, "version string");
        string[] arkit = Names.Outputs(OutputKind.ARKit);
        Expect(arkit.Length == 52 && arkit[17] == "jawOpen", "ARKit names");
        Expect(Names.Outputs(OutputKind.VRM).Length == 18 && Names.Outputs(OutputKind.AU)[8] == "AU12", "VRM and AU names");
        Expect(Names.OutputIndex(OutputKind.ARKit, "mouthSmileLeft") == 23, "output index");
        Expect(Names.OutputIndex(OutputKind.ARKit, "nope") == -1, "unknown output name");
        Expect(Array.IndexOf(Names.Emotions(), "happily-sad") >= 0, "emotion names");
        int smileL = Names.OutputIndex(OutputKind.ARKit, "mouthSmileLeft"), smileR = Names.OutputIndex(OutputKind.ARKit, "mouthSmileRight");
        int browL = Names.OutputIndex(OutputKind.ARKit, "browDownLeft");

        // A real circle walk.
        using (var ctx = new Context(new CreateOptions { ModelPath = model, RigOnly = true, HalfLife = 0.05f }))
        {
            ctx.PlayCircleWalk(0f, 0f, 0.8f, 4f);
            var w = new float[Native.ArkitCount];
            float smilePleasant = 0f, smileUnpleasant = 0f, browUnpleasant = 0f;
            for (int i = 0; i < 8 * 60; ++i)
            {
                Affect p = ctx.Update(1f / 60f);
                ctx.GetOutputs(OutputKind.ARKit, w);
                for (int k = 0; k < w.Length; ++k) Expect(w[k] >= 0f && w[k] <= 1f, "weight in [0, 1]");
                Expect(w[smileL] == w[smileR], "symmetric smile");
                if (i > 120)
                {
                    double r = Math.Sqrt(p.V * p.V + p.A * p.A);
                    Expect(Math.Abs(r - 0.8) < 0.05, "on the circle: " + p);
                    if (p.V > 0.6f) smilePleasant = Math.Max(smilePleasant, w[smileL]);
                    if (p.V < -0.6f) { smileUnpleasant = Math.Max(smileUnpleasant, w[smileL]); browUnpleasant = Math.Max(browUnpleasant, w[browL]); }
                }
            }
            Expect(smilePleasant > 0.3f, "smile on the pleasant side: " + smilePleasant);
            Expect(smileUnpleasant < smilePleasant / 2f, "less smile on the unpleasant side: " + smileUnpleasant);
            Expect(browUnpleasant > 0.1f, "lowered brows on the unpleasant side: " + browUnpleasant);
            State s = ctx.GetState();
            Expect(s.UpdateCount == 480 && s.Playing == 1, "state");
            Expect(!string.IsNullOrEmpty(ctx.NearestEmotion()), "nearest emotion");
            var affect = new float[Native.AffectCount];
            ctx.GetOutputs(OutputKind.Affect, affect);
            Expect(affect[0] == s.Position.V, "affect output");
            string idFile = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "circumplex-cs-" + System.Diagnostics.Process.GetCurrentProcess().Id + ".safetensors");
            ctx.SaveIdentity(idFile);
            ctx.LoadIdentity(idFile);  // API 3: an identity saved and loaded back
            System.IO.File.Delete(idFile);

            // Errors become exceptions with the code and the message.
            try
            {
                ctx.SetEmotion("hapy", 1f);
                Expect(false, "unknown emotion throws");
            }
            catch (CircumplexException e)
            {
                Expect(e.Result == Result.UnknownName && e.Message.Contains("happy"), "unknown emotion: " + e.Message);
            }
            Expect(Code(() => ctx.Update(float.NaN)) == Result.InvalidArgument, "NaN dt");
            Expect(Code(() => ctx.GetOutputs(OutputKind.ARKit, new float[10])) == Result.BufferTooSmall, "small array");
            Expect(Code(() => ctx.GetOutputs(OutputKind.ARKit, null)) == Result.NullPointer, "null array");
            Expect(Code(() => ctx.PollFrame(0)) == Result.NotSupported, "frames of a rig-only context");
            ctx.SetEmotion("happily sad", 0.7f);  // a compound, any separator
            Affect q = ctx.Update(1f);
            Expect(Math.Abs(Math.Sqrt(q.V * q.V + q.A * q.A + q.Z * q.Z) - 0.7) < 0.01, "compound emotion at 0.7: " + q);
        }
        Expect(Code(() => new Context(new CreateOptions { ModelPath = "/nonexistent/model" })) == Result.Model, "bad model");
        Expect(Code(() => new Context(new CreateOptions { ModelPath = model, Device = "tpu" })) == Result.InvalidArgument, "unknown device");
        using (var onCpu = new Context(new CreateOptions { ModelPath = model, RigOnly = true, Device = "cpu" })) Expect(onCpu != null, "device cpu");

        // Frames.
        using (var ctx = new Context(new CreateOptions { ModelPath = model, Threads = 1 }))
        {
            ContextInfo info = ctx.Info;
            Expect(info.FrameWidth == 32 && info.RigOnly == 0, "frame size");
            ctx.SetEmotion("surprised", 0.9f);
            ctx.Update(1f);
            var rgba = new byte[info.FrameWidth * info.FrameHeight * 4];
            Frame f = default(Frame);
            ctx.WaitFrame(60f);  // API 6: the face of the last Update is there, no polling
            bool got = ctx.CopyFrame(rgba, out f);
            Expect(got, "a frame arrives");
            Expect(Code(() => ctx.WaitFrame(-1f)) == Result.InvalidArgument, "negative wait");
            Expect(f.Width == 32 && f.Height == 32 && f.Stride == 128 && f.Sequence >= 1, "frame description");
            // A photo as the identity: the tiny model states no framing, and the notes say that
            // its centre square was used (API 5).
            string[] notes = ctx.SetIdentityImage(new byte[64 * 64 * 3], 64, 64, 3);
            Expect(notes.Length == 1 && notes[0].Contains("states no framing"), "identity notes");
            bool opaque = true;
            for (int i = 3; i < rgba.Length; i += 4) opaque &= rgba[i] == 255;
            Expect(opaque, "opaque alpha");
            Frame b;
            Expect(ctx.BorrowFrame(out b) && b.Pixels != IntPtr.Zero, "borrow");
            ctx.ReleaseFrame(b);
            Expect(Code(() => ctx.ReleaseFrame(b)) == Result.InvalidArgument, "double release");
            Expect(Code(() => ctx.CopyFrame(new byte[16], out f)) == Result.BufferTooSmall, "small frame buffer");
        }

        // Two contexts side by side.
        using (var one = new Context(new CreateOptions { ModelPath = model, RigOnly = true, HalfLife = 0f }))
        using (var two = new Context(new CreateOptions { ModelPath = model, RigOnly = true, HalfLife = 0f }))
        {
            one.SetEmotion("happy", 1f);
            two.SetEmotion("sad", 0.68f);  // sad's own radius in 2D (0.685): on its atlas point
            one.Update(0.1f);
            two.Update(0.1f);
            Expect(one.NearestEmotion() == "happy" && two.NearestEmotion() == "sad", "independent contexts");
        }

        if (failures > 0) { Console.Error.WriteLine(failures + " check(s) failed"); return 1; }
        Console.WriteLine("C# bindings: all checks passed");
        return 0;
    }
}
