using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace AgingPipeline.Contracts;

/// <summary>Batch ids and batch tokens: issued by the pipeline, never chosen by a client.</summary>
/// <remarks>
/// <para>A batch is a capability (issue 15). Its id is the right to read it (<c>GET /api/batches/{id}</c>), like a job
/// id, so it must not be guessable: 130 random bits, written like a job id (26 lowercase base32 characters, safe in
/// blob names and URLs). Its token is the right to add files to it; only its SHA-256 is stored (in the batch record),
/// so that reading storage does not hand out the right to write, and it is compared in constant time.</para>
/// <para>Client-chosen ids were both guessable (<c>holiday-2026</c>) and collidable: a second person choosing the same id
/// joined the first one's batch and saw its jobs.</para>
/// </remarks>
public static class BatchIds
{
    /// <summary>The length of an issued batch id.</summary>
    public const int Length = 26;

    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>A new batch id: 26 lowercase base32 characters (130 random bits).</summary>
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[17];
        RandomNumberGenerator.Fill(bytes);
        var chars = new StringBuilder(Length);
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5 && chars.Length < Length)
            {
                chars.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        return chars.ToString();
    }

    /// <summary>True for strings shaped like an issued batch id (26 lowercase base32 characters).</summary>
    public static bool IsIssuedShape(string? id) =>
        id is { Length: Length } && id.All(c => Alphabet.Contains(c, StringComparison.Ordinal));

    /// <summary>A new batch token: 43 base64url characters (256 random bits).</summary>
    public static string NewToken()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>The SHA-256 of a token, lowercase hex: what a batch record stores instead of the token.</summary>
    public static string HashToken(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    /// <summary>True when <paramref name="token"/> hashes to <paramref name="tokenSha256"/>, compared in constant time.</summary>
    public static bool TokenMatches(string? token, string? tokenSha256)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 256 || string.IsNullOrEmpty(tokenSha256))
        {
            return false;
        }
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        Span<byte> stored = stackalloc byte[SHA256.HashSizeInBytes];
        if (Convert.FromHexString(tokenSha256, stored, out _, out var written) != System.Buffers.OperationStatus.Done || written != stored.Length)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(presented, stored);
    }
}
