using System.Buffers;
using System.Security.Claims;
using System.Text;
using AgingPipeline.Contracts;
using AgingPipeline.Functions.Http;
using AgingPipeline.ImageFormats;
using AgingPipeline.Storage;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Polly;
using Polly.Registry;

namespace AgingPipeline.Functions.Uploads;

/// <summary>A refusal of an upload request with its HTTP status.</summary>
/// <param name="code">The error code.</param>
/// <param name="status">The HTTP status.</param>
/// <param name="message">Human explanation.</param>
public sealed class UploadRefusedException(PipelineErrorCode code, int status, string message) : Exception(message)
{
    /// <summary>The error code.</summary>
    public PipelineErrorCode Code { get; } = code;

    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>The file whose content was refused (display name), or null when the request as a whole was.</summary>
    public string? FileName { get; init; }

    /// <summary>Files committed before the refusal (they will become jobs).</summary>
    public IReadOnlyList<UploadedFile> Committed { get; init; } = [];
}

/// <summary>One file written into <c>uploads</c>.</summary>
/// <param name="JobId">The job id OnImageUploaded will compute for this blob.</param>
/// <param name="FileName">The user's file name (display only).</param>
/// <param name="Blob">Blob name inside <c>uploads</c>.</param>
/// <param name="ETag">The blob's ETag.</param>
/// <param name="Bytes">Size in bytes.</param>
public sealed record UploadedFile(string JobId, string FileName, string Blob, string ETag, long Bytes);

/// <summary>The result of one upload request.</summary>
/// <param name="BatchId">The batch the files belong to (issued by this request, or one whose token it presented).</param>
/// <param name="BatchToken">The token that adds files to the batch, when this request created it; null otherwise.</param>
/// <param name="Files">The files, in request order.</param>
public sealed record UploadBatch(string BatchId, string? BatchToken, IReadOnlyList<UploadedFile> Files);

/// <summary>Streams a <c>multipart/form-data</c> upload into <c>uploads/{batchId}/{name}</c>.</summary>
/// <remarks>
/// <para>Files are streamed, never buffered whole: each is cut into blocks (<see cref="FunctionAppOptions.UploadBlockBytes"/>)
/// that are staged as uncommitted blocks of their blob. Only when the whole request has been read and validated
/// (sizes, formats, ages, model) are the blobs committed, with their options as metadata. An uncommitted blob is
/// invisible and raises no storage event, so a refused request leaves no job behind.</para>
/// <para>A refused or aborted request also leaves no data behind: every blob it staged blocks for and did not commit
/// is deleted (<see cref="DiscardStagedAsync"/>). Storage would only discard uncommitted blocks after a week, and
/// until then each refused 60 MB file held ~48 MB (issue 15). Limits can only be checked while reading (the size of
/// a streamed file is known at its end; a later file may be refused after earlier ones were staged), so the blocks
/// are cleaned up rather than never staged: buffering whole requests instead would cost their size in memory.</para>
/// <para>Each file's first block goes through the door every entry uses (<see cref="InputCheck"/>: format, header, sizes,
/// an APNG's frames) and its byte count is checked against <see cref="InputLimits.MaxBytes"/> while it streams, so a file
/// over the limit is refused after at most the limit and one block were read, whatever its size. A refusal carries the
/// door's code and message, word for word. The name and declared content type are not trusted and not used: the
/// content decides, as it does for a blob written straight into storage. Blob names are made from a safe stem of
/// the file name plus the sniffed extension, so a name like <c>../../etc/passwd</c> becomes <c>passwd.png</c> inside
/// the batch folder. The commit is create-only: an existing blob is never overwritten (that would silently
/// replace someone's input and start a new job).</para>
/// <para>Form fields (<c>ages</c>, <c>batchId</c>, <c>batchToken</c>, <c>model</c>, <c>modelVersion</c>, <c>region</c>) must
/// come before the files, as browsers send them in order: the batch id is part of each blob's name and must be known
/// before the first block is staged.</para>
/// <para>Batches are capabilities: without <c>batchId</c> a request starts a new batch whose id and token the server
/// issues (the token is returned once, and only its hash is stored); to add to a batch a request sends both. The batch
/// record is written with the files' commit, so a refused request leaves no batch behind.</para>
/// </remarks>
public sealed partial class MultipartUploadProcessor
{
    private const int MaxFieldChars = 1024;

    private readonly StorageClients _clients;
    private readonly JobStore _jobs;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _pipeline;
    private readonly UploadRules _rules;
    private readonly InputLimits _limits;
    private readonly FunctionAppOptions _options;
    private readonly ILogger<MultipartUploadProcessor> _logger;

    /// <summary>Creates the processor.</summary>
    public MultipartUploadProcessor(
        StorageClients clients,
        JobStore jobs,
        TimeProvider time,
        ResiliencePipelineProvider<string> pipelines,
        IOptions<UploadRules> rules,
        IOptions<InputLimits> limits,
        IOptions<FunctionAppOptions> options,
        ILogger<MultipartUploadProcessor> logger)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        _clients = clients ?? throw new ArgumentNullException(nameof(clients));
        _jobs = jobs ?? throw new ArgumentNullException(nameof(jobs));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _pipeline = pipelines.GetPipeline(StorageResilience.PipelineName);
        _rules = rules?.Value ?? throw new ArgumentNullException(nameof(rules));
        _limits = limits?.Value ?? throw new ArgumentNullException(nameof(limits));
        _options = options?.Value ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Reads the request, stages every file, validates, then commits the blobs.</summary>
    /// <param name="request">The HTTP request.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The batch and its files.</returns>
    /// <exception cref="UploadRefusedException">For every refusal, with code and status.</exception>
    public async Task<UploadBatch> ProcessAsync(HttpRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var boundary = GetBoundary(request.ContentType);
        if (request.ContentLength > _options.MaxRequestBytes)
        {
            throw new UploadRefusedException(PipelineErrorCode.ImageTooLarge, StatusCodes.Status413PayloadTooLarge,
                $"The request has {request.ContentLength} bytes; at most {_options.MaxRequestBytes} are accepted per request.");
        }
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = _options.MaxRequestBytes;
        }

        var fields = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        var staged = new List<StagedFile>();
        var reservedNames = new HashSet<string>(StringComparer.Ordinal);
        BatchTarget? batch = null;
        var committed = new List<UploadedFile>();
        try
        {
            var buffer = ArrayPool<byte>.Shared.Rent(_options.UploadBlockBytes);
            try
            {
                var reader = new MultipartReader(boundary, request.Body) { HeadersLengthLimit = 16 * 1024, HeadersCountLimit = 16 };
                while (await ReadNextSectionAsync(reader, cancellationToken).ConfigureAwait(false) is { } section)
                {
                    if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                    {
                        throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, "A part of the form has no valid Content-Disposition.");
                    }
                    if (HasEmptyFileName(disposition))
                    {
                        throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, EmptyFileNameMessage);
                    }
                    if (disposition.IsFileDisposition())
                    {
                        if (staged.Count >= _options.MaxFilesPerRequest)
                        {
                            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest,
                                $"At most {_options.MaxFilesPerRequest} files are accepted per request.");
                        }
                        batch ??= await ResolveBatchAsync(fields, request.HttpContext.User, cancellationToken).ConfigureAwait(false);
                        staged.Add(await StageFileAsync(section, disposition, batch.BatchId, reservedNames, buffer, cancellationToken).ConfigureAwait(false));
                    }
                    else if (disposition.IsFormDisposition())
                    {
                        var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? string.Empty;
                        if (staged.Count > 0)
                        {
                            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest,
                                $"The form field '{Truncate(name)}' comes after a file; send the fields (ages, batchId, batchToken, model, region) before the files.");
                        }
                        var value = await ReadFieldAsync(section, name, cancellationToken).ConfigureAwait(false);
                        if (!fields.TryGetValue(name, out var values))
                        {
                            fields[name] = values = [];
                        }
                        values.Add(value);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (staged.Count == 0)
            {
                throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, "The request contains no files.");
            }
            var options = ResolveOptions(fields, batch!.BatchId);
            if (batch.NewToken is not null && !await _jobs.TryCreateBatchAsync(batch.Record, cancellationToken).ConfigureAwait(false))
            {
                throw new PipelineException(PipelineErrorCode.Internal, $"The new batch id {batch.BatchId} is taken; 130 random bits collided.");
            }
            return new UploadBatch(batch.BatchId, batch.NewToken, await CommitAsync(staged, options, committed, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception)
        {
            await DiscardStagedAsync(reservedNames.Except(committed.Select(f => f.Blob), StringComparer.Ordinal).ToList()).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Deletes the blobs a refused or aborted request staged blocks for but did not commit.</summary>
    /// <remarks>The delete is conditional on <c>If-None-Match: *</c>: a blob that holds only uncommitted blocks counts
    /// as absent for conditions and is deleted with its blocks, while a blob that exists (another request committed
    /// the same name at the same time and won the create-only commit) is left alone (412). A reserved name that got no
    /// block is simply not found (404). Runs without the request's token: an aborted request cancels that token, and its
    /// blocks must still go. A failure is logged and does not hide the refusal the caller gets.</remarks>
    private async Task DiscardStagedAsync(List<string> blobNames)
    {
        if (blobNames.Count == 0)
        {
            return;
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var blobName in blobNames)
        {
            try
            {
                var deleted = await _pipeline.ExecuteStorageAsync(
                    static async (b, ct) =>
                    {
                        try
                        {
                            await b.DeleteAsync(DeleteSnapshotsOption.None, new BlobRequestConditions { IfNoneMatch = ETag.All }, ct).ConfigureAwait(false);
                            return true;
                        }
                        catch (RequestFailedException ex) when (ex.Status is StatusCodes.Status404NotFound or StatusCodes.Status409Conflict or StatusCodes.Status412PreconditionFailed)
                        {
                            // Nothing staged there, or the name now holds a blob another request committed.
                            return false;
                        }
                    },
                    _clients.Uploads.GetBlobClient(blobName),
                    $"discard the staged blocks of {blobName}",
                    timeout.Token).ConfigureAwait(false);
                if (deleted)
                {
                    LogDiscarded(_logger, blobName);
                }
            }
            catch (Exception ex) when (ex is PipelineException or OperationCanceledException)
            {
                LogDiscardFailed(_logger, ex, blobName);
            }
        }
    }

    /// <summary>The refusal of a file part whose <c>filename</c> is empty.</summary>
    public const string EmptyFileNameMessage = "A file part has an empty file name; name every file.";

    /// <summary>True when the part names a <c>filename</c> (or <c>filename*</c>) parameter whose value is empty.</summary>
    /// <remarks>Such a part is neither a file nor a field to the parser (a file needs a non-empty name), so it used to be
    /// read as the form field of its <c>name</c> and refused with "The form field 'files' is longer than 1024
    /// characters" (issue 15), or a small one silently taken as a field. It is refused rather than given a made-up name:
    /// odd names are made safe because they still tell the user which file is which (the display name is kept), an
    /// empty one tells nothing, and the API refuses an unusable value with a reason rather than replace it by a
    /// default. A browser sends <c>filename=""</c> for a file input left empty; the message says what to do.</remarks>
    private static bool HasEmptyFileName(ContentDispositionHeaderValue disposition)
        => disposition.Parameters.Any(p =>
            (p.Name.Equals("filename", StringComparison.OrdinalIgnoreCase) || p.Name.Equals("filename*", StringComparison.OrdinalIgnoreCase))
            && StringSegment.IsNullOrEmpty(HeaderUtilities.RemoveQuotes(p.Value)))
            && StringSegment.IsNullOrEmpty(disposition.FileName)
            && StringSegment.IsNullOrEmpty(disposition.FileNameStar);

    private static string GetBoundary(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status415UnsupportedMediaType,
                "Send the files as multipart/form-data.");
        }
        var boundary = HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value;
        if (string.IsNullOrWhiteSpace(boundary) || boundary.Length > 200)
        {
            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, "The multipart boundary is missing or too long.");
        }
        return boundary;
    }

    private static async Task<MultipartSection?> ReadNextSectionAsync(MultipartReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, $"The multipart body is malformed: {ex.Message}");
        }
        catch (IOException ex) when (ex.InnerException is InvalidDataException)
        {
            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, "The multipart body is malformed.");
        }
    }

    private static async Task<string> ReadFieldAsync(MultipartSection section, string name, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(section.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 1024, leaveOpen: true);
        var chars = new char[MaxFieldChars + 1];
        var total = 0;
        int read;
        while (total < chars.Length && (read = await reader.ReadAsync(chars.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
        }
        if (total > MaxFieldChars)
        {
            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, $"The form field '{Truncate(name)}' is longer than {MaxFieldChars} characters.");
        }
        return new string(chars, 0, total);
    }

    /// <summary>The batch a request's files go to: a new one (id and token issued here, its record written when the
    /// files are committed), or an existing one the request holds the token of.</summary>
    /// <remarks>A client never chooses a batch id (issue 15): a request that names one must also present the token the
    /// batch was issued with. An unknown id and a wrong token get the same 404, so the answer tells nothing about which
    /// batches exist; so does another signed-in user's batch, token or not. A missing token is refused without looking the
    /// id up. A new batch belongs to the signed-in caller (<see cref="Callers.OwnerOf"/>), and its jobs with it.</remarks>
    private async Task<BatchTarget> ResolveBatchAsync(Dictionary<string, List<string>> fields, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var given = Single(fields, "batchId");
        var token = Single(fields, "batchToken");
        if (given is null)
        {
            if (token is not null)
            {
                throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, "A batchToken was sent without its batchId.");
            }
            var newToken = BatchIds.NewToken();
            return new BatchTarget(new BatchRecord
            {
                BatchId = BatchIds.New(),
                TokenSha256 = BatchIds.HashToken(newToken),
                Owner = Callers.OwnerOf(user),
                CreatedAt = _time.GetUtcNow(),
            }, newToken);
        }
        if (token is null)
        {
            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, MissingTokenMessage);
        }
        var record = JobIds.IsWellFormed(given) ? await _jobs.GetBatchAsync(given, cancellationToken).ConfigureAwait(false) : null;
        if (record is null || !record.Admits(token) || !Callers.MaySee(record.Owner, user))
        {
            throw Refused(PipelineErrorCode.NotFound, StatusCodes.Status404NotFound, NoSuchBatchMessage(given));
        }
        return new BatchTarget(record, NewToken: null);
    }

    /// <summary>The refusal of a batch id sent without its token.</summary>
    public const string MissingTokenMessage =
        "Batch ids are issued by the server: leave batchId out to start a new batch, or send the batchToken it was issued with to add to it.";

    /// <summary>The one refusal of an unknown batch id and of a wrong token (they must not be told apart).</summary>
    public static string NoSuchBatchMessage(string batchId) =>
        $"There is no batch {(JobIds.IsWellFormed(batchId) ? batchId : "of that id")} that this token opens.";

    /// <summary>Where a request's files go: the batch, and its token when this request creates it.</summary>
    private sealed record BatchTarget(BatchRecord Record, string? NewToken)
    {
        public string BatchId => Record.BatchId;
    }

    private UploadOptions ResolveOptions(Dictionary<string, List<string>> fields, string batchId)
    {
        IReadOnlyList<int> ages = _rules.DefaultAges.Distinct().Order().ToArray();
        if (fields.TryGetValue("ages", out var agesValues))
        {
            if (!UploadMetadata.TryParseAges(string.Join(',', agesValues), _rules.MinAge, _rules.MaxAge, _rules.MaxAgesPerImage, out ages, out var error))
            {
                throw Refused(PipelineErrorCode.InvalidAges, StatusCodes.Status400BadRequest, error!);
            }
        }
        var model = Single(fields, "model") ?? _rules.DefaultModel;
        if (!UploadMetadata.IsValidModelName(model))
        {
            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest,
                "The model name may only contain lowercase letters, digits and single dashes (at most 63 characters).");
        }
        var version = Single(fields, "modelVersion");
        if (version is not null && !UploadMetadata.IsValidModelVersion(version))
        {
            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, "The model version must be a positive whole number.");
        }
        var regionText = Single(fields, "region");
        var region = _rules.DefaultRegion;
        if (regionText is not null)
        {
            if (!AgingRegions.TryParse(regionText, out var parsed))
            {
                throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, AgingRegions.UnknownMessage(regionText));
            }
            region = parsed.Value;
        }
        return new UploadOptions(ages, model, version, batchId, OriginalName: null, region);
    }

    private static string? Single(Dictionary<string, List<string>> fields, string name)
    {
        if (!fields.TryGetValue(name, out var values))
        {
            return null;
        }
        if (values.Count > 1)
        {
            throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status400BadRequest, $"The form field '{name}' is given more than once.");
        }
        var value = values[0].Trim();
        return value.Length == 0 ? null : value;
    }

    private sealed record StagedFile(string FileName, string Blob, ImageFormat Format, IReadOnlyList<string> BlockIds, long Bytes);

    private async Task<StagedFile> StageFileAsync(
        MultipartSection section,
        ContentDispositionHeaderValue disposition,
        string batchId,
        HashSet<string> reservedNames,
        byte[] buffer,
        CancellationToken cancellationToken)
    {
        var fileName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar).Value
            ?? HeaderUtilities.RemoveQuotes(disposition.FileName).Value
            ?? "image";
        var displayName = UploadMetadata.DecodeOriginalName(UploadMetadata.EncodeOriginalName(fileName)) ?? "image";

        var blockSize = _options.UploadBlockBytes;
        var first = await FillAsync(section.Body, buffer, blockSize, cancellationToken).ConfigureAwait(false);
        ImageFormat format;
        try
        {
            format = InputCheck.InspectPrefix(buffer.AsSpan(0, first), _limits).Format;
        }
        catch (PipelineException refusal)
        {
            throw RefusedFile(refusal, displayName);
        }
        var blobName = await ReserveBlobNameAsync(batchId, fileName, format, reservedNames, cancellationToken).ConfigureAwait(false);
        var blob = _clients.Uploads.GetBlockBlobClient(blobName);
        var nonce = Guid.NewGuid().ToString("N");
        var blockIds = new List<string>();
        long total = 0;
        var length = first;
        while (length > 0)
        {
            total += length;
            if (_limits.CheckBytes(total) is { } tooLarge)
            {
                throw RefusedFile(tooLarge, displayName);
            }
            var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{nonce}-{blockIds.Count:D6}"));
            await _pipeline.ExecuteStorageAsync(
                static async (s, ct) =>
                {
                    using var content = new MemoryStream(s.buffer, 0, s.length, writable: false);
                    return (await s.blob.StageBlockAsync(s.blockId, content, cancellationToken: ct).ConfigureAwait(false)).Value;
                },
                (blob, blockId, buffer, length),
                $"stage a block of upload {blobName}",
                cancellationToken).ConfigureAwait(false);
            blockIds.Add(blockId);
            length = await FillAsync(section.Body, buffer, blockSize, cancellationToken).ConfigureAwait(false);
        }
        return new StagedFile(displayName, blobName, format, blockIds, total);
    }

    private async Task<string> ReserveBlobNameAsync(string batchId, string fileName, ImageFormat format, HashSet<string> reservedNames, CancellationToken cancellationToken)
    {
        var stem = BlobNames.SafeStem(fileName);
        var extension = BlobNames.ExtensionFor(format);
        for (var n = 1; n <= 1000; n++)
        {
            var candidate = n == 1 ? $"{batchId}/{stem}.{extension}" : $"{batchId}/{stem}-{n}.{extension}";
            if (reservedNames.Contains(candidate))
            {
                continue;
            }
            var exists = await _pipeline.ExecuteStorageAsync(
                static async (b, ct) => (await b.ExistsAsync(ct).ConfigureAwait(false)).Value,
                _clients.Uploads.GetBlobClient(candidate),
                $"check upload name {candidate}",
                cancellationToken).ConfigureAwait(false);
            if (!exists)
            {
                reservedNames.Add(candidate);
                return candidate;
            }
        }
        throw Refused(PipelineErrorCode.InvalidRequest, StatusCodes.Status409Conflict, $"Batch {batchId} already holds too many files named like '{Truncate(fileName)}'.");
    }

    private async Task<IReadOnlyList<UploadedFile>> CommitAsync(IReadOnlyList<StagedFile> staged, UploadOptions options, List<UploadedFile> committed, CancellationToken cancellationToken)
    {
        foreach (var file in staged)
        {
            var metadata = (options with { OriginalName = file.FileName }).ToMetadata();
            var blob = _clients.Uploads.GetBlockBlobClient(file.Blob);
            var info = await _pipeline.ExecuteStorageAsync(
                static async (s, ct) =>
                {
                    try
                    {
                        return (await s.blob.CommitBlockListAsync(s.file.BlockIds, new CommitBlockListOptions
                        {
                            HttpHeaders = new BlobHttpHeaders { ContentType = ImageSniffer.ContentType(s.file.Format) },
                            Metadata = s.metadata,
                            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                        }, ct).ConfigureAwait(false)).Value;
                    }
                    catch (RequestFailedException ex) when (JobStore.IsAlreadyExists(ex))
                    {
                        return null;
                    }
                },
                (blob, file, metadata),
                $"commit upload {file.Blob}",
                cancellationToken).ConfigureAwait(false);
            if (info is null)
            {
                throw new UploadRefusedException(PipelineErrorCode.InvalidRequest, StatusCodes.Status409Conflict,
                    $"'{Truncate(file.FileName)}' was uploaded to the same place by another request at the same time; upload it again.")
                {
                    Committed = committed,
                };
            }
            var etag = info.ETag.ToString();
            committed.Add(new UploadedFile(JobIds.FromBlob(BlobNames.UploadsContainer, file.Blob, etag), file.FileName, file.Blob, etag, file.Bytes));
            LogUploaded(_logger, file.Blob, file.Bytes, committed[^1].JobId);
        }
        return committed;
    }

    private static async Task<int> FillAsync(Stream stream, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        var total = 0;
        int read;
        while (total < count && (read = await stream.ReadAsync(buffer.AsMemory(total, count - total), cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
        }
        return total;
    }

    private static UploadRefusedException Refused(PipelineErrorCode code, int status, string message) => new(code, status, message);

    /// <summary>The refusal of one file's content: the door's code and message, word for word (what ingest, the runner
    /// and the CLI say for the same bytes), with the file named beside it rather than inside the message.</summary>
    private static UploadRefusedException RefusedFile(PipelineException refusal, string displayName) =>
        new(refusal.Code, Problems.StatusFor(refusal.Code), refusal.Message) { FileName = Truncate(displayName) };

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "…";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not discard the staged blocks of {Blob}; storage drops uncommitted blocks after a week")]
    private static partial void LogDiscardFailed(ILogger logger, Exception exception, string blob);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discarded the staged blocks of {Blob} (request refused or aborted)")]
    private static partial void LogDiscarded(ILogger logger, string blob);

    [LoggerMessage(Level = LogLevel.Information, Message = "Uploaded {Blob} ({Bytes} bytes) as job {JobId}")]
    private static partial void LogUploaded(ILogger logger, string blob, long bytes, string jobId);
}
