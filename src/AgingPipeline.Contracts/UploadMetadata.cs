using System.Globalization;

namespace AgingPipeline.Contracts;

/// <summary>Options of an upload, carried as blob metadata so that any program writing a blob can set them.</summary>
/// <remarks>Blob metadata keys must be valid C# identifiers and values ASCII; the original file name is therefore
/// stored percent-encoded.</remarks>
public static class UploadMetadata
{
    /// <summary>Comma-separated target ages in years, e.g. <c>20,40,60</c>.</summary>
    public const string Ages = "ages";
    public const string Model = "model";
    public const string ModelVersion = "modelversion";
    public const string BatchId = "batchid";
    /// <summary>Percent-encoded original file name (display only).</summary>
    public const string OriginalName = "originalname";

    /// <summary>Formats ages for metadata.</summary>
    public static string FormatAges(IEnumerable<int> ages) => string.Join(',', ages.Select(a => a.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Parses and validates ages; returns sorted distinct ages or an error message.</summary>
    public static bool TryParseAges(string? text, int minAge, int maxAge, int maxCount, out IReadOnlyList<int> ages, out string? error)
    {
        ages = [];
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "No target ages were given.";
            return false;
        }
        var result = new SortedSet<int>();
        foreach (var part in text.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var age))
            {
                error = $"'{Truncate(part)}' is not a whole number of years.";
                return false;
            }
            if (age < minAge || age > maxAge)
            {
                error = $"Age {age} is outside the supported range {minAge}–{maxAge}.";
                return false;
            }
            result.Add(age);
        }
        if (result.Count == 0)
        {
            error = "No target ages were given.";
            return false;
        }
        if (result.Count > maxCount)
        {
            error = $"At most {maxCount} target ages per image are allowed; {result.Count} were given.";
            return false;
        }
        ages = [.. result];
        return true;
    }

    private static string Truncate(string s) => s.Length <= 20 ? s : s[..20] + "…";
}
