namespace AgingPipeline.Contracts;

/// <summary>A batch the upload API created, stored as <c>jobs/batches/{batchId}.json</c> (create-only).</summary>
/// <remarks>Only a batch with a record is a batch: <c>GET /api/batches/{id}</c> answers 404 for any other id, so a
/// folder of blobs written straight into <c>uploads/</c> (e.g. <c>uploads/drop/</c>) is never listed as one. The record
/// holds the SHA-256 of the batch token, never the token.</remarks>
public sealed record BatchRecord
{
    /// <summary>Version of the record's JSON shape.</summary>
    public int SchemaVersion { get; init; } = 1;

    /// <summary>The issued id (<see cref="BatchIds.New"/>).</summary>
    public required string BatchId { get; init; }

    /// <summary>SHA-256 of the batch token, lowercase hex (<see cref="BatchIds.HashToken"/>).</summary>
    public required string TokenSha256 { get; init; }

    /// <summary>The signed-in user who made the batch (their Entra object id), or null when it was made anonymously.</summary>
    /// <remarks>Another user's batch reads as missing, token or not; so do its jobs (they inherit the owner).</remarks>
    public string? Owner { get; init; }

    /// <summary>When the batch was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>True when <paramref name="token"/> is this batch's token (constant-time comparison).</summary>
    public bool Admits(string? token) => BatchIds.TokenMatches(token, TokenSha256);
}
