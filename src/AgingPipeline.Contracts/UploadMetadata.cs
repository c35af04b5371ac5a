using System.Globalization;

namespace AgingPipeline.Contracts;

/// <summary>Options of an upload, carried as blob metadata so that any program writing a blob can set them.</summary>
/// <remarks>Blob metadata keys must be valid C# identifiers and values ASCII; the original file name is therefore
/// stored percent-encoded.</remarks>
public static class UploadMetadata
{
    /// <summary>Comma-separated target ages in years, e.g. <c>20,40,60</c>.</summary>
    public const string Ages = "ages";
    /// <summary>The model's name; the configured default when absent.</summary>
    public const string Model = "model";
    /// <summary>The model version; the newest served when absent.</summary>
    public const string ModelVersion = "modelversion";
    /// <summary>The batch the upload belongs to; honoured only for batches the upload API issued.</summary>
    public const string BatchId = "batchid";
    /// <summary>Which part of the picture is aged: <c>auto</c>, <c>faces</c> or <c>whole</c> (see
    /// <see cref="AgingRegions"/>).</summary>
    public const string Region = "region";
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

    /// <summary>Longest original name kept, in characters, before encoding.</summary>
    public const int MaxOriginalNameLength = 255;

    /// <summary>Percent-encodes a file name for metadata (ASCII only), dropping folders and control characters
    /// and keeping at most <see cref="MaxOriginalNameLength"/> characters.</summary>
    /// <remarks>Metadata values travel in HTTP headers, which must be ASCII; the name is display-only and is
    /// never used to build a path.</remarks>
    public static string EncodeOriginalName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var cleaned = CleanName(name);
        return Uri.EscapeDataString(cleaned);
    }

    /// <summary>Decodes a value written by <see cref="EncodeOriginalName"/>; returns null for null, empty or
    /// undecodable values, and never returns control characters or folders.</summary>
    public static string? DecodeOriginalName(string? encoded)
    {
        if (string.IsNullOrWhiteSpace(encoded))
        {
            return null;
        }
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(encoded.Trim());
        }
        catch (UriFormatException)
        {
            return null;
        }
        var cleaned = CleanName(decoded);
        return cleaned.Length == 0 ? null : cleaned;
    }

    /// <summary>True for model repository names: lowercase letters and digits in dash-separated groups, at most
    /// 63 characters.</summary>
    public static bool IsValidModelName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 63 || name[0] == '-' || name[^1] == '-' || name.Contains("--", StringComparison.Ordinal))
        {
            return false;
        }
        return name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');
    }

    /// <summary>True for model versions: a positive whole number without sign or leading zeros.</summary>
    public static bool IsValidModelVersion(string? version) =>
        !string.IsNullOrEmpty(version) && version.Length <= 9 && version[0] is >= '1' and <= '9' && version.All(char.IsAsciiDigit);

    private static string CleanName(string name)
    {
        var slash = Math.Max(name.LastIndexOf('/'), name.LastIndexOf('\\'));
        var leaf = name[(slash + 1)..];
        var builder = new System.Text.StringBuilder(Math.Min(leaf.Length, MaxOriginalNameLength));
        foreach (var rune in leaf.EnumerateRunes())
        {
            if (System.Text.Rune.IsControl(rune) || rune.Value is 0xFEFF or (>= 0x202A and <= 0x202E) or (>= 0x2066 and <= 0x2069))
            {
                continue;
            }
            if (builder.Length + rune.Utf16SequenceLength > MaxOriginalNameLength)
            {
                break;
            }
            builder.Append(rune.ToString());
        }
        return builder.ToString().Trim();
    }

    private static string Truncate(string s) => s.Length <= 20 ? s : s[..20] + "…";
}
