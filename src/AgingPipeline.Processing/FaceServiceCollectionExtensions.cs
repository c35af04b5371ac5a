using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Processing;

/// <summary>Registers face finding.</summary>
public static class FaceServiceCollectionExtensions
{
    /// <summary>Binds <see cref="FaceOptions"/> from the <c>Faces</c> section (validated at start-up) and registers the
    /// <see cref="FaceFinder"/> singleton. Needs the model repository (<c>AddAgingInference</c>).</summary>
    public static IServiceCollection AddFaceFinder(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<FaceOptions>().BindConfiguration(FaceOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FaceOptions>, FaceOptionsValidator>();
        services.AddSingleton<FaceFinder>();
        return services;
    }
}
