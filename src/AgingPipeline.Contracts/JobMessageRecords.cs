namespace AgingPipeline.Contracts;

/// <summary>The job record a message stands for, for the consumers that meet a message whose record is missing.</summary>
/// <remarks>OnImageUploaded writes the record before it sends the message, so a message normally finds its record. One
/// that does not (sent by a tool, or its record deleted) is recorded from the message alone: the runner creates it
/// queued and ages it; the poison handler creates it failed. Both build it here, so that the two carry the same
/// fields.</remarks>
public static class JobMessageRecords
{
    /// <summary>A record in <paramref name="state"/> with every field the message carries, created and updated at
    /// <paramref name="now"/>.</summary>
    /// <param name="message">The message.</param>
    /// <param name="state">The state to record it in.</param>
    /// <param name="now">The time of creation.</param>
    public static JobRecord ToRecord(this JobMessage message, JobState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new JobRecord
        {
            JobId = message.JobId,
            State = state,
            InputContainer = message.InputContainer,
            InputBlob = message.InputBlob,
            InputETag = message.InputETag,
            BatchId = message.BatchId,
            TargetAges = message.TargetAges,
            ModelName = message.ModelName,
            ModelVersion = message.ModelVersion,
            Region = message.Region,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }
}
