using System.Collections.Concurrent;
using System.Diagnostics;
using AgingPipeline.Contracts;
using AgingPipeline.Inference;
using AgingPipeline.IntegrationTests.Infrastructure;
using AgingPipeline.Runner;
using AgingPipeline.Storage;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgingPipeline.InfraTests;

/// <summary>One job, one trace: the function app's OnImageUploaded span continues the trace the Functions host passes
/// in, the JobMessage carries it, and the runner's <c>runner.job</c> span (with its stage spans) is its child. In Azure
/// the function app's spans and the runner's spans (OTLP → Container Apps' agent → Application Insights) therefore
/// show as one end-to-end transaction.</summary>
public sealed class TraceTests : IAsyncLifetime
{
    private const string Model = "test-ager";

    private readonly string _modelRoot = Path.Combine(Path.GetTempPath(), "aging-trace-models-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private ActivityListener? _listener;
    private AzuriteInstance? _azurite;
    private StorageClients? _clients;

    public async Task InitializeAsync()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is PipelineTelemetry.Name or "Microsoft.AspNetCore",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
        _azurite = await AzuriteInstance.StartAsync();
        _clients = _azurite.CreateClients();
        await _clients.EnsureCreatedAsync();
        FixtureModels.CopyVersion1(Model, _modelRoot);
    }

    public async Task DisposeAsync()
    {
        _listener?.Dispose();
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
        if (Directory.Exists(_modelRoot))
        {
            Directory.Delete(_modelRoot, recursive: true);
        }
    }

    [Fact]
    public async Task The_runner_continues_the_trace_the_function_app_started_for_the_upload()
    {
        var clients = _clients!;
        var blob = clients.Uploads.GetBlobClient($"trace/{Guid.NewGuid():N}.png");
        var image = await File.ReadAllBytesAsync(Directory.GetFiles(Path.Combine(RepoPaths.Root, "tests", "fixtures", "heldout"), "*.png").Order(StringComparer.Ordinal).First());
        await blob.UploadAsync(BinaryData.FromBytes(image), new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { [UploadMetadata.Ages] = "30,60", [UploadMetadata.Model] = Model },
        });

        // The Functions host's own span for the invocation: the handler receives it as traceparent.
        var hostSpan = new Activity("Functions host: OnImageUploaded").SetIdFormat(ActivityIdFormat.W3C).Start();
        hostSpan.Stop();

        // 1. The function app, as the host calls it for the BlobCreated event (eventGridTrigger).
        await using (var functionApp = new FunctionApp(_azurite!.ConnectionString))
        {
            var client = functionApp.CreateClient();
            using var request = await HostInvocations.BlobCreatedRequestAsync(blob, client.BaseAddress!);
            request.Headers.Add("traceparent", hostSpan.Id);
            using var response = await client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

            // The test server hands the response back before ASP.NET Core stops its request span (that happens when it
            // disposes the request context), so wait for that span rather than race it: it links the host's span to
            // the function's.
            await WaitForStoppedAsync(a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == hostSpan.TraceId);
        }
        var queue = new JobQueue(clients.JobsQueue, clients.PoisonQueue, Polly.ResiliencePipeline.Empty, clients.Options);
        var message = Assert.Single(await queue.PeekAsync()).Message!;
        Assert.NotNull(message.TraceParent);

        // 2. The runner, wired as in production, processing that very message.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = _azurite.ConnectionString,
            ["Storage:RetryBaseDelay"] = "00:00:00.050",
            ["Storage:RetryMaxDelay"] = "00:00:00.500",
            ["Inference:ModelRoot"] = _modelRoot,
            ["Inference:DefaultModel"] = Model,
            ["Runner:EnsureStorageCreated"] = "false",
            ["Runner:WriteContactSheet"] = "false",
        });
        builder.AddAgingRunner();
        await using (var runner = builder.Build())
        {
            await runner.Services.GetRequiredService<ModelRepository>().ScanAsync();
            var received = Assert.Single(await runner.Services.GetRequiredService<JobQueue>().ReceiveAsync(1));
            var outcome = await runner.Services.GetRequiredService<JobProcessor>().ProcessAsync(received, CancellationToken.None);
            Assert.Equal("succeeded", outcome);
        }

        var trace = _stopped.Where(a => a.TraceId == hostSpan.TraceId).ToList();
        var ingest = Assert.Single(trace, a => a.Source.Name == PipelineTelemetry.Name && a.OperationName == "OnImageUploaded");
        var job = Assert.Single(trace, a => a.OperationName == "runner.job");

        // The message carries the function's span; the runner's span is its child, in the same trace.
        Assert.Equal(ingest.Id, message.TraceParent);
        Assert.Equal(ingest.SpanId, job.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, job.Kind);
        Assert.Equal(message.JobId, job.GetTagItem("aging.job_id"));
        Assert.Contains(hostSpan.SpanId, Ancestors(job, trace));
        Assert.Contains(ingest.SpanId, Ancestors(job, trace));

        // The stages are children of the job span.
        foreach (var stage in new[] { "runner.download", "runner.age", "runner.write", "runner.record" })
        {
            Assert.Equal(job.SpanId, Assert.Single(trace, a => a.OperationName == stage).ParentSpanId);
        }
    }

    private async Task WaitForStoppedAsync(Func<Activity, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!_stopped.Any(match))
        {
            Assert.True(DateTime.UtcNow < deadline, "The span did not stop within 10 s.");
            await Task.Delay(20);
        }
    }

    /// <summary>The span ids above <paramref name="activity"/>, following parents through <paramref name="trace"/>.</summary>
    private static List<ActivitySpanId> Ancestors(Activity activity, IReadOnlyList<Activity> trace)
    {
        var ancestors = new List<ActivitySpanId>();
        var parent = activity.ParentSpanId;
        while (parent != default && !ancestors.Contains(parent))
        {
            ancestors.Add(parent);
            parent = trace.FirstOrDefault(a => a.SpanId == parent)?.ParentSpanId ?? default;
        }
        return ancestors;
    }

    private sealed class FunctionApp(string connectionString) : WebApplicationFactory<AgingPipeline.Functions.FunctionAppOptions>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:ConnectionString"] = connectionString,
                ["Storage:RetryBaseDelay"] = "00:00:00.050",
                ["Storage:RetryMaxDelay"] = "00:00:00.500",
                ["FunctionApp:EnsureStorageOnStart"] = "false",
            }));
        }
    }
}
