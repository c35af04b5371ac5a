using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgingPipeline.Functions.Apis;

/// <summary><c>GET /api/health</c>: the health checks behind the Functions host's public route.</summary>
/// <remarks>In Azure only routes declared in a <c>function.json</c> reach the handler, so the ServiceDefaults
/// <c>/health</c> endpoint is local-only; this one is what a probe or a person calls.</remarks>
public static class HealthApi
{
    /// <summary>Maps <c>/api/health</c>.</summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/api/health", CheckAsync).WithName("Health");
        return app;
    }

    /// <summary>Runs every health check; 200 when healthy, 503 otherwise.</summary>
    public static async Task CheckAsync(HttpContext context, HealthCheckService health, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(health);
        var report = await health.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
        context.Response.StatusCode = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        await Microsoft.Extensions.Hosting.ServiceDefaultsExtensions.WriteHealthAsync(context, report).ConfigureAwait(false);
    }
}
