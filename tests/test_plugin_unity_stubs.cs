// Minimal stand-ins for the UnityEngine types plugin/bindings/csharp/Unity/CircumplexFace.cs
// uses, so the sample compiles and runs under Mono without Unity. They record what the
// sample does (blendshape weights, texture uploads) for test_plugin_unity.cs to check.
using System;
using System.Collections.Generic;

namespace UnityEngine
{
    public class Object { }
    public class Component : Object { }
    public class Behaviour : Component { public bool enabled = true; }
    public class MonoBehaviour : Behaviour { }

    public struct Vector2
    {
        public float x, y;
        public Vector2(float x, float y) { this.x = x; this.y = y; }
    }

    public class Mesh
    {
        public readonly List<string> blendShapeNames = new List<string>();
        public int blendShapeCount { get { return blendShapeNames.Count; } }
        public int GetBlendShapeIndex(string name) { return blendShapeNames.IndexOf(name); }
    }

    public class Texture : Object { }

    public enum TextureFormat { RGBA32 = 4 }

    public class Texture2D : Texture
    {
        public readonly int width, height;
        public byte[] data;
        public int applied;
        public Texture2D(int width, int height, TextureFormat format, bool mipChain) { this.width = width; this.height = height; }
        public void LoadRawTextureData(byte[] bytes) { data = (byte[])bytes.Clone(); }
        public void Apply() { ++applied; }
    }

    public class Material
    {
        public Texture mainTexture;
        public Vector2 mainTextureScale = new Vector2(1f, 1f);
        public Vector2 mainTextureOffset;
    }

    public class Renderer : Component { public Material material = new Material(); }

    public class SkinnedMeshRenderer : Renderer
    {
        public Mesh sharedMesh;
        public readonly Dictionary<int, float> weights = new Dictionary<int, float>();
        public void SetBlendShapeWeight(int index, float value)
        {
            if (sharedMesh == null || index < 0 || index >= sharedMesh.blendShapeCount) throw new ArgumentOutOfRangeException("index");
            weights[index] = value;
        }
        public float GetBlendShapeWeight(int index) { float w; return weights.TryGetValue(index, out w) ? w : 0f; }
    }

    public static class Time { public static float deltaTime = 1f / 60f; }

    public static class Mathf
    {
        public static float Clamp(float value, float min, float max) { return value < min ? min : value > max ? max : value; }
    }

    public static class Debug
    {
        public static readonly List<string> messages = new List<string>();
        public static void Log(object message) { messages.Add("log: " + message); }
        public static void LogWarning(object message) { messages.Add("warning: " + message); Console.Error.WriteLine(message); }
        public static void LogError(object message) { messages.Add("error: " + message); Console.Error.WriteLine(message); }
    }

    [AttributeUsage(AttributeTargets.Field)] public class TooltipAttribute : Attribute { public TooltipAttribute(string tooltip) { } }
    [AttributeUsage(AttributeTargets.Field)] public class HeaderAttribute : Attribute { public HeaderAttribute(string header) { } }
    [AttributeUsage(AttributeTargets.Field)] public class RangeAttribute : Attribute { public RangeAttribute(float min, float max) { } }
}
