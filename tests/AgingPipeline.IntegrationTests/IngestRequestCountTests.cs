using System.Text.RegularExpressions;
using AgingPipeline.Contracts;
using AgingPipeline.EventPump;
using AgingPipeline.IntegrationTests.Infrastructure;
using AgingPipeline.Storage;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace AgingPipeline.IntegrationTests;

/// <summary>Storage requests per job, counted by Azurite itself: one blob written straight into <c>uploads</c>, one
/// pump round (the local Event Grid), OnImageUploaded, until the job is queued (record written, message sent,
/// <c>EnqueuedAt</c> stamped). BENCHMARKS.md ("Storage requests per ingested job") quotes the figures.</summary>
/// <remarks>Azurite's <c>--debug</c> log has one <c>DispatchMiddleware: Operation=…</c> line per request it serves;
/// the lines after the upload's own <c>PutBlob</c> are the ingest's.</remarks>
public sealed partial class IngestRequestCountTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ingest-requests-").FullName;
    private AzuriteProcess? _azurite;

    private string DebugLog => Path.Combine(_directory, "azurite-debug.log");

    public async Task InitializeAsync()
    {
        _azurite = new AzuriteProcess(location: null, _directory) { ExtraArguments = ["--debug", DebugLog] };
        await _azurite.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_direct_write_upload_is_queued_with_four_storage_requests_and_one_shared_listing()
    {
        var clients = new StorageClients(new StorageOptions { ConnectionString = _azurite!.ConnectionString });
        await clients.EnsureCreatedAsync();
        await using var app = new FunctionAppFactory(_azurite.ConnectionString, new Dictionary<string, string?>());
        var http = app.CreateClient();
        Assert.True((await http.GetAsync("/api/health")).IsSuccessStatusCode);

        var blob = clients.Uploads.GetBlobClient($"direct/{Guid.NewGuid():N}.png");
        var etag = (await blob.UploadAsync(BinaryData.FromBytes(TestImages.Png(64, 48)), new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { [UploadMetadata.Ages] = "30,70" },
        })).Value.ETag.ToString();
        var start = (int)await LinesUntilAsync(lines => lines.FindLastIndex(l => l.Contains("Operation=BlockBlob_Upload", StringComparison.Ordinal)) is var i and >= 0 ? i + 1 : null);

        var pump = new UploadEventPump(clients, http, Options.Create(new EventPumpOptions
        {
            FunctionAppUrl = http.BaseAddress!,
            StateFile = Path.Combine(_directory, "pump-state.json"),
        }), NullLogger<UploadEventPump>.Instance);
        var round = await pump.RunOnceAsync();
        Assert.Equal(1, round.Delivered);

        // A request of a kind the ingest never makes marks the end: everything between the upload and it is the ingest's.
        await clients.Aged.GetPropertiesAsync();
        var operations = (List<string>)await LinesUntilAsync(lines =>
        {
            var ops = lines.Skip(start).Select(l => OperationLine().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
            var end = ops.IndexOf("Container_GetProperties");
            return end >= 0 ? ops.Take(end).ToList() : null;
        });
        var jobId = JobIds.FromBlob(BlobNames.UploadsContainer, blob.Name, etag);
        var record = (await new JobStore(clients.Jobs, Polly.ResiliencePipeline.Empty).GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Queued, record.State);
        Assert.NotNull(record.EnqueuedAt);
        var listings = operations.Count(o => o == "Container_ListBlobFlatSegment");
        var perJob = operations.Where(o => o != "Container_ListBlobFlatSegment").ToList();
        var breakdown = string.Join(", ", perJob.GroupBy(o => o).Select(g => $"{g.Key} × {g.Count()}"));
        output.WriteLine($"Storage requests per job: {perJob.Count} ({breakdown}); listings of uploads per pump round: {listings}");

        Assert.True(perJob.Count == 4, $"Expected 4 requests per job, saw {perJob.Count}: {breakdown}");
        Assert.Equal(["Blob_Download", "BlockBlob_Upload", "Messages_Enqueue", "BlockBlob_Upload"], perJob);
        Assert.Equal(1, listings);
    }

    /// <summary>Reads the debug log until <paramref name="select"/> finds what it needs (Azurite writes it asynchronously).</summary>
    private async Task<object> LinesUntilAsync(Func<List<string>, object?> select)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            await Task.Delay(200);
            await using var stream = new FileStream(DebugLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var lines = (await reader.ReadToEndAsync()).Split('\n').Where(l => l.Contains("DispatchMiddleware: Operation=", StringComparison.Ordinal)).ToList();
            if (select(lines) is { } found)
            {
                return found;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Azurite's debug log never showed the expected requests:\n" + string.Join("\n", lines.TakeLast(20)));
            }
        }
    }

    [GeneratedRegex(@"DispatchMiddleware: Operation=(\S+)")]
    private static partial Regex OperationLine();
}
