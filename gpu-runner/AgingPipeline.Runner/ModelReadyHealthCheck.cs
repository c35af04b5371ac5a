using AgingPipeline.Inference;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgingPipeline.Runner;

/// <summary>Healthy once the default model is loaded and warmed up.</summary>
/// <remarks>Orchestrators (Container Apps, Kubernetes) route nothing to a replica and count it as not started until
/// <c>/health</c> is healthy; a runner without its model would only fail jobs. <c>/alive</c> does not include this
/// check, so a slow model load is not mistaken for a hung process.</remarks>
internal sealed class ModelReadyHealthCheck(ModelRepository models) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (models.IsReady())
        {
            var model = models.Get(models.DefaultModelName);
            return Task.FromResult(HealthCheckResult.Healthy($"{model.Name}/{model.Version} on {model.ExecutionProvider}"));
        }
        return Task.FromResult(models.LastScan is null
            ? HealthCheckResult.Unhealthy("The model repository has not been scanned yet.")
            : HealthCheckResult.Unhealthy($"The default model '{models.DefaultModelName}' is not served."));
    }
}
