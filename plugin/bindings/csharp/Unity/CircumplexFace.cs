// CircumplexFace.cs — a Unity sample: drives a face's ARKit blendshapes from circumplex.
//
// Add it to a GameObject, point `face` at the SkinnedMeshRenderer whose mesh has ARKit-named
// blendshapes ("jawOpen", "mouthSmileLeft", … optionally with a prefix such as
// "blendShape1."), and press Play: the cursor walks C2A2's circle (or holds `emotion`), and
// every frame the 52 weights go onto the matching blendshapes (Unity weights are 0 … 100).
// Optionally the generated face goes into `faceTexture`'s material as a texture.
//
// Needs Circumplex.cs and libcircumplex.so (with its LibTorch, OpenCV and liblo libraries)
// in Assets/Plugins. Tested against stubs of the Unity types it uses (tests/
// test_plugin_unity_stubs.cs), not inside the Unity editor.
using System;
using Circumplex;
using UnityEngine;

public class CircumplexFace : MonoBehaviour
{
    [Tooltip("SkinnedMeshRenderer with ARKit-named blendshapes")]
    public SkinnedMeshRenderer face;
    [Tooltip("Text before each ARKit name in the mesh, e.g. \"blendShape1.\"")]
    public string blendShapePrefix = "";
    [Tooltip("Model package folder; empty: the shipped default")]
    public string modelPath = "";

    [Header("Motion")]
    public bool circleWalk = true;
    [Range(0f, 1f)] public float walkRadius = 0.8f;
    public float walkPeriod = 6f;
    [Tooltip("Emotion to hold when not walking, e.g. \"happy\", \"happily-sad\"")]
    public string emotion = "happy";
    [Range(0f, 1f)] public float intensity = 0.8f;
    [Range(0f, 2f)] public float smoothing = 0.12f;

    [Header("Generated face (optional)")]
    public Renderer faceTexture;

    Context ctx;
    readonly float[] weights = new float[Native.ArkitCount];
    int[] blendShape;           // mesh blendshape index per ARKit output, -1 when the mesh lacks it
    Texture2D texture;
    byte[] pixels;
    ulong shownFrame;

    public string NearestEmotion { get; private set; }
    public Affect Cursor { get; private set; }

    void Start()
    {
        try
        {
            ctx = new Context(new CreateOptions
            {
                ModelPath = string.IsNullOrEmpty(modelPath) ? null : modelPath,
                RigOnly = faceTexture == null,  // no generator when nobody shows the face
                HalfLife = smoothing,
            });
        }
        catch (CircumplexException e)
        {
            Debug.LogError("circumplex: " + e.Message);
            enabled = false;
            return;
        }
        MapBlendShapes();
        if (circleWalk) ctx.PlayCircleWalk(0f, 0f, walkRadius, walkPeriod);
        else ctx.SetEmotion(emotion, intensity);
        if (faceTexture != null)
        {
            ContextInfo info = ctx.Info;
            texture = new Texture2D(info.FrameWidth, info.FrameHeight, TextureFormat.RGBA32, false);
            pixels = new byte[info.FrameWidth * info.FrameHeight * 4];
            faceTexture.material.mainTexture = texture;
            // Frames are top row first; Unity textures start at the bottom row: flip V.
            faceTexture.material.mainTextureScale = new Vector2(1f, -1f);
            faceTexture.material.mainTextureOffset = new Vector2(0f, 1f);
        }
    }

    /// <summary>Looks up each ARKit name once; the frame loop then only indexes.</summary>
    void MapBlendShapes()
    {
        string[] names = Names.Outputs(OutputKind.ARKit);
        blendShape = new int[names.Length];
        Mesh mesh = face != null ? face.sharedMesh : null;
        int found = 0;
        for (int i = 0; i < names.Length; ++i)
        {
            blendShape[i] = mesh != null ? mesh.GetBlendShapeIndex(blendShapePrefix + names[i]) : -1;
            if (blendShape[i] >= 0) ++found;
        }
        if (found == 0) Debug.LogWarning("circumplex: the mesh has none of the 52 ARKit blendshapes (check blendShapePrefix)");
    }

    void Update()
    {
        if (ctx == null) return;
        // Unity's deltaTime can jump (a breakpoint, a hitch): the ABI takes 0 … 10 s.
        Cursor = ctx.Update(Mathf.Clamp(Time.deltaTime, 0f, 0.25f));
        ctx.GetOutputs(OutputKind.ARKit, weights);
        for (int i = 0; i < weights.Length; ++i)
        {
            if (blendShape[i] >= 0) face.SetBlendShapeWeight(blendShape[i], weights[i] * 100f);
        }
        NearestEmotion = ctx.NearestEmotion();
        if (texture != null && ctx.PollFrame(shownFrame) != 0)
        {
            Frame frame;
            if (ctx.CopyFrame(pixels, out frame))
            {
                texture.LoadRawTextureData(pixels);
                texture.Apply();
                shownFrame = frame.Sequence;
            }
        }
    }

    /// <summary>Switches to holding an emotion (e.g. from UI).</summary>
    public void Hold(string name, float newIntensity)
    {
        if (ctx == null) return;
        emotion = name;
        intensity = newIntensity;
        circleWalk = false;
        ctx.SetEmotion(name, newIntensity);
    }

    void OnDestroy()
    {
        if (ctx != null) ctx.Dispose();
        ctx = null;
    }
}
