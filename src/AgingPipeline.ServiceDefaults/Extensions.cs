using AgingPipeline.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>What every AgingPipeline service gets: OpenTelemetry, health checks and RFC 7807 problem details.</summary>
/// <remarks>One place, so that the function app, the runner and the tools export the same telemetry the same
/// way (the eShop ServiceDefaults pattern). It sits in the <c>Microsoft.Extensions.Hosting</c> namespace so that
/// <c>builder.AddServiceDefaults()</c> needs no extra using.</remarks>
public static class ServiceDefaultsExtensions
{
    /// <summary>Path of the health endpoint that runs every check.</summary>
    public const string HealthPath = "/health";

    /// <summary>Path of the liveness endpoint that runs only checks tagged <c>live</c>.</summary>
    public const string AlivePath = "/alive";

    /// <summary>Tag of checks that say the process is alive (no dependency checks).</summary>
    public const string LiveTag = "live";

    /// <summary>Adds OpenTelemetry (traces, metrics, logs), the default health checks and problem details.</summary>
    /// <param name="builder">The host builder.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddProblemDetails(options =>
        {
            options.CustomizeProblemDetails = context =>
            {
                var activity = context.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()?.Activity;
                context.ProblemDetails.Extensions.TryAdd("traceId", activity?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier);
            };
        });
        return builder;
    }

    /// <summary>Configures OpenTelemetry: the <c>AgingPipeline</c> activity source and meter, ASP.NET Core, HttpClient
    /// and Azure SDK spans, and logs; exported over OTLP only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    /// <remarks>Without an endpoint nothing is exported and nothing is paid for the exporter: the local stack and
    /// CI run without a collector. Storage polling that no request or job started is not traced
    /// (<see cref="PollingSpanSampler"/>). The service is named by <c>OTEL_SERVICE_NAME</c> when it is set (so the dashboard's
    /// telemetry carries the AppHost's resource names), else by the application's name. The Azure SDK's ActivitySource support is still an opt-in switch.</remarks>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME (the AppHost sets it to the resource's name) wins; otherwise the application's name.
                if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService(builder.Environment.ApplicationName);
                }
            })
            .WithMetrics(metrics => metrics
                .AddMeter(PipelineTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation())
            .WithTracing(tracing => tracing
                .SetSampler(PollingSpanSampler.ForServices())
                .AddSource(PipelineTelemetry.Name)
                .AddSource("Azure.*")
                .AddAspNetCoreInstrumentation(options => options.Filter = static context => !IsProbe(context.Request.Path))
                .AddHttpClientInstrumentation());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>Health and liveness probes (<c>/health</c>, <c>/alive</c>, and the function app's <c>/api/health</c>
    /// behind the Functions host's route prefix): polled all day, never traced.</summary>
    public static bool IsProbe(PathString path) =>
        path.StartsWithSegments(HealthPath) || path.StartsWithSegments(AlivePath) || path.StartsWithSegments("/api" + HealthPath);

    /// <summary>Adds a liveness check (<c>self</c>, tagged <c>live</c>); services add their dependency checks.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>Maps <c>/health</c> (every check) and <c>/alive</c> (liveness only), answering JSON.</summary>
    /// <remarks>Both carry no secrets and no exception text: a failing check reports its name and status only.</remarks>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks(HealthPath, new HealthCheckOptions { ResponseWriter = WriteHealthAsync });
        app.MapHealthChecks(AlivePath, new HealthCheckOptions
        {
            Predicate = static check => check.Tags.Contains(LiveTag),
            ResponseWriter = WriteHealthAsync,
        });
        return app;
    }

    /// <summary>Writes a health report as <c>{"status": …, "checks": {name: status}}</c>.</summary>
    public static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        var body = new HealthResponse(
            report.Status.ToString(),
            report.Entries.ToDictionary(static e => e.Key, static e => e.Value.Status.ToString()));
        return context.Response.WriteAsJsonAsync(body, HealthJsonContext.Default.HealthResponse, cancellationToken: context.RequestAborted);
    }
}

/// <summary>The body of the health endpoints.</summary>
/// <param name="Status">Overall status: Healthy, Degraded or Unhealthy.</param>
/// <param name="Checks">Each check's status by name.</param>
public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, string> Checks);

/// <summary>Source-generated JSON for <see cref="HealthResponse"/>.</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthResponse))]
public sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext
{
}
