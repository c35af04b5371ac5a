using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;

namespace AgingPipeline.Storage;

/// <summary>Registers the pipeline's storage services.</summary>
public static class StorageServiceCollectionExtensions
{
    /// <summary>Binds <see cref="StorageOptions"/> from the <c>Storage</c> section (validated at start), and registers
    /// <see cref="StorageClients"/>, <see cref="JobStore"/>, <see cref="JobQueue"/>, <see cref="JobBlobs"/>,
    /// <see cref="BlobReadLinks"/> and the <c>storage</c> resilience pipeline.</summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The same collection.</returns>
    /// <remarks>When the configuration has no <c>Storage</c> section but has <c>AzureWebJobsStorage</c> (the Functions
    /// host's own account, as a connection string or as <c>AzureWebJobsStorage__blobServiceUri</c> /
    /// <c>__queueServiceUri</c>), that account is used: in Azure the trigger bindings and the handler then read and
    /// write the same account without a second setting.</remarks>
    public static IServiceCollection AddPipelineStorage(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.SectionName)
            .PostConfigure<IConfiguration>(ApplyFunctionsHostFallback)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddResiliencePipeline(StorageResilience.PipelineName, static (builder, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<StorageOptions>>().Value;
            builder.AddStorageRetry(options);
        });
        services.AddSingleton(sp => new StorageClients(
            sp.GetRequiredService<IOptions<StorageOptions>>().Value,
            credential: null,
            sp.GetService<ILoggerFactory>()));
        services.AddSingleton(sp => new JobStore(
            sp.GetRequiredService<StorageClients>().Jobs,
            sp.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline(StorageResilience.PipelineName)));
        services.AddSingleton(sp =>
        {
            var clients = sp.GetRequiredService<StorageClients>();
            return new JobQueue(
                clients.JobsQueue,
                clients.PoisonQueue,
                sp.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline(StorageResilience.PipelineName),
                clients.Options);
        });
        services.AddSingleton(sp => new JobBlobs(
            sp.GetRequiredService<StorageClients>(),
            sp.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline(StorageResilience.PipelineName)));
        services.AddSingleton(sp => new BlobReadLinks(sp.GetRequiredService<StorageClients>(), sp.GetService<TimeProvider>()));
        return services;
    }

    private static void ApplyFunctionsHostFallback(StorageOptions options, IConfiguration configuration)
    {
        if (configuration.GetSection(StorageOptions.SectionName).Exists())
        {
            return;
        }
        var hostStorage = configuration.GetSection("AzureWebJobsStorage");
        if (!string.IsNullOrWhiteSpace(hostStorage.Value))
        {
            options.ConnectionString = hostStorage.Value;
        }
        else if (Uri.TryCreate(hostStorage["blobServiceUri"], UriKind.Absolute, out var blobUri)
            && Uri.TryCreate(hostStorage["queueServiceUri"], UriKind.Absolute, out var queueUri))
        {
            options.BlobServiceUri = blobUri;
            options.QueueServiceUri = queueUri;
            options.ManagedIdentityClientId ??= hostStorage["clientId"];
        }
    }

    private sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
    {
        public ValidateOptionsResult Validate(string? name, StorageOptions options)
        {
            var problems = options.Validate();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
