using System.IO.Compression;
using System.Security.Cryptography;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.Functions.Http;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace AgingPipeline.Functions.Apis;

/// <summary>The web form: its static files at <c>/</c>, <c>GET /api/config</c>, and downloads of a job's outputs
/// (<c>GET /api/jobs/{id}/download.zip</c>, <c>GET /api/jobs/{id}/files/{name}</c>).</summary>
/// <remarks>
/// <para>The page's files are read once at start-up from <c>wwwroot</c> and only those names are served: no path is
/// ever built from a request. In Azure they reach the handler through <c>functions/WebForm/function.json</c>
/// (route <c>{file?}</c> with an empty route prefix), locally Kestrel serves them directly.</para>
/// <para>The page's content security policy allows scripts, styles and requests from this origin only; images may
/// also come from local files (<c>blob:</c> object URLs) and from the storage account's blob endpoint, whose
/// short-lived read links the job API hands out. Nothing runs inline.</para>
/// <para>Downloads stream from storage through the handler: a browser ignores <c>download</c> on a cross-origin
/// link, and a zip has to be built somewhere. Only blobs named in the job record are served.</para>
/// </remarks>
public static class WebFormApi
{
    /// <summary>Target ages the form offers as presets (those outside the configured range are not shown).</summary>
    public static IReadOnlyList<int> PresetAges { get; } = [10, 20, 40, 60, 80];

    private static readonly Dictionary<string, string> s_pageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".ico"] = "image/x-icon",
    };

    /// <summary>The formats the pipeline reads and writes; their content types and extensions come from ImageFormats and
    /// <see cref="BlobNames"/>.</summary>
    private static readonly ImageFormat[] s_imageFormats = [ImageFormat.Png, ImageFormat.Jpeg, ImageFormat.WebP];

    private static readonly HashSet<string> s_imageTypes = new(s_imageFormats.Select(ImageSniffer.ContentType), StringComparer.OrdinalIgnoreCase);

    /// <summary>Maps the page, its assets and the form's API.</summary>
    public static IEndpointRouteBuilder MapWebFormApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var environment = app.ServiceProvider.GetRequiredService<IWebHostEnvironment>();
        var policy = ContentSecurityPolicy(app.ServiceProvider.GetRequiredService<StorageClients>().BlobService.Uri, app.ServiceProvider.GetRequiredService<IOptions<AuthOptions>>().Value);
        foreach (var asset in LoadAssets(environment))
        {
            var handler = (HttpContext context) => Serve(asset, context, policy);
            app.MapMethods("/" + asset.Name, [HttpMethods.Get, HttpMethods.Head], handler).ExcludeFromDescription();
            if (asset.Name == "index.html")
            {
                app.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], handler).WithName("WebForm").ExcludeFromDescription();
            }
        }
        app.MapGet("/api/config", GetConfig).WithName("WebFormConfig");
        return app;
    }

    /// <summary>The defaults and limits the form mirrors in the browser (the server still decides).</summary>
    public static Ok<WebFormConfig> GetConfig(IOptions<UploadRules> rules, IOptions<InputLimits> limits, IOptions<FunctionAppOptions> options, IOptions<AuthOptions> authOptions)
    {
        ArgumentNullException.ThrowIfNull(authOptions);
        var auth = authOptions.Value;
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        var r = rules.Value;
        var l = limits.Value;
        return TypedResults.Ok(new WebFormConfig(
            r.DefaultAges.Distinct().Order().ToArray(),
            PresetAges.Where(a => a >= r.MinAge && a <= r.MaxAge).ToArray(),
            r.MinAge,
            r.MaxAge,
            r.MaxAgesPerImage,
            l.MaxBytes,
            l.TooLargeMessage,
            l.MaxPixels,
            l.MinDimension,
            l.MaxDimension,
            [.. s_imageFormats.Select(ImageSniffer.ContentType)],
            [".png", ".jpg", ".jpeg", ".webp"],
            options.Value.MaxFilesPerRequest,
            options.Value.MaxRequestBytes,
            r.DefaultRegion.ToWireName(),
            AgingRegions.Names,
            auth.Mode == AuthMode.EntraId
                ? new WebFormAuth(true, auth.Authority, auth.ClientId, $"api://{auth.ClientId}/{auth.Scope}")
                : new WebFormAuth(false, null, null, null)));
    }

    /// <summary>Streams a zip of a finished job's outputs and contact sheet, built while the blobs are read.</summary>
    /// <remarks>Images are stored, not deflated: PNG, JPEG and WebP are compressed already, and storing keeps the
    /// handler's CPU free. Nothing is buffered: each blob is copied from storage into its entry as it arrives.</remarks>
    public static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> DownloadZipAsync(
        string id, [AsParameters] JobApiServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (record, problem) = await GetFinishedJobAsync(id, services, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }
        var files = OutputFiles(record!);
        var modified = record!.CompletedAt ?? record.UpdatedAt;
        var zipName = BlobNames.SafeStem(record.OriginalName ?? record.InputBlob) + "-aged.zip";
        return TypedResults.Stream(async body =>
        {
            var output = new DeferredSyncWriteStream(body);
            var archive = await ZipArchive.CreateAsync(output, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, cancellationToken).ConfigureAwait(false);
            await using (archive.ConfigureAwait(false))
            {
                foreach (var (name, blob) in files)
                {
                    var download = await OpenBlobAsync(services, blob, cancellationToken).ConfigureAwait(false);
                    using (download)
                    {
                        var entry = archive.CreateEntry(name, CompressionLevel.NoCompression);
                        entry.LastWriteTime = modified;
                        var target = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
                        await using (target.ConfigureAwait(false))
                        {
                            await download.Content.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }
            }
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }, "application/zip", zipName, lastModified: modified);
    }

    /// <summary>One output (or the contact sheet) of a finished job as an attachment, with its image content type.</summary>
    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> DownloadFileAsync(
        string id, string name, [AsParameters] JobApiServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (record, problem) = await GetFinishedJobAsync(id, services, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }
        var blob = OutputFiles(record!).FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.Ordinal)).Blob;
        if (blob is null)
        {
            return Problems.Create(PipelineErrorCode.NotFound, $"Job {id} has no output with that name.");
        }
        var download = await OpenBlobAsync(services, blob, cancellationToken).ConfigureAwait(false);
        var stored = download.Details.ContentType;
        var contentType = stored is not null && s_imageTypes.Contains(stored) ? stored : ContentTypeOf(name);
        return TypedResults.Stream(download.Content, contentType, name, record!.CompletedAt);
    }

    private static async Task<(JobRecord? Record, ProblemHttpResult? Problem)> GetFinishedJobAsync(string id, JobApiServices services, CancellationToken cancellationToken)
    {
        if (!JobIds.IsWellFormed(id))
        {
            return (null, Problems.Create(PipelineErrorCode.InvalidRequest, "That is not a well-formed job id."));
        }
        var stored = await services.Jobs.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (stored is null || !Callers.MaySee(stored.Record.Owner, services.User))
        {
            return (null, Problems.Create(PipelineErrorCode.NotFound, $"There is no job {id}."));
        }
        if (stored.Record.State != JobState.Succeeded || stored.Record.Outputs.Count == 0)
        {
            return (null, Problems.Create(PipelineErrorCode.NotFound,
                $"Job {id} has no outputs to download (it is {JobStateNames.For(stored.Record.State)})."));
        }
        return (stored.Record, null);
    }

    /// <summary>The job's output blobs with the file names they are offered under (the blob's last segment, which
    /// <see cref="BlobNames"/> made safe). Blobs outside the job's own folder are ignored.</summary>
    private static (string Name, string Blob)[] OutputFiles(JobRecord record)
    {
        var folder = record.JobId + "/";
        var blobs = record.Outputs.OrderBy(o => o.Age).Select(o => o.Blob).ToList();
        if (!string.IsNullOrEmpty(record.ContactSheetBlob))
        {
            blobs.Add(record.ContactSheetBlob);
        }
        return blobs
            .Where(b => b.StartsWith(folder, StringComparison.Ordinal) && b.Length > folder.Length && !b.AsSpan(folder.Length).Contains('/'))
            .Select(b => (Name: b[folder.Length..], Blob: b))
            .DistinctBy(f => f.Name, StringComparer.Ordinal)
            .ToArray();
    }

    private static async Task<BlobDownloadStreamingResult> OpenBlobAsync(JobApiServices services, string blob, CancellationToken cancellationToken)
    {
        var result = await services.StoragePipeline.ExecuteStorageAsync(
            static async (b, ct) =>
            {
                try
                {
                    return (await b.DownloadStreamingAsync(cancellationToken: ct).ConfigureAwait(false)).Value;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    return null;
                }
            },
            services.Clients.Aged.GetBlobClient(blob),
            $"read output {blob}",
            cancellationToken).ConfigureAwait(false);
        return result ?? throw new PipelineException(PipelineErrorCode.InputGone, "An output of this job is no longer in storage.");
    }

    /// <summary>The content type of an output from its name, whose extension <see cref="BlobNames.ExtensionFor"/> chose.</summary>
    private static string ContentTypeOf(string name)
    {
        var extension = Path.GetExtension(name).TrimStart('.');
        return s_imageFormats.Where(f => string.Equals(BlobNames.ExtensionFor(f), extension, StringComparison.OrdinalIgnoreCase))
            .Select(ImageSniffer.ContentType)
            .FirstOrDefault("application/octet-stream");
    }

    /// <summary>Holds what <see cref="ZipArchive"/> writes synchronously (local headers, data descriptors, the
    /// central directory: a few hundred bytes each) and sends it with the next asynchronous write or flush.</summary>
    /// <remarks>Kestrel refuses synchronous writes, and even the asynchronous zip API of .NET 10 writes an entry's
    /// data descriptor synchronously when the entry stream is disposed. Entry data arrives through
    /// <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> and is never held here.</remarks>
    private sealed class DeferredSyncWriteStream(Stream inner) : Stream
    {
        private readonly MemoryStream _pending = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => _pending.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => _pending.Write(buffer);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await SendPendingAsync(cancellationToken).ConfigureAwait(false);
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override void Flush()
        {
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            await SendPendingAsync(cancellationToken).ConfigureAwait(false);
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private async ValueTask SendPendingAsync(CancellationToken cancellationToken)
        {
            if (_pending.Length > 0)
            {
                await inner.WriteAsync(_pending.GetBuffer().AsMemory(0, (int)_pending.Length), cancellationToken).ConfigureAwait(false);
                _pending.SetLength(0);
            }
        }
    }

    private sealed record PageAsset(string Name, byte[] Content, string ContentType, EntityTagHeaderValue ETag, DateTimeOffset LastModified);

    private static FileContentHttpResult Serve(PageAsset asset, HttpContext context, string policy)
    {
        var headers = context.Response.Headers;
        headers.CacheControl = "no-cache";
        if (asset.ContentType.StartsWith("text/html", StringComparison.Ordinal))
        {
            headers.ContentSecurityPolicy = policy;
        }
        return TypedResults.Bytes(asset.Content, asset.ContentType, lastModified: asset.LastModified, entityTag: asset.ETag);
    }

    /// <summary>Reads the page's files (top level of the web root, known types only) into memory.</summary>
    /// <remarks>The web root is the content root's <c>wwwroot</c>, or the one next to the application when the
    /// process was started from another directory (<c>dotnet path/to/AgingPipeline.Functions.dll</c>).</remarks>
    private static List<PageAsset> LoadAssets(IWebHostEnvironment environment)
    {
        IFileProvider? provider = null;
        if (environment.WebRootFileProvider.GetFileInfo("index.html").Exists)
        {
            provider = environment.WebRootFileProvider;
        }
        else if (File.Exists(Path.Combine(AppContext.BaseDirectory, "wwwroot", "index.html")))
        {
            provider = new PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "wwwroot"));
        }
        if (provider is null)
        {
            return [];
        }
        var assets = new List<PageAsset>();
        foreach (var file in provider.GetDirectoryContents(string.Empty))
        {
            if (file.IsDirectory || !s_pageTypes.TryGetValue(Path.GetExtension(file.Name), out var contentType))
            {
                continue;
            }
            using var stream = file.CreateReadStream();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var hash = Convert.ToHexString(SHA256.HashData(content), 0, 12).ToLowerInvariant();
            assets.Add(new PageAsset(file.Name, content, contentType, new EntityTagHeaderValue($"\"{hash}\""), file.LastModified));
        }
        return assets;
    }

    private static string ContentSecurityPolicy(Uri blobService, AuthOptions auth)
    {
        var storage = blobService.GetLeftPart(UriPartial.Authority);
        // Signing in redeems the authorization code at the Entra token endpoint from the page (a SPA redirect URI).
        var signIn = auth.Mode == AuthMode.EntraId ? " " + new Uri(auth.Instance).GetLeftPart(UriPartial.Authority) : string.Empty;
        return $"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: {storage}; connect-src 'self'{signIn}; "
            + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
    }
}

/// <summary>What the web form needs to know before the first upload.</summary>
/// <param name="DefaultAges">Ages selected when the page opens (the server's defaults).</param>
/// <param name="PresetAges">Ages offered as one-click choices.</param>
/// <param name="MinAge">Smallest accepted age.</param>
/// <param name="MaxAge">Largest accepted age.</param>
/// <param name="MaxAgesPerImage">Most ages per image.</param>
/// <param name="MaxBytes">Largest accepted file in bytes.</param>
/// <param name="TooLargeMessage">The server's refusal text for a file over <paramref name="MaxBytes"/>: the form
/// refuses such a file before sending it, with the words every entry uses.</param>
/// <param name="MaxPixels">Most pixels per image.</param>
/// <param name="MinDimension">Shortest accepted side in pixels.</param>
/// <param name="MaxDimension">Longest accepted side in pixels.</param>
/// <param name="AcceptedTypes">Accepted content types (the server judges by content, not by type or name).</param>
/// <param name="AcceptedExtensions">File name extensions of the accepted types.</param>
/// <param name="MaxFilesPerRequest">Most files in one upload request.</param>
/// <param name="MaxRequestBytes">Largest upload request in bytes.</param>
/// <param name="DefaultRegion">The region selected when the page opens (<c>auto</c>, <c>faces</c> or <c>whole</c>).</param>
/// <param name="Regions">The region names accepted.</param>
/// <param name="Auth">Whether the form must sign in, and where.</param>
public sealed record WebFormConfig(
    IReadOnlyList<int> DefaultAges,
    IReadOnlyList<int> PresetAges,
    int MinAge,
    int MaxAge,
    int MaxAgesPerImage,
    long MaxBytes,
    string TooLargeMessage,
    long MaxPixels,
    int MinDimension,
    int MaxDimension,
    IReadOnlyList<string> AcceptedTypes,
    IReadOnlyList<string> AcceptedExtensions,
    int MaxFilesPerRequest,
    long MaxRequestBytes,
    string DefaultRegion,
    IReadOnlyList<string> Regions,
    WebFormAuth Auth);

/// <summary>How the web form signs in (authorization code with PKCE against Microsoft Entra ID, as a single-page app).</summary>
/// <param name="Required">True when the API serves signed-in callers only.</param>
/// <param name="Authority">The tenant's v2.0 authority, e.g. <c>https://login.microsoftonline.com/{tenant}/v2.0</c>.</param>
/// <param name="ClientId">The app registration's application id.</param>
/// <param name="Scope">The scope to ask for, e.g. <c>api://{clientId}/access_as_user</c>.</param>
public sealed record WebFormAuth(bool Required, string? Authority, string? ClientId, string? Scope);
