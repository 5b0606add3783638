// Circumplex.cs — C# bindings for libcircumplex (the C ABI in circumplex.h), for Unity
// (Mono and IL2CPP) and .NET/Mono hosts.
//
// Native: the P/Invoke declarations, one per C function, with the C names.
// Context: an IDisposable owner of one cpx_context; failing calls throw CircumplexException
// (Result + the library's message). The output readers fill arrays you keep, so a frame
// loop makes no garbage.
//
//   using (var ctx = new Circumplex.Context(new Circumplex.CreateOptions { ModelPath = "…" })) {
//       ctx.PlayCircleWalk(0f, 0f, 0.8f, 4f);
//       var arkit = new float[Circumplex.Native.ArkitCount];
//       for (int i = 0; i < 240; ++i) { ctx.Update(1f / 60f); ctx.GetOutputs(Circumplex.OutputKind.ARKit, arkit); }
//   }
//
// Unity: put libcircumplex.so (and its LibTorch/OpenCV/liblo dependencies) under
// Assets/Plugins/ for Linux players; DllImport("circumplex") finds it. Threads: as in
// circumplex.h — control calls from any one thread at a time (usually the main thread),
// GetOutputs/GetState from any thread, frame calls from any thread.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Circumplex
{
    /// <summary>cpx_result.</summary>
    public enum Result : int
    {
        Ok = 0,
        InvalidHandle = 1,
        NullPointer = 2,
        InvalidArgument = 3,
        UnknownName = 4,
        BufferTooSmall = 5,
        NoFrame = 6,
        NotSupported = 7,
        Model = 8,
        BadData = 9,
        Io = 10,
        InvalidState = 11,
        Limit = 12,
        Timeout = 13,
        OutOfMemory = 14,
        Internal = 15,
    }

    /// <summary>cpx_output_kind.</summary>
    public enum OutputKind : int { AU = 0, ARKit = 1, VRM = 2, Affect = 3 }

    /// <summary>cpx_between_style.</summary>
    public enum BetweenStyle : int { Straight = 0, Sphere = 1 }

    /// <summary>cpx_osc_mode.</summary>
    public enum OscMode : int { VRChat = 0, Generic = 1, VRChatBudget = 2, Vmc = 3 }
    /// <summary>cpx_vmc_names (API 2): the blendshape names of OscMode.Vmc.</summary>
    public enum VmcNames : int { Vrm0 = 0, Vrm1 = 1, Arkit = 2 }

    [StructLayout(LayoutKind.Sequential)]
    public struct Affect
    {
        public float V, A, Z;
        public override string ToString() { return string.Format("({0:F3}, {1:F3}, {2:F3})", V, A, Z); }
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CreateInfo
    {
        public uint StructSize;
        public uint Flags;
        public IntPtr ModelPath;  // UTF-8, owned by the caller during cpx_create
        public int FrameSize;
        public int Threads;
        public float HalfLife;
        public uint Reserved;
        public ulong IdentitySeed;
        public IntPtr Device;     // API 4: UTF-8 "cpu", "cuda" or "cuda:N"; IntPtr.Zero: cpu
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ContextInfo
    {
        public uint StructSize;
        public int Dimensions;
        public int FrameWidth;
        public int FrameHeight;
        public int ModelImageSize;
        public int RigOnly;
        public IntPtr ModelPath;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct State
    {
        public uint StructSize;
        public int NearestEmotion;
        public ulong UpdateCount;
        public double Time;
        public Affect Position;
        public Affect Target;
        public int Playing;
        public float Intensity;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Frame
    {
        public uint StructSize;
        public int Width;
        public int Height;
        public int Stride;
        public ulong Sequence;
        public Affect Affect;
        public IntPtr Pixels;  // borrowed frames only
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct OscInfo
    {
        public uint StructSize;
        public OscMode Mode;
        public IntPtr Host;    // UTF-8
        public int Port;
        public uint Outputs;   // 1 << (int)OutputKind, or-ed
        public IntPtr Prefix;  // UTF-8 or zero
        public VmcNames VmcNames;  // API 2
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct OscStats
    {
        public uint StructSize;
        public uint Open;
        public ulong UpdatesSent;
        public ulong MessagesSent;
        public ulong SendErrors;
    }

    /// <summary>The C functions, one to one. Strings in are UTF-8 byte arrays ending in 0
    /// (see Utf8.Bytes); strings out are pointers (see Utf8.String).</summary>
    public static class Native
    {
        public const string Library = "circumplex";
        public const uint ApiVersion = 7;  // CPX_API_VERSION these bindings follow
        public const uint CreateRigOnly = 0x1;
        public const uint CreateKeepDetail = 0x2;  // API 7
        public const int AuCount = 17, ArkitCount = 52, VrmCount = 18, AffectCount = 3, MaxOutputs = 52;
        public const int MaxBorrows = 8;

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern uint cpx_version();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr cpx_version_string();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern uint cpx_api_version();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr cpx_result_name(Result result);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr cpx_last_error(IntPtr ctx);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr cpx_identity_notes(IntPtr ctx);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_output_count(OutputKind kind, out int count);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_output_name(OutputKind kind, int index, out IntPtr name);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_output_index(OutputKind kind, byte[] name, out int index);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_emotion_count(out int count);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_emotion_name(int index, out IntPtr name);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_create_info_init(out CreateInfo info);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_create(ref CreateInfo info, out IntPtr ctx);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern void cpx_destroy(IntPtr ctx);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_get_info(IntPtr ctx, ref ContextInfo info);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_set_target(IntPtr ctx, float v, float a, float z);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_set_emotion(IntPtr ctx, byte[] name, float intensity);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_set_half_life(IntPtr ctx, float seconds);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_update(IntPtr ctx, float dt, out Affect point);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_set_identity_seed(IntPtr ctx, ulong seed);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_save_identity(IntPtr ctx, byte[] path);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_load_identity(IntPtr ctx, byte[] path);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_set_identity_image(IntPtr ctx, byte[] pixels, int width, int height, int channels, int strideBytes);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_play_circle_walk(IntPtr ctx, float theta, float phi, float radius, float period);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_play_emotion_axis(IntPtr ctx, byte[] emotion, float intensity, float duration, int loop);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_play_between(IntPtr ctx, byte[] from, byte[] to, float intensity, float duration, BetweenStyle style, int loop);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_play_csv(IntPtr ctx, byte[] csvPath, int loop);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_stop_path(IntPtr ctx);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_get_outputs(IntPtr ctx, OutputKind kind, [Out] float[] values, int capacity);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_get_state(IntPtr ctx, ref State state);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_nearest_emotion(IntPtr ctx, out IntPtr name);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_poll_frame(IntPtr ctx, ulong sinceSequence, out int isNew, out ulong latestSequence);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_wait_frame(IntPtr ctx, float timeoutSeconds);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_copy_frame(IntPtr ctx, [Out] byte[] dst, UIntPtr dstSize, ref Frame frame);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_copy_frame(IntPtr ctx, IntPtr dst, UIntPtr dstSize, ref Frame frame);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_borrow_frame(IntPtr ctx, ref Frame frame);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_release_frame(IntPtr ctx, IntPtr pixels);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_export_path_csv(IntPtr ctx, byte[] csvPath, float fps);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_export_path_video(IntPtr ctx, byte[] outDir, float fps, int size, out ulong frames);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_record_begin(IntPtr ctx, uint maxSamples);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_record_end(IntPtr ctx, byte[] csvPath, out ulong samples, out ulong dropped);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_osc_open(IntPtr ctx, ref OscInfo info);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_osc_close(IntPtr ctx);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_osc_get_stats(IntPtr ctx, ref OscStats stats);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)] public static extern Result cpx_osc_flush(IntPtr ctx, float timeoutSeconds);
    }

    /// <summary>UTF-8 both ways, without Marshal.PtrToStringUTF8 (missing on older Unity profiles).</summary>
    public static class Utf8
    {
        /// <summary>The string as UTF-8 bytes ending in 0; null stays null (a NULL pointer).</summary>
        public static byte[] Bytes(string s)
        {
            if (s == null) return null;
            int n = Encoding.UTF8.GetByteCount(s);
            var bytes = new byte[n + 1];
            Encoding.UTF8.GetBytes(s, 0, s.Length, bytes, 0);
            return bytes;
        }

        /// <summary>A NUL-terminated UTF-8 string owned by the library.</summary>
        public static string String(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) ++n;
            var bytes = new byte[n];
            Marshal.Copy(p, bytes, 0, n);
            return Encoding.UTF8.GetString(bytes);
        }
    }

    /// <summary>A failed call: the result code and the library's message.</summary>
    public class CircumplexException : Exception
    {
        public readonly Result Result;
        public CircumplexException(Result result, string message) : base(Utf8.String(Native.cpx_result_name(result)) + ": " + message)
        {
            Result = result;
        }

        internal static void Check(Result r, IntPtr ctx)
        {
            if (r != Result.Ok) throw new CircumplexException(r, Utf8.String(Native.cpx_last_error(ctx)));
        }
    }

    /// <summary>What cpx_create_info holds, as options.</summary>
    public class CreateOptions
    {
        public string ModelPath;        // null: the shipped default package
        public bool RigOnly;            // no generator, no frames
        public bool KeepDetail;         // an image identity keeps the image's own detail (CPX_CREATE_KEEP_DETAIL)
        public int FrameSize;           // 0: the model's size
        public int Threads;             // 0: 2
        public float HalfLife = 0.12f;  // cursor smoothing, seconds
        public ulong IdentitySeed = 1;
        public string Device;           // null: "cpu"; "cuda" or "cuda:N" with a CUDA build of the library
    }

    /// <summary>Static tables: output and emotion names.</summary>
    public static class Names
    {
        public static string[] Outputs(OutputKind kind)
        {
            int n;
            CircumplexException.Check(Native.cpx_output_count(kind, out n), IntPtr.Zero);
            var names = new string[n];
            for (int i = 0; i < n; ++i)
            {
                IntPtr p;
                CircumplexException.Check(Native.cpx_output_name(kind, i, out p), IntPtr.Zero);
                names[i] = Utf8.String(p);
            }
            return names;
        }

        /// <summary>Index of a named output, or -1.</summary>
        public static int OutputIndex(OutputKind kind, string name)
        {
            int i;
            return Native.cpx_output_index(kind, Utf8.Bytes(name ?? ""), out i) == Result.Ok ? i : -1;
        }

        public static string[] Emotions()
        {
            int n;
            CircumplexException.Check(Native.cpx_emotion_count(out n), IntPtr.Zero);
            var names = new string[n];
            for (int i = 0; i < n; ++i)
            {
                IntPtr p;
                CircumplexException.Check(Native.cpx_emotion_name(i, out p), IntPtr.Zero);
                names[i] = Utf8.String(p);
            }
            return names;
        }
    }

    /// <summary>One circumplex engine instance. Dispose it when done (the finalizer does
    /// it otherwise).</summary>
    public sealed class Context : IDisposable
    {
        IntPtr ctx;

        public Context() : this(new CreateOptions()) { }

        public Context(CreateOptions options)
        {
            if (options == null) options = new CreateOptions();
            if (Native.cpx_api_version() < Native.ApiVersion)
                throw new CircumplexException(Result.NotSupported, "libcircumplex is older than these bindings");
            CreateInfo info;
            CircumplexException.Check(Native.cpx_create_info_init(out info), IntPtr.Zero);  // API 3's fields
            info.StructSize = (uint)Marshal.SizeOf(typeof(CreateInfo));
            info.Flags = (options.RigOnly ? Native.CreateRigOnly : 0u) | (options.KeepDetail ? Native.CreateKeepDetail : 0u);
            info.FrameSize = options.FrameSize;
            info.Threads = options.Threads;
            info.HalfLife = options.HalfLife;
            info.IdentitySeed = options.IdentitySeed;
            byte[] path = Utf8.Bytes(options.ModelPath), device = Utf8.Bytes(options.Device);
            GCHandle pin = path != null ? GCHandle.Alloc(path, GCHandleType.Pinned) : default(GCHandle);
            GCHandle pinDevice = device != null ? GCHandle.Alloc(device, GCHandleType.Pinned) : default(GCHandle);
            try
            {
                info.ModelPath = path != null ? pin.AddrOfPinnedObject() : IntPtr.Zero;
                info.Device = device != null ? pinDevice.AddrOfPinnedObject() : IntPtr.Zero;
                CircumplexException.Check(Native.cpx_create(ref info, out ctx), IntPtr.Zero);
            }
            finally
            {
                if (device != null) pinDevice.Free();
                if (path != null) pin.Free();
            }
        }

        ~Context() { Destroy(); }

        public void Dispose()
        {
            Destroy();
            GC.SuppressFinalize(this);
        }

        void Destroy()
        {
            IntPtr c = ctx;
            ctx = IntPtr.Zero;
            Native.cpx_destroy(c);  // NULL is fine
        }

        /// <summary>The C handle, for Native calls this class does not wrap.</summary>
        public IntPtr Handle { get { return ctx; } }

        void Check(Result r) { CircumplexException.Check(r, ctx); }

        public ContextInfo Info
        {
            get
            {
                var i = new ContextInfo { StructSize = (uint)Marshal.SizeOf(typeof(ContextInfo)) };
                Check(Native.cpx_get_info(ctx, ref i));
                return i;
            }
        }

        // ---- control ----
        public void SetTarget(float v, float a, float z = 0f) { Check(Native.cpx_set_target(ctx, v, a, z)); }
        public void SetEmotion(string name, float intensity) { Check(Native.cpx_set_emotion(ctx, Utf8.Bytes(name), intensity)); }
        public void SetHalfLife(float seconds) { Check(Native.cpx_set_half_life(ctx, seconds)); }
        /// <summary>Advances dt seconds; returns the cursor. No garbage.</summary>
        public Affect Update(float dt)
        {
            Affect p;
            Check(Native.cpx_update(ctx, dt, out p));
            return p;
        }
        public void SetIdentitySeed(ulong seed) { Check(Native.cpx_set_identity_seed(ctx, seed)); }
        /// <summary>Saves the current identity (a visitor's photo, encoded once) for this model package.</summary>
        public void SaveIdentity(string path) { Check(Native.cpx_save_identity(ctx, Utf8.Bytes(path))); }
        /// <summary>Sets an identity saved by SaveIdentity (or `circumplex render --save-identity`).</summary>
        public void LoadIdentity(string path) { Check(Native.cpx_load_identity(ctx, Utf8.Bytes(path))); }
        /// <summary>The identity from a photo; returns what was chosen on your behalf (several
        /// faces, a face turned upright, eyes not found), one sentence each.</summary>
        public string[] SetIdentityImage(byte[] pixels, int width, int height, int channels, int strideBytes = 0)
        {
            Check(Native.cpx_set_identity_image(ctx, pixels, width, height, channels, strideBytes));
            string notes = Utf8.String(Native.cpx_identity_notes(ctx));
            return notes.Length == 0 ? new string[0] : notes.Split('\n');
        }
        public void PlayCircleWalk(float theta, float phi, float radius, float period)
        {
            Check(Native.cpx_play_circle_walk(ctx, theta, phi, radius, period));
        }
        public void PlayEmotionAxis(string emotion, float intensity, float duration, bool loop = false)
        {
            Check(Native.cpx_play_emotion_axis(ctx, Utf8.Bytes(emotion), intensity, duration, loop ? 1 : 0));
        }
        public void PlayBetween(string from, string to, float intensity, float duration, BetweenStyle style = BetweenStyle.Sphere, bool loop = false)
        {
            Check(Native.cpx_play_between(ctx, Utf8.Bytes(from), Utf8.Bytes(to), intensity, duration, style, loop ? 1 : 0));
        }
        public void PlayCsv(string path, bool loop = false) { Check(Native.cpx_play_csv(ctx, Utf8.Bytes(path), loop ? 1 : 0)); }
        public void StopPath() { Check(Native.cpx_stop_path(ctx)); }

        // ---- readers (any thread, no garbage) ----
        /// <summary>Fills values (length ≥ the kind's count) with the current outputs.</summary>
        public void GetOutputs(OutputKind kind, float[] values)
        {
            Check(Native.cpx_get_outputs(ctx, kind, values, values == null ? 0 : values.Length));
        }
        public State GetState()
        {
            var s = new State { StructSize = (uint)Marshal.SizeOf(typeof(State)) };
            Check(Native.cpx_get_state(ctx, ref s));
            return s;
        }
        public string NearestEmotion()
        {
            IntPtr p;
            Check(Native.cpx_nearest_emotion(ctx, out p));
            return Utf8.String(p);
        }

        // ---- frames (any thread) ----
        /// <summary>The newest frame's sequence when newer than since, else 0.</summary>
        public ulong PollFrame(ulong since)
        {
            int isNew;
            ulong latest;
            Check(Native.cpx_poll_frame(ctx, since, out isNew, out latest));
            return isNew != 0 ? latest : 0;
        }
        /// <summary>Waits until the face asked for by the latest Update is finished (API 6);
        /// CircumplexException with Result.Timeout after timeoutSeconds. Not for the frame loop.</summary>
        public void WaitFrame(float timeoutSeconds = 10f) { Check(Native.cpx_wait_frame(ctx, timeoutSeconds)); }
        /// <summary>Copies the newest frame (RGBA8, top row first) into rgba; false before the first.</summary>
        public bool CopyFrame(byte[] rgba, out Frame frame)
        {
            frame = new Frame { StructSize = (uint)Marshal.SizeOf(typeof(Frame)) };
            Result r = Native.cpx_copy_frame(ctx, rgba, (UIntPtr)(rgba == null ? 0 : rgba.Length), ref frame);
            if (r == Result.NoFrame) return false;
            Check(r);
            return true;
        }
        /// <summary>Borrows the newest frame: frame.Pixels stays valid until ReleaseFrame. False before the first.</summary>
        public bool BorrowFrame(out Frame frame)
        {
            frame = new Frame { StructSize = (uint)Marshal.SizeOf(typeof(Frame)) };
            Result r = Native.cpx_borrow_frame(ctx, ref frame);
            if (r == Result.NoFrame) return false;
            Check(r);
            return true;
        }
        public void ReleaseFrame(Frame frame) { Check(Native.cpx_release_frame(ctx, frame.Pixels)); }

        // ---- recording ----
        public void ExportPathCsv(string path, float fps) { Check(Native.cpx_export_path_csv(ctx, Utf8.Bytes(path), fps)); }
        public ulong ExportPathVideo(string dir, float fps, int size = 0)
        {
            ulong frames;
            Check(Native.cpx_export_path_video(ctx, Utf8.Bytes(dir), fps, size, out frames));
            return frames;
        }
        public void RecordBegin(uint maxSamples) { Check(Native.cpx_record_begin(ctx, maxSamples)); }
        /// <summary>Ends the live recording, written to csvPath (null: discarded); returns samples kept.</summary>
        public ulong RecordEnd(string csvPath)
        {
            ulong kept, dropped;
            Check(Native.cpx_record_end(ctx, Utf8.Bytes(csvPath), out kept, out dropped));
            return kept;
        }

        // ---- OSC ----
        /// <summary>Starts the OSC sink (cpx_osc_open): VRChat/Generic send `outputs` one message per
        /// value; VRChatBudget sends the five synced Circumplex* parameters; Vmc sends VMC bundles
        /// (port 39539 by convention) with the names of `vmcNames`.</summary>
        public void OscOpen(string host, int port, OscMode mode, uint outputs, string prefix = null, VmcNames vmcNames = VmcNames.Vrm0)
        {
            byte[] h = Utf8.Bytes(host), p = Utf8.Bytes(prefix);
            GCHandle hp = h != null ? GCHandle.Alloc(h, GCHandleType.Pinned) : default(GCHandle);
            GCHandle pp = p != null ? GCHandle.Alloc(p, GCHandleType.Pinned) : default(GCHandle);
            try
            {
                var info = new OscInfo
                {
                    StructSize = (uint)Marshal.SizeOf(typeof(OscInfo)),
                    Mode = mode,
                    Host = h != null ? hp.AddrOfPinnedObject() : IntPtr.Zero,
                    Port = port,
                    Outputs = outputs,
                    Prefix = p != null ? pp.AddrOfPinnedObject() : IntPtr.Zero,
                    VmcNames = vmcNames,
                };
                Check(Native.cpx_osc_open(ctx, ref info));
            }
            finally
            {
                if (h != null) hp.Free();
                if (p != null) pp.Free();
            }
        }
        public static uint OutputBit(OutputKind kind) { return 1u << (int)kind; }
        public void OscClose() { Check(Native.cpx_osc_close(ctx)); }
        public void OscFlush(float timeoutSeconds) { Check(Native.cpx_osc_flush(ctx, timeoutSeconds)); }
        public OscStats OscGetStats()
        {
            var s = new OscStats { StructSize = (uint)Marshal.SizeOf(typeof(OscStats)) };
            Check(Native.cpx_osc_get_stats(ctx, ref s));
            return s;
        }
    }
}
