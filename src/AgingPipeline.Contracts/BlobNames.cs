namespace AgingPipeline.Contracts;

/// <summary>Every container, queue and blob name of the pipeline, in one place.</summary>
public static class BlobNames
{
    /// <summary>Where uploads are written; every new blob here is an upload.</summary>
    public const string UploadsContainer = "uploads";
    /// <summary>Where the aged images and contact sheets are written.</summary>
    public const string AgedContainer = "aged";
    /// <summary>Where the job and batch records live.</summary>
    public const string JobsContainer = "jobs";
    /// <summary>Where model versions are published for the runners to sync.</summary>
    public const string ModelsContainer = "models";
    /// <summary>The queue of jobs for the runners.</summary>
    public const string JobsQueue = "aging-jobs";
    /// <summary>Where job messages go after too many failed deliveries.</summary>
    public const string PoisonQueue = "aging-jobs-poison";

    /// <summary><c>{jobId}.json</c> in the jobs container.</summary>
    public static string JobRecord(string jobId) => $"{jobId}.json";

    /// <summary><c>batches/{batchId}/{jobId}</c> in the jobs container: an empty marker blob listing the batch's jobs.</summary>
    public static string BatchMember(string batchId, string jobId) => $"batches/{batchId}/{jobId}";

    /// <summary>Prefix of a batch's markers.</summary>
    public static string BatchPrefix(string batchId) => $"batches/{batchId}/";

    /// <summary>The record of a batch the upload API created, in the <c>jobs</c> container (beside, not inside, its
    /// markers' folder).</summary>
    public static string BatchRecord(string batchId) => $"batches/{batchId}.json";

    /// <summary><c>{jobId}/{stem}.age{N}.{ext}</c> in the aged container.</summary>
    public static string AgedOutput(string jobId, string inputBlob, int age, string extension) =>
        $"{jobId}/{AgedFileName(inputBlob, age, extension)}";

    /// <summary><c>{jobId}/{stem}.contact.{ext}</c> in the aged container.</summary>
    public static string ContactSheet(string jobId, string inputBlob, string extension) =>
        $"{jobId}/{ContactSheetFileName(inputBlob, extension)}";

    /// <summary><c>{stem}.age{N}.{ext}</c>: the file name of an aged output, without the job folder (the CLI writes
    /// the same names into local folders).</summary>
    public static string AgedFileName(string inputName, int age, string extension) =>
        $"{SafeStem(inputName)}.age{age}.{extension}";

    /// <summary><c>{stem}.contact.{ext}</c>: the file name of a contact sheet, without the job folder.</summary>
    public static string ContactSheetFileName(string inputName, string extension) =>
        $"{SafeStem(inputName)}.contact.{extension}";

    /// <summary>The file name without folders and extension, reduced to characters safe in any URL and file
    /// system (letters, digits, '-', '_'; a run of other characters becomes one '_'), at most 80 characters, never empty.</summary>
    /// <remarks>Names come from users and from any program writing into <c>uploads</c>: folders, <c>..</c>, control and
    /// bidirectional characters must never reach an output name or a download's file name.</remarks>
    public static string SafeStem(string blobName)
    {
        var name = blobName.Replace('\\', '/');
        name = name[(name.LastIndexOf('/') + 1)..];
        var dot = name.LastIndexOf('.');
        if (dot > 0)
        {
            name = name[..dot];
        }
        Span<char> buffer = stackalloc char[Math.Min(name.Length, 80)];
        var length = 0;
        foreach (var c in name)
        {
            if (length == buffer.Length)
            {
                break;
            }
            var safe = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_';
            if (safe == '_' && length > 0 && buffer[length - 1] == '_')
            {
                continue; // one underscore for a run of unsafe characters
            }
            buffer[length++] = safe;
        }
        var stem = new string(buffer[..length]).Trim('_');
        return stem.Length == 0 ? "image" : stem;
    }

    /// <summary>The file extension (without dot) written for a sniffed format.</summary>
    public static string ExtensionFor(ImageFormat format) => format switch
    {
        ImageFormat.Png => "png",
        ImageFormat.Jpeg => "jpg",
        ImageFormat.WebP => "webp",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "No output format for this input."),
    };
}

/// <summary>Formats the pipeline accepts, decided by content sniffing.</summary>
public enum ImageFormat
{
    /// <summary>Not an image format the pipeline accepts.</summary>
    Unknown,
    /// <summary>PNG.</summary>
    Png,
    /// <summary>JPEG.</summary>
    Jpeg,
    /// <summary>WebP.</summary>
    WebP,
}
