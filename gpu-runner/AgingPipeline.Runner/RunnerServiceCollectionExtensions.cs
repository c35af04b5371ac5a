using AgingPipeline.Imaging;
using AgingPipeline.Inference;
using AgingPipeline.Processing;
using AgingPipeline.Storage;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Runner;

/// <summary>Wires the runner: storage, imaging, inference, the job worker, health and metrics.</summary>
internal static class RunnerServiceCollectionExtensions
{
    public static IHostApplicationBuilder AddAgingRunner(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddPipelineStorage();
        services.AddAgingImaging();
        services.AddAgingInference();
        services.AddOptions<RunnerOptions>().BindConfiguration(RunnerOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RunnerOptions>, RunnerOptionsValidator>();
        services.TryAddSingletonTimeProvider();
        services.AddSingleton<RunnerMetrics>();
        services.AddSingleton<ImageAger>();
        services.AddFaceFinder();
        services.AddSingleton<IJobAger, ImageJobAger>();
        services.AddSingleton<PixelWorkGate>();
        services.AddSingleton<JobProcessor>();
        services.AddHostedService<JobWorker>();
        services.AddModelSync();
        services.AddHostedService<QueueLengthMonitor>();
        services.AddHealthChecks().AddCheck<ModelReadyHealthCheck>("model");
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, RunnerJsonContext.Default));
        return builder;
    }

    private static void TryAddSingletonTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
