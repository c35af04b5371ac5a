using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>Process-wide libvips configuration, applied once before the first image is touched.</summary>
/// <remarks>libvips ships loaders for dozens of formats (TIFF, SVG, HEIF, GIF, MAT, CSV, ...), each a parser exposed
/// to untrusted bytes. Content sniffing already refuses them, but as defence in depth every loader and saver is
/// blocked here except PNG, JPEG and WebP, together with every operation libvips itself marks untrusted; a blocked
/// operation fails even if sniffing were bypassed. libvips warnings (which name the damage in broken files) are routed
/// to <see cref="ILogger"/> instead of stderr. The settings are global to the process, so the first call wins and
/// later calls are no-ops.</remarks>
public static partial class VipsRuntime
{
    private static readonly object s_gate = new();
    private static Log.LogDelegate? s_logHandler;
    private static ILogger s_logger = NullLogger.Instance;
    private static bool s_initialized;

    /// <summary>The loaders left unblocked (libvips class names).</summary>
    public static IReadOnlyList<string> AllowedLoaders { get; } = ["VipsForeignLoadPng", "VipsForeignLoadJpeg", "VipsForeignLoadWebp"];

    /// <summary>The savers left unblocked (libvips class names).</summary>
    public static IReadOnlyList<string> AllowedSavers { get; } = ["VipsForeignSavePng", "VipsForeignSaveSpng", "VipsForeignSaveJpeg", "VipsForeignSaveWebp"];

    /// <summary>True once <see cref="Initialize"/> has run.</summary>
    public static bool IsInitialized
    {
        get
        {
            lock (s_gate)
            {
                return s_initialized;
            }
        }
    }

    /// <summary>Applies the block lists, cache limits and concurrency, once per process.</summary>
    /// <param name="options">Validated imaging options.</param>
    /// <param name="loggerFactory">Where libvips warnings go; null discards them.</param>
    /// <exception cref="InvalidOperationException">libvips could not be loaded or is older than 8.13.</exception>
    public static void Initialize(ImagingOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (s_gate)
        {
            if (s_initialized)
            {
                return;
            }
            if (!ModuleInitializer.VipsInitialized)
            {
                throw new InvalidOperationException(
                    "libvips could not be initialised: " + (ModuleInitializer.Exception?.Message ?? "unknown reason"),
                    ModuleInitializer.Exception);
            }
            if (!NetVips.NetVips.AtLeastLibvips(8, 13))
            {
                throw new InvalidOperationException(
                    $"libvips {NetVips.NetVips.Version(0)}.{NetVips.NetVips.Version(1)} is too old; 8.13 or newer is needed to block loaders.");
            }

            s_logger = loggerFactory?.CreateLogger("AgingPipeline.Imaging.libvips") ?? NullLogger.Instance;
            s_logHandler = OnLog;
            Log.SetLogHandler("VIPS", Enums.LogLevelFlags.AllButFatal, s_logHandler);

            NetVips.NetVips.BlockUntrusted = true;
            Operation.Block("VipsForeignLoad", true);
            foreach (var loader in AllowedLoaders)
            {
                Operation.Block(loader, false);
            }
            Operation.Block("VipsForeignSave", true);
            foreach (var saver in AllowedSavers)
            {
                Operation.Block(saver, false);
            }

            Cache.Max = options.VipsCacheMaxOperations;
            Cache.MaxMem = (ulong)options.VipsCacheMaxMemoryBytes;
            Cache.MaxFiles = 0;
            if (options.VipsConcurrency > 0)
            {
                NetVips.NetVips.Concurrency = options.VipsConcurrency;
            }
            s_initialized = true;
        }
    }

    private static void OnLog(string? domain, Enums.LogLevelFlags level, string? message)
    {
        // Warnings describe damage in untrusted inputs (and are repeated as errors when failOn trips), so they are
        // diagnostics, not incidents.
        var logLevel = (level & Enums.LogLevelFlags.LevelMask) switch
        {
            Enums.LogLevelFlags.Error or Enums.LogLevelFlags.Critical => LogLevel.Error,
            Enums.LogLevelFlags.Warning => LogLevel.Debug,
            _ => LogLevel.Trace,
        };
        LogLibvips(s_logger, logLevel, domain, message);
    }

    [LoggerMessage(Message = "libvips {Domain}: {Message}")]
    private static partial void LogLibvips(ILogger logger, LogLevel level, string? domain, string? message);
}
