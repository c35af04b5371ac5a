using System.Diagnostics;
using AgingPipeline.Contracts;
using AgingPipeline.Functions.CustomHandler;
using AgingPipeline.Storage;

namespace AgingPipeline.Functions.Ingest;

/// <summary>The work of OnPoisonJob: a job message that failed too often is the end of its job.</summary>
/// <remarks>
/// <para>A message lands in <c>aging-jobs-poison</c> after <see cref="StorageOptions.MaxDequeueCount"/> deliveries
/// that ended without deleting it (crashes, timeouts, repeated transient failures). Without this handler the job
/// would stay "processing" for ever and its user would wait for ever.</para>
/// <para>The record keeps a more precise code when a runner stored one (e.g. <c>ModelFailed</c>); otherwise the
/// code is <c>RetriesExhausted</c>. Terminal records are left alone: a runner may have finished the job after all
/// (the message was poisoned after its last lease ran out). Duplicated poison messages are therefore harmless.</para>
/// </remarks>
public sealed partial class PoisonJobHandler(JobStore jobs, TimeProvider time, ILogger<PoisonJobHandler> logger)
{
    /// <summary>Marks the job of a poison message failed.</summary>
    /// <param name="invocation">The poison message.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A line for the invocation log.</returns>
    public async Task<string> HandleAsync(QueueTriggerInvocation invocation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var message = JobQueue.TryParse(invocation.Body, out var problem);
        if (message is null)
        {
            // Nothing identifies a job: there is no record to mark. The message is consumed (it cannot become
            // valid), and its start is logged as an error for a person to look at.
            var preview = invocation.Body.Length <= 200 ? invocation.Body : invocation.Body[..200] + "…";
            LogNotAJobMessage(logger, invocation.MessageId, problem, preview);
            return $"Dropped poison message {invocation.MessageId}: {problem}";
        }

        using var activity = PipelineTelemetry.StartLinkedActivity("OnPoisonJob", message.TraceParent);
        activity?.SetTag("job.id", message.JobId);
        var now = time.GetUtcNow();
        var updated = await jobs.UpdateAsync(message.JobId, record =>
        {
            if (JobStateMachine.IsTerminal(record.State))
            {
                return record;
            }
            var code = record.ErrorCode is PipelineErrorCode.None or PipelineErrorCode.StorageUnavailable or PipelineErrorCode.Internal
                ? PipelineErrorCode.RetriesExhausted
                : record.ErrorCode;
            var reason = record.ErrorMessage is { Length: > 0 } last
                ? $"Processing was abandoned after {Attempts(record)}. The last error was: {last}"
                : $"Processing was abandoned after {Attempts(record)} without success.";
            return record.Fail(code, reason, now);
        }, cancellationToken).ConfigureAwait(false);

        if (updated is null)
        {
            var created = await jobs.TryCreateAsync(message.ToRecord(JobState.Failed, now) with
            {
                ErrorCode = PipelineErrorCode.RetriesExhausted,
                ErrorMessage = "Processing was abandoned after repeated failures; the job record was missing.",
                CompletedAt = now,
            }, cancellationToken).ConfigureAwait(false);
            if (created is not null && message.BatchId is not null && JobIds.IsWellFormed(message.BatchId))
            {
                await jobs.AddToBatchAsync(message.BatchId, message.JobId, cancellationToken).ConfigureAwait(false);
            }
            LogCreatedFailedRecord(logger, message.JobId);
            return $"Job {message.JobId} had no record; recorded it as failed (RetriesExhausted).";
        }
        var record = updated.Record;
        LogPoisoned(logger, message.JobId, record.State, record.ErrorCode);
        activity?.SetStatus(ActivityStatusCode.Error, record.ErrorCode.ToString());
        return $"Job {message.JobId} is {record.State} ({record.ErrorCode}).";
    }

    private static string Attempts(JobRecord record) =>
        record.Attempts switch
        {
            <= 0 => "repeated delivery failures",
            1 => "1 attempt",
            var n => $"{n} attempts",
        };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poisoned job {JobId} had no record; created a failed one.")]
    private static partial void LogCreatedFailedRecord(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Poison message {MessageId} is not a job message ({Problem}); dropped. Body starts: {Body}")]
    private static partial void LogNotAJobMessage(ILogger logger, string? messageId, string? problem, string body);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poisoned job {JobId} is {State} ({Code}).")]
    private static partial void LogPoisoned(ILogger logger, string jobId, JobState state, PipelineErrorCode code);
}
