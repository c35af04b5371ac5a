using System.Diagnostics;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.Imaging;
using AgingPipeline.Inference;
using AgingPipeline.Processing;
using AgingPipeline.Storage;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Runner;

/// <summary>Processes one delivery of a job message from receipt to delete: the job state machine as seen by a runner.</summary>
/// <remarks>
/// <para>Deliveries are at least once, so every step is idempotent: a finished job's replay only deletes the message;
/// outputs are create-only; the record moves with ETag conditions and never leaves a terminal state.</para>
/// <para>Failures split in two. Bad input or a bad request (<see cref="PipelineException.IsTransient"/> false) can never
/// succeed: the record is failed with its code and human message and the message is deleted. Transient failures
/// (storage, model hiccups, bugs) leave the message to reappear after its visibility timeout; on the last allowed
/// delivery it goes to the poison queue, where the poison handler fails the record with
/// <see cref="PipelineErrorCode.RetriesExhausted"/>.</para>
/// <para><see cref="PipelineErrorCode.NoFaceFound"/> (faces were required and the picture has none) is of the first
/// kind: the same picture never grows a face, so the job fails at once with the ager's explanation.</para>
/// </remarks>
internal sealed partial class JobProcessor(
    JobQueue queue,
    JobStore jobs,
    JobBlobs blobs,
    IJobAger ager,
    ContactSheetRenderer contactSheets,
    PixelWorkGate pixelWork,
    ModelRepository models,
    IOptions<ImagingOptions> imaging,
    IOptions<StorageOptions> storage,
    IOptions<RunnerOptions> options,
    RunnerMetrics metrics,
    TimeProvider time,
    ILogger<JobProcessor> logger)
{
    /// <summary>Processes one received message; never throws except for cancellation of <paramref name="stoppingToken"/>.</summary>
    public async Task<string> ProcessAsync(ReceivedJobMessage received, CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        metrics.JobStarted();
        var outcome = JobOutcomes.Retried;
        try
        {
            outcome = await ProcessCoreAsync(received, stoppingToken).ConfigureAwait(false);
            return outcome;
        }
        finally
        {
            metrics.JobEnded(outcome, Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task<string> ProcessCoreAsync(ReceivedJobMessage received, CancellationToken stoppingToken)
    {
        if (received.Message is not { } message)
        {
            LogNotAJobMessage(logger, received.MessageId, received.Problem);
            await queue.MoveToPoisonAsync(received, stoppingToken).ConfigureAwait(false);
            return JobOutcomes.Poisoned;
        }
        if (received.DequeueCount > queue.MaxDequeueCount)
        {
            LogTooManyDeliveries(logger, message.JobId, received.DequeueCount);
            await queue.MoveToPoisonAsync(received, stoppingToken).ConfigureAwait(false);
            return JobOutcomes.Poisoned;
        }

        using var activity = PipelineTelemetry.StartLinkedActivity("runner.job", message.TraceParent);
        activity?.SetTag("aging.job_id", message.JobId);
        activity?.SetTag("aging.attempt", received.DequeueCount);
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = message.JobId });

        await using var lease = new JobLease(queue, received, storage.Value.VisibilityTimeout, logger);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lease.Lost);
        var cancellationToken = linked.Token;
        try
        {
            var outcome = await RunJobAsync(message, received.DequeueCount, cancellationToken).ConfigureAwait(false);
            await lease.DisposeAsync().ConfigureAwait(false);
            await queue.DeleteAsync(lease.Current, stoppingToken).ConfigureAwait(false);
            return outcome;
        }
        catch (PipelineException e) when (!e.IsTransient)
        {
            LogJobFailed(logger, message.JobId, e.Code, e.Message);
            activity?.SetStatus(ActivityStatusCode.Error, e.Code.ToString());
            await FailAsync(message, e.Code, e.Message, stoppingToken).ConfigureAwait(false);
            PipelineMetrics.JobEntered(JobState.Failed, "runner");
            await lease.DisposeAsync().ConfigureAwait(false);
            await queue.DeleteAsync(lease.Current, stoppingToken).ConfigureAwait(false);
            return JobOutcomes.Failed;
        }
        catch (OperationCanceledException) when (lease.Lost.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
        {
            LogAbandoned(logger, message.JobId);
            return JobOutcomes.Skipped;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: hand the message back at once instead of after the visibility timeout.
            await lease.DisposeAsync().ConfigureAwait(false);
            await ReleaseAsync(lease.Current).ConfigureAwait(false);
            throw;
        }
        catch (Exception e) when (e is PipelineException || !IsFatal(e))
        {
            var code = e is PipelineException pe ? pe.Code : PipelineErrorCode.Internal;
            activity?.SetStatus(ActivityStatusCode.Error, code.ToString());
            if (received.DequeueCount >= queue.MaxDequeueCount)
            {
                LogFailedOnLastDelivery(logger, e, message.JobId, code);
                await RecordLastErrorAsync(message, code, e is PipelineException ? e.Message : "An unexpected error occurred in the runner.", stoppingToken).ConfigureAwait(false);
                await lease.DisposeAsync().ConfigureAwait(false);
                await queue.MoveToPoisonAsync(lease.Current, stoppingToken).ConfigureAwait(false);
                return JobOutcomes.Poisoned;
            }
            LogFailedTransiently(logger, e, message.JobId, code, received.DequeueCount);
            return JobOutcomes.Retried;
        }
    }

    private async Task<string> RunJobAsync(JobMessage message, long attempt, CancellationToken cancellationToken)
    {
        JobRecord? record;
        using (RunnerStages.Start(RunnerStages.Begin))
        {
            record = await StartAsync(message, attempt, cancellationToken).ConfigureAwait(false);
        }
        if (record is null)
        {
            LogAlreadyFinished(logger, message.JobId);
            return JobOutcomes.Skipped;
        }

        PipelineMetrics.JobEntered(JobState.Processing, "runner");

        var model = models.Get(message.ModelName, message.ModelVersion);
        BinaryData input;
        using (RunnerStages.Start(RunnerStages.Download))
        {
            input = await DownloadInputAsync(message, cancellationToken).ConfigureAwait(false);
        }
        AgingResult result;
        EncodedImage? sheet = null;
        PixelWorkGate.Slot slot;
        using (RunnerStages.Start(RunnerStages.PixelWait))
        {
            slot = await pixelWork.EnterAsync(cancellationToken).ConfigureAwait(false);
        }
        using (slot)
        {
            using (RunnerStages.Start(RunnerStages.Age))
            {
                result = await ager.AgeAsync(input.ToMemory(), message.TargetAges, model, message.Region, options.Value.WriteContactSheet, cancellationToken).ConfigureAwait(false);
            }
            RunnerStages.Add(RunnerStages.Decode, result.Timings.Decode);
            RunnerStages.Add(RunnerStages.Infer, result.Timings.Infer);
            RunnerStages.Add(RunnerStages.Compose, result.Timings.Compose);
            if (options.Value.WriteContactSheet)
            {
                using (RunnerStages.Start(RunnerStages.ContactSheet))
                {
                    sheet = contactSheets.Render(result.ContactSheetTiles(input.ToMemory()), result.Input.Format);
                }
            }
        }

        // Pixel work is done and its slot free for the next job; the outputs and the sheet upload concurrently.
        var outputs = new List<AgedOutput>(result.Outputs.Count);
        string? sheetName = null;
        using (RunnerStages.Start(RunnerStages.Write))
        {
            var uploads = new List<Task>(result.Outputs.Count + 1);
            foreach (var output in result.Outputs)
            {
                var name = BlobNames.AgedOutput(message.JobId, message.InputBlob, output.Age, output.Image.Extension);
                uploads.Add(WriteOutputAsync(name, output.Image, cancellationToken));
                outputs.Add(new AgedOutput(output.Age, name));
            }
            if (sheet is not null)
            {
                sheetName = BlobNames.ContactSheet(message.JobId, message.InputBlob, sheet.Extension);
                uploads.Add(blobs.WriteOutputAsync(sheetName, sheet.Content, sheet.ContentType, cancellationToken));
            }
            await Task.WhenAll(uploads).ConfigureAwait(false);
        }

        var now = time.GetUtcNow();
        using var recordStage = RunnerStages.Start(RunnerStages.Record);
        await jobs.UpdateAsync(message.JobId, r => r.State == JobState.Processing
            ? r.MoveTo(JobState.Succeeded, now) with
            {
                Outputs = outputs,
                ContactSheetBlob = sheetName,
                Format = result.Input.Format.ToString().ToLowerInvariant(),
                Width = result.Input.Width,
                Height = result.Input.Height,
                ModelName = model.Name,
                ModelVersion = model.Version,
                Region = message.Region,
                RegionOutcome = result.Region,
                ErrorCode = PipelineErrorCode.None,
                ErrorMessage = null,
            }
            : r, cancellationToken).ConfigureAwait(false);
        PipelineMetrics.JobEntered(JobState.Succeeded, "runner");
        LogSucceeded(logger, message.JobId, outputs.Count, result.Input.Width, result.Input.Height, result.Input.Format, model.Name, model.Version, result.Region.Applied, result.Region.Faces.Count);
        return JobOutcomes.Succeeded;
    }

    /// <summary>Downloads the input; one over the byte limit (only its first bytes are read) is refused with what the
    /// door says at every entry: format and header first, then bytes.</summary>
    private async Task<BinaryData> DownloadInputAsync(JobMessage message, CancellationToken cancellationToken)
    {
        var limits = imaging.Value.Limits;
        var input = await blobs.DownloadInputAsync(message, limits, cancellationToken).ConfigureAwait(false);
        if (!input.IsComplete)
        {
            InputCheck.Inspect(input.Content.ToMemory().Span, input.Length, limits);
            throw limits.CheckBytes(input.Length)!;
        }
        return input.Content;
    }

    private async Task WriteOutputAsync(string name, EncodedImage image, CancellationToken cancellationToken)
    {
        if (await blobs.WriteOutputAsync(name, image.Content, image.ContentType, cancellationToken).ConfigureAwait(false))
        {
            metrics.OutputWritten();
        }
    }

    /// <summary>Moves the record to processing (creating it from the message if it is missing); null when the job is
    /// already finished.</summary>
    private async Task<JobRecord?> StartAsync(JobMessage message, long attempt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stored = await jobs.UpdateAsync(message.JobId, r => JobStateMachine.IsTerminal(r.State)
            ? r
            : r.MoveTo(JobState.Processing, now) with { Attempts = (int)Math.Min(attempt, int.MaxValue) },
            cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            // The message arrived without a record (e.g. sent by a tool): create it, then start it.
            var created = message.ToRecord(JobState.Queued, now) with { EnqueuedAt = now };
            await jobs.TryCreateAsync(created, cancellationToken).ConfigureAwait(false);
            return await StartAsync(message, attempt, cancellationToken).ConfigureAwait(false);
        }
        return JobStateMachine.IsTerminal(stored.Record.State) ? null : stored.Record;
    }

    private async Task FailAsync(JobMessage message, PipelineErrorCode code, string reason, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await jobs.UpdateAsync(message.JobId, r => JobStateMachine.IsTerminal(r.State) ? r : r.Fail(code, reason, now), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Leaves the cause of a final transient failure on the record (state unchanged), so that the poison
    /// handler fails the job with it rather than with a bare <see cref="PipelineErrorCode.RetriesExhausted"/>.
    /// Best effort: when storage is what failed, the poison handler still fails the job without the cause.</summary>
    private async Task RecordLastErrorAsync(JobMessage message, PipelineErrorCode code, string reason, CancellationToken cancellationToken)
    {
        try
        {
            var now = time.GetUtcNow();
            await jobs.UpdateAsync(message.JobId, r => JobStateMachine.IsTerminal(r.State)
                ? r
                : r with { ErrorCode = code, ErrorMessage = reason, UpdatedAt = now }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PipelineException or OperationCanceledException)
        {
            LogLastErrorNotRecorded(logger, e, message.JobId);
        }
    }

    private async Task ReleaseAsync(ReceivedJobMessage message)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await queue.ExtendVisibilityAsync(message, TimeSpan.Zero, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PipelineException or OperationCanceledException)
        {
            LogNotHandedBack(logger, e, message.MessageId);
        }
    }

    private static bool IsFatal(Exception e) => e is OutOfMemoryException or StackOverflowException or AccessViolationException;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} abandoned: its message is held by another worker now.")]
    private static partial void LogAbandoned(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} is already finished; deleting the repeated message.")]
    private static partial void LogAlreadyFinished(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed on its last allowed delivery ({Code}); moving it to the poison queue.")]
    private static partial void LogFailedOnLastDelivery(ILogger logger, Exception exception, string jobId, PipelineErrorCode code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed transiently ({Code}) on delivery {Count}; it will be retried.")]
    private static partial void LogFailedTransiently(ILogger logger, Exception exception, string jobId, PipelineErrorCode code, long count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} failed: {Code}: {Reason}")]
    private static partial void LogJobFailed(ILogger logger, string jobId, PipelineErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record the last error of job {JobId}; the poison handler fails it without the cause.")]
    private static partial void LogLastErrorNotRecorded(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId} is not a usable job message ({Problem}); moving it to the poison queue.")]
    private static partial void LogNotAJobMessage(ILogger logger, string messageId, string? problem);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not hand message {MessageId} back at shutdown; it reappears after its visibility timeout.")]
    private static partial void LogNotHandedBack(ILogger logger, Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} succeeded: {Count} ages of a {Width}×{Height} {Format} with {Model}/{Version}, {Applied} ({Faces} faces).")]
    private static partial void LogSucceeded(ILogger logger, string jobId, int count, int width, int height, ImageFormat format, string model, string version, string applied, int faces);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was delivered {Count} times; moving it to the poison queue.")]
    private static partial void LogTooManyDeliveries(ILogger logger, string jobId, long count);
}
