using System.Net;
using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.EventPump;
using AgingPipeline.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgingPipeline.IntegrationTests;

public sealed class EventPumpTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>, IDisposable
{
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("event-pump-").FullName;

    public void Dispose() => Directory.Delete(_stateDirectory, recursive: true);

    private UploadEventPump Pump(HttpClient http, string stateName, int maxAttempts = 8) => new(
        fixture.Clients,
        http,
        Options.Create(new EventPumpOptions
        {
            FunctionAppUrl = http.BaseAddress ?? new Uri("http://127.0.0.1:9/"),
            StateFile = Path.Combine(_stateDirectory, stateName),
            MaxAttempts = maxAttempts,
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            RetryMaxDelay = TimeSpan.FromMilliseconds(2),
        }),
        NullLogger<UploadEventPump>.Instance);

    [Fact]
    public async Task Delivers_a_blob_written_with_the_sdk_and_after_a_restart_only_new_blobs()
    {
        var client = fixture.App.CreateClient();
        var first = $"{PipelineFixture.Unique("pump")}/direct.png";
        var firstETag = await fixture.PutUploadAsync(first, TestImages.Png(), new Dictionary<string, string> { [UploadMetadata.Ages] = "50" });

        var round = await Pump(client, "state.json").RunOnceAsync();

        Assert.True(round.Delivered >= 1);
        Assert.Equal(0, round.Failed);
        var jobId = PipelineFixture.JobIdFor(first, firstETag);
        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Queued, record.State);
        Assert.Equal([50], record.TargetAges);
        Assert.Single(await fixture.MessagesForAsync(jobId));
        var state = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_stateDirectory, "state.json")));
        Assert.Equal(firstETag.Trim('"'), state.RootElement.GetProperty("Delivered").GetProperty(first).GetString()!.Trim('"'));

        var restarted = Pump(client, "state.json");
        var idle = await restarted.RunOnceAsync();
        Assert.Equal(0, idle.Delivered);

        var second = $"{PipelineFixture.Unique("pump")}/while-down.png";
        var secondETag = await fixture.PutUploadAsync(second, TestImages.Png());
        var next = await restarted.RunOnceAsync();
        Assert.Equal(1, next.Delivered);
        Assert.Single(await fixture.MessagesForAsync(PipelineFixture.JobIdFor(second, secondETag)));
        Assert.Single(await fixture.MessagesForAsync(jobId));
    }

    [Fact]
    public async Task Before_the_containers_and_queues_exist_a_round_finds_nothing_instead_of_failing()
    {
        // The pumps start with Azurite, beside the services that create the storage (the AppHost waits for Azurite only).
        await using var azurite = await AzuriteInstance.StartAsync();
        var clients = azurite.CreateClients();
        using var http = new HttpClient(new RecordingHandler(HttpStatusCode.OK)) { BaseAddress = new Uri("http://127.0.0.1:7071/") };
        var pumpOptions = Options.Create(new EventPumpOptions { FunctionAppUrl = http.BaseAddress, StateFile = Path.Combine(_stateDirectory, "empty.json") });

        var uploads = await new UploadEventPump(clients, http, pumpOptions, NullLogger<UploadEventPump>.Instance).RunOnceAsync();
        var poison = await new PoisonQueuePump(clients, http, pumpOptions, Options.Create(new PoisonPumpOptions()), NullLogger<PoisonQueuePump>.Instance).RunOnceAsync();

        Assert.Equal(new PumpRound(0, 0, 0, 0), uploads);
        Assert.Equal(new PoisonRound(0, 0, 0, 0), poison);
        Assert.False(await clients.Uploads.ExistsAsync());
    }

    [Fact]
    public async Task A_failing_function_app_is_retried_then_dead_lettered_and_the_payload_has_the_host_shape()
    {
        var blobName = $"{PipelineFixture.Unique("fail")}/refused.png";
        var content = TestImages.Png(10, 10);
        var etag = await fixture.PutUploadAsync(blobName, content, new Dictionary<string, string> { [UploadMetadata.Ages] = "20" });
        var handler = new RecordingHandler(HttpStatusCode.InternalServerError);
        using var http = new HttpClient(handler) { BaseAddress = new Uri("http://127.0.0.1:7071/") };
        var pump = Pump(http, "failing.json", maxAttempts: 3);

        var firstRound = await pump.RunOnceAsync();
        Assert.True(firstRound.Failed >= 1);
        Assert.False(File.Exists(Path.Combine(_stateDirectory, "failing.json"))
            && (await File.ReadAllTextAsync(Path.Combine(_stateDirectory, "failing.json"))).Contains(blobName, StringComparison.Ordinal));

        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(10);
            await pump.RunOnceAsync();
        }
        var state = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_stateDirectory, "failing.json"))).RootElement;
        Assert.True(state.GetProperty("DeadLettered").TryGetProperty(blobName, out _));
        Assert.False(state.GetProperty("Delivered").TryGetProperty(blobName, out _));

        var mine = handler.Requests.Where(r => r.Body.Contains(blobName, StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, mine.Length);
        var request = mine[0];
        Assert.Equal("/OnImageUploaded", request.Path);
        Assert.True(Guid.TryParse(request.InvocationId, out _));
        var payload = JsonDocument.Parse(request.Body).RootElement;
        // The event, not the blob: Event Grid schema under the trigger's binding name, its data again in Metadata.
        var gridEvent = payload.GetProperty("Data").GetProperty("eventGridEvent");
        Assert.Equal("Microsoft.Storage.BlobCreated", gridEvent.GetProperty("eventType").GetString());
        Assert.Equal($"/blobServices/default/containers/uploads/blobs/{blobName}", gridEvent.GetProperty("subject").GetString());
        Assert.EndsWith("/providers/Microsoft.Storage/storageAccounts/devstoreaccount1", gridEvent.GetProperty("topic").GetString());
        var data = gridEvent.GetProperty("data");
        Assert.Equal(etag.Trim('"'), data.GetProperty("eTag").GetString());
        Assert.Equal(content.Length, data.GetProperty("contentLength").GetInt64());
        Assert.Equal(fixture.Clients.Uploads.GetBlobClient(blobName).Uri.ToString(), data.GetProperty("url").GetString());
        Assert.True(request.Body.Length < 2048, $"The invocation is {request.Body.Length} bytes; it must not carry the blob.");
        var metadata = payload.GetProperty("Metadata");
        Assert.Equal(data.GetRawText(), metadata.GetProperty("data").GetRawText());
        Assert.Equal("OnImageUploaded", metadata.GetProperty("sys").GetProperty("MethodName").GetString());
        // Every attempt carries the same event (same id), as Event Grid's retries do.
        Assert.Single(mine.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("Data").GetProperty("eventGridEvent").GetProperty("id").GetString()).Distinct());
    }

    [Fact]
    public void The_blob_created_event_is_a_valid_event_grid_event()
    {
        var uri = new Uri("http://127.0.0.1:10000/devstoreaccount1/uploads/b/x.png");
        var properties = Azure.Storage.Blobs.Models.BlobsModelFactory.BlobItemProperties(
            accessTierInferred: false, eTag: new Azure.ETag("\"0x8DC\""), contentLength: 42, contentType: "image/png", lastModified: DateTimeOffset.UtcNow);
        var (json, parsed) = BlobCreatedEvents.Create("devstoreaccount1", uri, "b/x.png", properties);
        Assert.Equal("Microsoft.Storage.BlobCreated", parsed.EventType);
        Assert.Equal("/blobServices/default/containers/uploads/blobs/b/x.png", parsed.Subject);
        var data = JsonDocument.Parse(json.ToString()).RootElement.GetProperty("data");
        Assert.Equal(uri.ToString(), data.GetProperty("url").GetString());
        Assert.Equal(42, data.GetProperty("contentLength").GetInt64());
        Assert.Equal("0x8DC", data.GetProperty("eTag").GetString());
    }

    private sealed record RecordedRequest(string Path, string? InvocationId, string Body);

    private sealed class RecordingHandler(HttpStatusCode status) : HttpMessageHandler
    {
        public List<RecordedRequest> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
            lock (Requests)
            {
                Requests.Add(new RecordedRequest(request.RequestUri!.AbsolutePath,
                    request.Headers.TryGetValues("X-Azure-Functions-InvocationId", out var ids) ? ids.Single() : null, body));
            }
            return new HttpResponseMessage(status) { Content = new StringContent("{\"title\":\"boom\"}") };
        }
    }
}
