using System.Security.Cryptography;
using System.Text;

namespace AgingPipeline.Contracts;

/// <summary>Derives job ids from what identifies an upload.</summary>
/// <remarks>Event Grid and storage queues deliver at least once, and events can arrive late or repeated. The id
/// is a hash of the blob's container, name and ETag, so every replay of the same upload maps to the same job
/// record and the same output names: the create-only writes make the replay a no-op. Overwriting the blob
/// (new ETag) is a new upload and so a new job.</remarks>
public static class JobIds
{
    /// <summary>A 26-character lowercase base32 id (130 bits of SHA-256).</summary>
    public static string FromBlob(string container, string blobName, string eTag)
    {
        ArgumentException.ThrowIfNullOrEmpty(container);
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        ArgumentException.ThrowIfNullOrEmpty(eTag);
        var normalizedETag = eTag.Trim().Trim('"');
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes($"{container}\n{blobName}\n{normalizedETag}"));
        return Base32(bytes.AsSpan(0, 17))[..26];
    }

    /// <summary>True for strings that have the shape of a job or batch id (safe to put in blob names and URLs).</summary>
    public static bool IsWellFormed(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 64 && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    private static string Base32(ReadOnlySpan<byte> data)
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var sb = new StringBuilder((data.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                sb.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0)
        {
            sb.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }
        return sb.ToString();
    }
}
