using System.Net;
using System.Text.Json.Serialization;
using AgingPipeline.Contracts;
using AgingPipeline.Functions.Http;
using AgingPipeline.Functions.Ingest;
using AgingPipeline.Functions.Uploads;
using AgingPipeline.Storage;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Functions;

/// <summary>Wires the function app: options, storage, handlers, Kestrel and the HTTP pipeline.</summary>
public static class FunctionAppHostingExtensions
{
    /// <summary>Environment variable through which the Functions host tells a custom handler its port.</summary>
    public const string PortVariable = "FUNCTIONS_CUSTOMHANDLER_PORT";

    /// <summary>Port used when <see cref="PortVariable"/> is not set (the Functions default).</summary>
    public const int DefaultPort = 7071;

    /// <summary>Registers the function app's services and binds Kestrel to 127.0.0.1 on the handler port.</summary>
    /// <remarks>The Functions host calls its custom handler on 127.0.0.1 only; binding loopback keeps the
    /// handler unreachable from anywhere else, in Azure and on a developer machine alike.</remarks>
    public static WebApplicationBuilder AddFunctionApp(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<UploadRules>().BindConfiguration(UploadRules.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<UploadRules>>(new DelegateValidator<UploadRules>(static o => o.Validate()));
        services.AddOptions<InputLimits>().BindConfiguration(InputLimits.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<InputLimits>>(new DelegateValidator<InputLimits>(static o => o.Validate()));
        services.AddOptions<FunctionAppOptions>().BindConfiguration(FunctionAppOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FunctionAppOptions>>(new DelegateValidator<FunctionAppOptions>(static o => o.Validate()));
        services.AddSingleton(TimeProvider.System);
        services.AddPipelineStorage();
        services.AddSingleton<UploadIngestor>();
        services.AddSingleton<PoisonJobHandler>();
        services.AddSingleton<MultipartUploadProcessor>();
        services.AddHostedService<StorageInitializer>();
        services.AddExceptionHandler<PipelineExceptionHandler>();
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage");
        services.AddCallers();
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            options.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        services.Configure<Microsoft.AspNetCore.Http.ProblemDetailsOptions>(options =>
        {
            var previous = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                previous?.Invoke(context);
                context.ProblemDetails.Extensions.TryAdd("code", Problems.CodeForStatus(context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode).ToString());
            };
        });

        var maxRequestBytes = builder.Configuration.GetValue<long?>($"{FunctionAppOptions.SectionName}:{nameof(FunctionAppOptions.MaxRequestBytes)}")
            ?? new FunctionAppOptions().MaxRequestBytes;
        var port = int.TryParse(Environment.GetEnvironmentVariable(PortVariable), out var p) && p is > 0 and < 65536 ? p : DefaultPort;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxRequestBytes;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        return builder;
    }

    /// <summary>Adds exception handling (problem details, never a stack trace), status-code problem details, the
    /// security headers, and who may call (<see cref="Callers"/>).</summary>
    public static WebApplication UseFunctionAppPipeline(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseCallers();
        return app;
    }

    private sealed class DelegateValidator<T>(Func<T, IReadOnlyList<string>> validate) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var problems = validate(options);
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
