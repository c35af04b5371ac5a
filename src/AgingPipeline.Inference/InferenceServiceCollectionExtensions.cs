using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Inference;

/// <summary>Registers model serving.</summary>
public static class InferenceServiceCollectionExtensions
{
    /// <summary>Binds <see cref="InferenceOptions"/> from the <c>Inference</c> section (validated at start-up) and
    /// registers the <see cref="ModelRepository"/> singleton and the <see cref="ModelRepositoryService"/> that scans it.</summary>
    public static IServiceCollection AddAgingInference(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<InferenceOptions>().BindConfiguration(InferenceOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<InferenceOptions>, InferenceOptionsValidator>();
        services.AddSingleton(sp => new ModelRepository(sp.GetRequiredService<IOptions<InferenceOptions>>().Value, sp.GetService<ILoggerFactory>()));
        services.AddHostedService<ModelRepositoryService>();
        return services;
    }
}
