using AgingPipeline.Storage;

namespace AgingPipeline.Cli.Batch;

/// <summary>What the CLI shows of a batch member (<see cref="BatchMember"/>, from Storage).</summary>
internal static class BatchMemberDisplay
{
    extension(BatchMember member)
    {
        /// <summary>The state name, "pending" without a record.</summary>
        public string State => member.Record is null ? JobStateNames.Pending : JobStateNames.For(member.Record.State);

        /// <summary>The person's name for the input.</summary>
        public string DisplayName => member.Record?.OriginalName
            ?? (member.InputBlob is null ? member.JobId : member.InputBlob[(member.InputBlob.LastIndexOf('/') + 1)..]);
    }
}

/// <summary>Reads a batch the way <c>GET /api/batches/{id}</c> does (<see cref="BatchListing"/>: its markers and the
/// blobs under <c>uploads/{batchId}/</c> that have no job yet), in the order the CLI lists it.</summary>
internal static class BatchReader
{
    /// <summary>Reads every member of <paramref name="batchId"/>; empty when there is no such batch.</summary>
    public static async Task<IReadOnlyList<BatchMember>> ReadAsync(PipelineStorage storage, string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var members = await BatchListing.ReadMembersAsync(storage.Jobs, storage.Clients.Uploads, storage.Pipeline, batchId, cancellationToken)
            .ConfigureAwait(false);
        return [.. members.OrderBy(m => m.InputBlob ?? m.DisplayName, StringComparer.Ordinal).ThenBy(m => m.JobId, StringComparer.Ordinal)];
    }
}
