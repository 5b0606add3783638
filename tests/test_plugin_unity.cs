// Runs the Unity sample (plugin/bindings/csharp/Unity/CircumplexFace.cs) against the Unity
// stubs (test_plugin_unity_stubs.cs) and the real libcircumplex.so: Start, then Update at
// 60 Hz as Unity would call them; the ARKit weights must land on the right blendshapes and
// the generated face in the texture. Exit code 0 when every check passes.
//   mono test_plugin_unity.exe MODEL_DIR
using System;
using System.Reflection;
using System.Threading;
using Circumplex;
using UnityEngine;

static class TestPluginUnity
{
    static int failures;

    static void Expect(bool ok, string what)
    {
        if (ok) return;
        ++failures;
        Console.Error.WriteLine("FAILED: " + what);
    }

    static void Call(object target, string method)
    {
        target.GetType().GetMethod(method, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public).Invoke(target, null);
    }

    static int Main(string[] args)
    {
        string model = args[0];
        string[] arkit = Names.Outputs(OutputKind.ARKit);
        // A mesh with prefixed ARKit names in another order, plus shapes of its own.
        var mesh = new Mesh();
        mesh.blendShapeNames.Add("eyesLookAtCamera");
        for (int i = arkit.Length - 1; i >= 0; --i) mesh.blendShapeNames.Add("blendShape1." + arkit[i]);
        var renderer = new SkinnedMeshRenderer { sharedMesh = mesh };
        var quad = new Renderer();

        var face = new CircumplexFace
        {
            face = renderer,
            blendShapePrefix = "blendShape1.",
            modelPath = model,
            circleWalk = true,
            walkRadius = 0.8f,
            walkPeriod = 4f,
            smoothing = 0.05f,
            faceTexture = quad,
        };
        Call(face, "Start");
        Expect(face.enabled, "started");
        int smile = mesh.GetBlendShapeIndex("blendShape1.mouthSmileLeft");
        float smilePleasant = 0f, smileUnpleasant = 0f;
        for (int i = 0; i < 8 * 60; ++i)
        {
            Time.deltaTime = 1f / 60f;
            Call(face, "Update");
            Affect p = face.Cursor;
            if (i > 120 && p.V > 0.6f) smilePleasant = Math.Max(smilePleasant, renderer.GetBlendShapeWeight(smile));
            if (i > 120 && p.V < -0.6f) smileUnpleasant = Math.Max(smileUnpleasant, renderer.GetBlendShapeWeight(smile));
        }
        Expect(renderer.weights.Count == 52, "all 52 blendshapes driven, got " + renderer.weights.Count);
        Expect(!renderer.weights.ContainsKey(0), "the mesh's own shape is left alone");
        foreach (var kv in renderer.weights) Expect(kv.Value >= 0f && kv.Value <= 100f, "weight in [0, 100]");
        Expect(smilePleasant > 30f, "smile on the pleasant side: " + smilePleasant);
        Expect(smileUnpleasant < smilePleasant / 2f, "less smile on the unpleasant side: " + smileUnpleasant);
        Expect(!string.IsNullOrEmpty(face.NearestEmotion), "nearest emotion");

        // The generated face reaches the texture (the generator runs on its own thread).
        var texture = quad.material.mainTexture as Texture2D;
        Expect(texture != null && texture.width == 32, "texture made");
        for (int i = 0; i < 6000 && texture != null && texture.applied == 0; ++i)
        {
            Thread.Sleep(10);
            Call(face, "Update");
        }
        Expect(texture != null && texture.applied > 0 && texture.data != null && texture.data.Length == 32 * 32 * 4, "a frame uploaded");
        Expect(quad.material.mainTextureScale.y == -1f, "texture flipped to Unity's bottom-up rows");

        face.Hold("sad", 1f);
        for (int i = 0; i < 60; ++i) Call(face, "Update");
        Expect(face.NearestEmotion == "sad", "hold an emotion: " + face.NearestEmotion);
        Call(face, "OnDestroy");

        // A bad model path: the component reports it and disables itself, no exception.
        var broken = new CircumplexFace { face = renderer, modelPath = "/nonexistent/model" };
        Call(broken, "Start");
        Expect(!broken.enabled, "disabled after a failed create");
        Expect(Debug.messages.Exists(m => m.StartsWith("error: circumplex: CPX_ERROR_MODEL")), "error logged");
        Call(broken, "Update");  // harmless
        Call(broken, "OnDestroy");

        if (failures > 0) { Console.Error.WriteLine(failures + " check(s) failed"); return 1; }
        Console.WriteLine("Unity sample against the stubs: all checks passed");
        return 0;
    }
}
