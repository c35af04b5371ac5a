using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace AgingPipeline.InfraTests;

/// <summary>The services' sampler (<see cref="PollingSpanSampler"/>) with the real OpenTelemetry SDK: storage polling
/// that nothing started leaves no trace; storage calls inside a job or a request, and the pipeline's own root spans,
/// are all kept; health probes are not traced at all.</summary>
public sealed class TelemetrySamplingTests : IDisposable
{
    // Sources of this test only, so that other tests' spans never reach its provider.
    private readonly ActivitySource _azure = new("Azure.Storage.Queues.SamplerTest." + Guid.NewGuid().ToString("N"));
    private readonly ActivitySource _pipeline = new("AgingPipeline.SamplerTest." + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<Activity> _exported = new();
    private readonly TracerProvider _provider;

    public TelemetrySamplingTests()
    {
        _provider = Sdk.CreateTracerProviderBuilder()
            .SetSampler(PollingSpanSampler.ForServices())
            .AddSource(_azure.Name, _pipeline.Name)
            .AddProcessor(new Collect(_exported))
            .Build()!;
    }

    public void Dispose()
    {
        _provider.Dispose();
        _azure.Dispose();
        _pipeline.Dispose();
    }

    [Fact]
    public void A_poll_that_nothing_started_is_dropped_with_its_children()
    {
        using (var poll = _azure.StartActivity("QueueClient.ReceiveMessages", ActivityKind.Client))
        {
            using var http = _azure.StartActivity("GET", ActivityKind.Client);
        }
        using (_azure.StartActivity("BlobContainerClient.GetBlobs", ActivityKind.Client))
        {
        }

        Assert.Empty(_exported);
    }

    [Fact]
    public void Storage_calls_inside_a_job_or_a_request_and_the_pipelines_own_roots_are_kept()
    {
        string jobTrace;
        using (var job = _pipeline.StartActivity("runner.job", ActivityKind.Consumer))
        {
            jobTrace = job!.TraceId.ToString();
            using (_azure.StartActivity("QueueClient.DeleteMessage", ActivityKind.Client))
            {
            }
        }
        // A request whose caller sent a traceparent (the Functions host, Event Grid): its storage calls are children.
        var remote = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        using (_azure.StartActivity("BlobClient.Upload", ActivityKind.Client, remote))
        {
        }

        Assert.Equal(["BlobClient.Upload", "QueueClient.DeleteMessage", "runner.job"], _exported.Select(a => a.OperationName).Order(StringComparer.Ordinal));
        Assert.All(_exported.Where(a => a.OperationName != "BlobClient.Upload"), a => Assert.Equal(jobTrace, a.TraceId.ToString()));
        Assert.Equal(remote.TraceId, Assert.Single(_exported, a => a.OperationName == "BlobClient.Upload").TraceId);
    }

    [Theory]
    [InlineData("QueueClient.ReceiveMessages", true)]
    [InlineData("BlobContainerClient.GetBlobs", true)]
    [InlineData("BlobBaseClient.DownloadContent", true)]
    [InlineData("runner.job", false)]
    [InlineData("EventPump.Deliver", false)]
    [InlineData("OnImageUploaded", false)]
    [InlineData("POST /api/uploads", false)]
    public void Azure_SDK_operations_are_told_by_their_name(string name, bool azure) =>
        Assert.Equal(azure, PollingSpanSampler.IsAzureSdkOperation(name));

    [Theory]
    [InlineData("/health", true)]
    [InlineData("/alive", true)]
    [InlineData("/api/health", true)]
    [InlineData("/api/uploads", false)]
    [InlineData("/api/jobs/abc", false)]
    [InlineData("/healthy-looking-name", false)]
    public void Health_probes_are_not_traced(string path, bool probe) =>
        Assert.Equal(probe, ServiceDefaultsExtensions.IsProbe(new Microsoft.AspNetCore.Http.PathString(path)));

    private sealed class Collect(ConcurrentQueue<Activity> exported) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data) => exported.Enqueue(data);
    }
}
