using AgingPipeline.Contracts;
using AgingPipeline.Imaging.Faces;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Imaging;

/// <summary>Registers the imaging services.</summary>
public static class ImagingServiceCollectionExtensions
{
    /// <summary>Binds <see cref="ImagingOptions"/> from the <c>Imaging</c> section and its <see cref="ImagingOptions.Limits"/>
    /// from the shared <c>Limits</c> section (<see cref="InputLimits"/>, whatever <c>Imaging:Limits</c> says), validates them at start-up and
    /// registers <see cref="ImageHeaderReader"/>, <see cref="ImageDecoder"/>, <see cref="ResidualComposer"/>, the face
    /// crop sampler and composer, and
    /// <see cref="ContactSheetRenderer"/> as singletons (they are stateless and thread-safe).</summary>
    public static IServiceCollection AddAgingImaging(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<InputLimits>().BindConfiguration(InputLimits.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<InputLimits>, InputLimitsValidator>();
        services.AddOptions<ImagingOptions>()
            .BindConfiguration(ImagingOptions.SectionName)
            .Configure<IOptions<InputLimits>>(static (options, limits) => options.Limits = limits.Value)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ImagingOptions>, ImagingOptionsValidator>();
        services.AddSingleton(sp => new ImageHeaderReader(sp.GetRequiredService<IOptions<ImagingOptions>>().Value, sp.GetService<ILoggerFactory>()));
        services.AddSingleton(sp => new ImageDecoder(sp.GetRequiredService<ImageHeaderReader>()));
        services.AddSingleton(sp => new ResidualComposer(sp.GetRequiredService<IOptions<ImagingOptions>>().Value, sp.GetService<ILoggerFactory>()));
        services.AddSingleton(sp => new FaceCropSampler(sp.GetRequiredService<IOptions<ImagingOptions>>().Value));
        services.AddSingleton(sp => new FaceComposer(sp.GetRequiredService<IOptions<ImagingOptions>>().Value, sp.GetService<ILoggerFactory>()));
        services.AddSingleton(sp => new ContactSheetRenderer(sp.GetRequiredService<IOptions<ImagingOptions>>().Value, sp.GetService<ILoggerFactory>()));
        return services;
    }
}
