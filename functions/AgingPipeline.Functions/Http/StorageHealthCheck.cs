using AgingPipeline.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgingPipeline.Functions.Http;

/// <summary>Healthy when the job records container answers within five seconds.</summary>
/// <remarks>Reads container properties: one cheap call that proves the account is reachable and the credential
/// works. The exception text is not reported (it may name the account); it is logged by the caller's telemetry.</remarks>
public sealed class StorageHealthCheck(StorageClients clients) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await clients.Jobs.GetPropertiesAsync(cancellationToken: timeout.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or OperationCanceledException or HttpRequestException)
        {
            return HealthCheckResult.Unhealthy("Storage is not reachable.", ex);
        }
    }
}
