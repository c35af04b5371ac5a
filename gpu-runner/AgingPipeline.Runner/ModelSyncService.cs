using AgingPipeline.Contracts;
using AgingPipeline.Inference;
using AgingPipeline.Storage;
using Microsoft.Extensions.Options;
using Polly.Registry;

namespace AgingPipeline.Runner;

/// <summary>Keeps the runner's model root in step with the <c>models</c> container (see <see cref="ModelBlobSync"/>) and
/// rescans the <see cref="ModelRepository"/> as soon as a version arrives or leaves, so a newly published model is
/// served without a restart.</summary>
/// <remarks>The first pass runs in <see cref="StartingAsync"/>, before any hosted service starts: a replica that KEDA
/// just woke up for a job asking for the newest version scans a model root that already has it. It is bounded by
/// <see cref="ModelSyncOptions.InitialSyncTimeout"/> and never fails the start: without storage the runner serves the
/// models it shipped with. Off unless <c>ModelSync:Enabled</c> is true.</remarks>
internal sealed partial class ModelSyncService(
    ModelBlobSync sync,
    ModelRepository repository,
    IOptions<ModelSyncOptions> options,
    ILogger<ModelSyncService> logger) : BackgroundService, IHostedLifecycleService
{
    /// <summary>The initial pass.</summary>
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.Enabled || settings.InitialSyncTimeout <= TimeSpan.Zero)
        {
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.InitialSyncTimeout);
        try
        {
            var result = await sync.SyncAsync(timeout.Token).ConfigureAwait(false);
            Report(result);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogFirstSyncTimedOut(logger, settings.InitialSyncTimeout);
        }
        catch (Exception e) when (e is PipelineException or IOException or UnauthorizedAccessException)
        {
            LogFirstSyncFailed(logger, e);
        }
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }
        LogSyncOn(logger, sync.Root, settings.Interval);
        using var timer = new PeriodicTimer(settings.Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: sync, then rescan when something changed. Failures are logged and retried next tick.</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await sync.SyncAsync(cancellationToken).ConfigureAwait(false);
            Report(result);
            if (result.Changed)
            {
                await repository.ScanAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is PipelineException or IOException or UnauthorizedAccessException)
        {
            LogSyncFailed(logger, e, options.Value.Interval);
        }
    }

    private void Report(ModelSyncResult result)
    {
        foreach (var pending in result.Pending)
        {
            LogNotTakenYet(logger, pending);
        }
        if (result.Changed)
        {
            LogSynced(logger, result.Downloaded.Count == 0 ? "none" : string.Join(", ", result.Downloaded), result.Removed.Count == 0 ? "none" : string.Join(", ", result.Removed));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The first model sync failed; starting with the models on disk.")]
    private static partial void LogFirstSyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The first model sync did not finish within {Timeout}; starting with the models on disk.")]
    private static partial void LogFirstSyncTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Model not taken yet: {Pending}")]
    private static partial void LogNotTakenYet(ILogger logger, string pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model sync failed; retrying in {Interval}.")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model sync on: the models container → {Root} every {Interval}.")]
    private static partial void LogSyncOn(ILogger logger, string root, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model sync: downloaded {Downloaded}; removed {Removed}.")]
    private static partial void LogSynced(ILogger logger, string downloaded, string removed);
}

/// <summary>Registers the model sync.</summary>
internal static class ModelSyncServiceCollectionExtensions
{
    /// <summary>Binds <see cref="ModelSyncOptions"/> (validated at start) and registers <see cref="ModelBlobSync"/> over
    /// the <c>models</c> container and the repository's root, and <see cref="ModelSyncService"/>. Call after
    /// <c>AddPipelineStorage</c> and <c>AddAgingInference</c>.</summary>
    public static IServiceCollection AddModelSync(this IServiceCollection services)
    {
        services.AddOptions<ModelSyncOptions>().BindConfiguration(ModelSyncOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ModelSyncOptions>, ModelSyncOptionsValidator>();
        services.AddSingleton(sp => new ModelBlobSync(
            sp.GetRequiredService<StorageClients>().Models,
            sp.GetRequiredService<ModelRepository>().Root,
            sp.GetRequiredService<IOptions<ModelSyncOptions>>().Value,
            sp.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline(StorageResilience.PipelineName),
            sp.GetRequiredService<ILogger<ModelBlobSync>>()));
        services.AddHostedService<ModelSyncService>();
        return services;
    }

    private sealed class ModelSyncOptionsValidator : IValidateOptions<ModelSyncOptions>
    {
        public ValidateOptionsResult Validate(string? name, ModelSyncOptions options)
        {
            var problems = options.Validate();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
