using AgingPipeline.Contracts;
using AgingPipeline.Inference;
using AgingPipeline.IntegrationTests.Infrastructure;
using AgingPipeline.Processing;
using AgingPipeline.Runner;
using AgingPipeline.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgingPipeline.InfraTests;

/// <summary>The runner, wired as in production against Azurite and the test model, carries the message's region to
/// the ager and the ager's <see cref="RegionOutcome"/> into the succeeded record; a
/// <see cref="PipelineErrorCode.NoFaceFound"/> from the ager fails the job at once with that code and message and
/// deletes the message (never retried). The ager is wrapped by a test double, so nothing depends on a face being
/// found.</summary>
public sealed class RunnerRegionTests : IAsyncLifetime
{
    private const string Model = "test-ager";

    private readonly string _modelRoot = Path.Combine(Path.GetTempPath(), "aging-region-models-" + Guid.NewGuid().ToString("N"));
    private AzuriteInstance? _azurite;
    private StorageClients? _clients;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteInstance.StartAsync();
        _clients = _azurite.CreateClients();
        await _clients.EnsureCreatedAsync();
        FixtureModels.CopyVersion1(Model, _modelRoot);
    }

    public async Task DisposeAsync()
    {
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
    public async Task NoFaceFound_from_the_ager_fails_the_job_with_that_code_and_message_on_the_first_delivery_and_deletes_the_message()
    {
        var ager = new ScriptedAger(_ => throw new PipelineException(PipelineErrorCode.NoFaceFound,
            "No face was found in the picture; it was not aged (region faces)."));
        var jobId = await EnqueueAsync(AgingRegion.Faces);

        var outcome = await ProcessOneAsync(ager);

        Assert.Equal("failed", outcome);
        Assert.Equal([AgingRegion.Faces], ager.Regions);
        var record = (await Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Failed, record.State);
        Assert.Equal(PipelineErrorCode.NoFaceFound, record.ErrorCode);
        Assert.Equal("No face was found in the picture; it was not aged (region faces).", record.ErrorMessage);
        Assert.Equal(1, record.Attempts);
        Assert.Empty(record.Outputs);
        Assert.Empty(await Queue.PeekAsync(32));
        Assert.Empty(await new JobQueue(_clients!.PoisonQueue, _clients.PoisonQueue, Polly.ResiliencePipeline.Empty, _clients.Options).PeekAsync(32));
    }

    [Fact]
    public async Task The_message_region_reaches_the_ager_and_its_outcome_is_stored_in_the_succeeded_record()
    {
        var face = new DetectedFace(new FaceBox(4, 5, 20, 24), 0.87f, new Point2(9, 12), new Point2(18, 12), new Point2(14, 17),
            new Point2(14, 22), new Point2(5, 14), new Point2(23, 14), "face-detector/1:full-range");
        var ager = new ScriptedAger(region => RegionOutcome.OfFaces(region, [face]));
        var jobId = await EnqueueAsync(AgingRegion.Whole);

        var outcome = await ProcessOneAsync(ager);

        Assert.Equal("succeeded", outcome);
        Assert.Equal([AgingRegion.Whole], ager.Regions);
        var record = (await Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Succeeded, record.State);
        Assert.Equal(AgingRegion.Whole, record.Region);
        Assert.Equal(AgingRegion.Whole, record.RegionOutcome!.Requested);
        Assert.Equal(RegionOutcome.FacesApplied, record.RegionOutcome.Applied);
        Assert.Equal([face], record.RegionOutcome.Faces);
        Assert.Equal(2, record.Outputs.Count);
    }

    private JobStore Jobs => new(_clients!.Jobs, Polly.ResiliencePipeline.Empty);

    private JobQueue Queue => new(_clients!.JobsQueue, _clients.PoisonQueue, Polly.ResiliencePipeline.Empty, _clients.Options);

    /// <summary>Puts an input and sends its message without a record, as a tool would: the runner creates the record.</summary>
    private async Task<string> EnqueueAsync(AgingRegion region)
    {
        var blobName = $"region/{Guid.NewGuid():N}.png";
        var image = await File.ReadAllBytesAsync(Directory.GetFiles(Path.Combine(RepoPaths.Root, "tests", "fixtures", "heldout"), "*.png").Order(StringComparer.Ordinal).First());
        var etag = (await _clients!.Uploads.GetBlobClient(blobName).UploadAsync(BinaryData.FromBytes(image))).Value.ETag.ToString();
        var jobId = JobIds.FromBlob(BlobNames.UploadsContainer, blobName, etag);
        await Queue.EnqueueAsync(new JobMessage(JobMessage.CurrentSchemaVersion, jobId, BlobNames.UploadsContainer, blobName, etag,
            [30, 60], Model, null, null, null, region));
        return jobId;
    }

    private async Task<string> ProcessOneAsync(ScriptedAger ager)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = _azurite!.ConnectionString,
            ["Storage:RetryBaseDelay"] = "00:00:00.050",
            ["Storage:RetryMaxDelay"] = "00:00:00.500",
            ["Inference:ModelRoot"] = _modelRoot,
            ["Inference:DefaultModel"] = Model,
            ["Runner:EnsureStorageCreated"] = "false",
            ["Runner:WriteContactSheet"] = "false",
        });
        builder.AddAgingRunner();
        builder.Services.RemoveAll<IJobAger>();
        builder.Services.AddSingleton<IJobAger>(sp =>
        {
            ager.Inner = new ImageJobAger(sp.GetRequiredService<ImageAger>());
            return ager;
        });
        await using var runner = builder.Build();
        await runner.Services.GetRequiredService<ModelRepository>().ScanAsync();
        var received = Assert.Single(await runner.Services.GetRequiredService<JobQueue>().ReceiveAsync(1));
        return await runner.Services.GetRequiredService<JobProcessor>().ProcessAsync(received, CancellationToken.None);
    }

    /// <summary>Records the region it was asked for, then either throws (via <c>outcome</c>) or ages with the real
    /// ager and replaces the result's region with the scripted one.</summary>
    private sealed class ScriptedAger(Func<AgingRegion, RegionOutcome> outcome) : IJobAger
    {
        public List<AgingRegion> Regions { get; } = [];

        public ImageJobAger? Inner { get; set; }

        public async Task<AgingResult> AgeAsync(
            ReadOnlyMemory<byte> input, IReadOnlyList<int> ages, ServedModel model, AgingRegion region, bool contactSheetPreviews,
            CancellationToken cancellationToken)
        {
            Regions.Add(region);
            var scripted = outcome(region);
            var result = await Inner!.AgeAsync(input, ages, model, region, contactSheetPreviews, cancellationToken);
            return result with { Region = scripted };
        }
    }
}
