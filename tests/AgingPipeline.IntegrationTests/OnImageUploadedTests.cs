using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.IntegrationTests.Infrastructure;

namespace AgingPipeline.IntegrationTests;

public sealed class OnImageUploadedTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private async Task<(string JobId, HttpResponseMessage Response)> DeliverAsync(string blobName)
    {
        var client = fixture.App.CreateClient();
        var etag = (await fixture.Clients.Uploads.GetBlobClient(blobName).GetPropertiesAsync()).Value.ETag.ToString();
        var response = await Invocations.OnImageUploadedAsync(client, fixture.Clients.Uploads, blobName);
        return (PipelineFixture.JobIdFor(blobName, etag), response);
    }

    [Fact]
    public async Task A_new_png_becomes_one_queued_job_with_one_message_and_a_batch_marker()
    {
        var batchId = PipelineFixture.Unique("b");
        var blobName = $"{batchId}/hero.png";
        await fixture.PutUploadAsync(blobName, TestImages.Png(64, 48), new Dictionary<string, string>
        {
            [UploadMetadata.Ages] = "70,30",
            [UploadMetadata.BatchId] = batchId,
            [UploadMetadata.OriginalName] = UploadMetadata.EncodeOriginalName("Héro.png"),
        });

        var (jobId, response) = await DeliverAsync(blobName);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(result.TryGetProperty("Outputs", out _));
        Assert.Contains(jobId, result.GetProperty("Logs")[0].GetString());

        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Queued, record.State);
        Assert.Equal([30, 70], record.TargetAges);
        Assert.Equal("png", record.Format);
        Assert.Equal((64, 48), (record.Width, record.Height));
        Assert.Equal("Héro.png", record.OriginalName);
        Assert.Equal(batchId, record.BatchId);
        Assert.NotNull(record.EnqueuedAt);
        Assert.Equal(PipelineErrorCode.None, record.ErrorCode);

        var messages = await fixture.MessagesForAsync(jobId);
        var message = Assert.Single(messages).Message!;
        Assert.Equal(blobName, message.InputBlob);
        Assert.Equal(record.InputETag, message.InputETag);
        Assert.Equal([30, 70], message.TargetAges);
        Assert.Equal("character-ager", message.ModelName);
        Assert.Equal(batchId, message.BatchId);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", message.TraceParent);

        var members = new List<string>();
        await foreach (var id in fixture.Jobs.ListBatchAsync(batchId))
        {
            members.Add(id);
        }
        Assert.Equal([jobId], members);
    }

    [Fact]
    public async Task A_jpeg_turned_by_its_exif_orientation_is_queued_with_the_size_it_is_shown_at()
    {
        // Shown 60 wide × 40 high; stored 40 × 60 with orientation 6 ("turn 90° clockwise to show").
        using var upright = NetVips.Image.Black(60, 40, bands: 3);
        var bytes = TestImages.JpegWithOrientation6(upright);
        var stored = ImageHeaderProbe.Probe(bytes);
        Assert.Equal((40, 60, 6), (stored.Width, stored.Height, stored.Orientation));
        var blobName = $"{PipelineFixture.Unique("o")}/turned.jpg";
        await fixture.PutUploadAsync(blobName, bytes, new Dictionary<string, string> { [UploadMetadata.Ages] = "40" });

        var (jobId, response) = await DeliverAsync(blobName);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        // As the decoder (and the runner's record on success) will have it: width and height swapped.
        Assert.Equal((60, 40), (record.Width, record.Height));
    }

    [Fact]
    public async Task The_same_event_three_times_makes_one_record_and_one_message()
    {
        var blobName = $"{PipelineFixture.Unique("dup")}/same.png";
        await fixture.PutUploadAsync(blobName, TestImages.Png());

        var first = await DeliverAsync(blobName);
        var firstRecord = (await fixture.Jobs.GetAsync(first.JobId))!;
        var second = await DeliverAsync(blobName);
        var third = await DeliverAsync(blobName);

        Assert.All(new[] { first.Response, second.Response, third.Response }, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(first.JobId, second.JobId);
        Assert.Equal(first.JobId, third.JobId);
        Assert.Single(await fixture.MessagesForAsync(first.JobId));
        var after = (await fixture.Jobs.GetAsync(first.JobId))!;
        Assert.Equal(firstRecord.ETag, after.ETag);
        Assert.Contains("already exists", (await third.Response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("Logs")[0].GetString());
    }

    [Fact]
    public async Task Overwriting_the_blob_is_a_new_job()
    {
        var blobName = $"{PipelineFixture.Unique("over")}/v.png";
        await fixture.PutUploadAsync(blobName, TestImages.Png());
        var first = await DeliverAsync(blobName);
        await fixture.PutUploadAsync(blobName, TestImages.Png(20, 20));
        var second = await DeliverAsync(blobName);
        Assert.NotEqual(first.JobId, second.JobId);
        Assert.Single(await fixture.MessagesForAsync(second.JobId));
    }

    [Theory]
    [InlineData("gif", PipelineErrorCode.UnsupportedFormat, "GIF")]
    [InlineData("corrupt", PipelineErrorCode.CorruptImage, "header")]
    [InlineData("huge", PipelineErrorCode.TooManyPixels, "megapixels")]
    [InlineData("tiny", PipelineErrorCode.BadDimensions, "at least")]
    [InlineData("empty", PipelineErrorCode.UnsupportedFormat, "The file is empty.")]
    [InlineData("oversize", PipelineErrorCode.ImageTooLarge, "the most accepted")]
    public async Task A_refused_upload_gets_a_failed_record_with_code_and_reason_and_no_message(string kind, PipelineErrorCode code, string reason)
    {
        var content = kind switch
        {
            "gif" => TestImages.Gif(),
            "corrupt" => TestImages.CorruptPng(),
            "huge" => TestImages.PngWithHeader(20_000, 20_000),
            "tiny" => TestImages.JpegHeader(8, 8),
            "empty" => [],
            "oversize" => [.. TestImages.Png(), .. new byte[PipelineFixture.MaxUploadBytes]],
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var blobName = $"{PipelineFixture.Unique(kind)}/input.png";
        await fixture.PutUploadAsync(blobName, content);

        var (jobId, response) = await DeliverAsync(blobName);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Failed, record.State);
        Assert.Equal(code, record.ErrorCode);
        Assert.Contains(reason, record.ErrorMessage);
        Assert.NotNull(record.CompletedAt);
        Assert.Empty(await fixture.MessagesForAsync(jobId));

        var status = await fixture.App.CreateClient().GetFromJsonAsync<JsonElement>($"/api/jobs/{jobId}");
        Assert.Equal("failed", status.GetProperty("state").GetString());
        Assert.Equal(code.ToString(), status.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Bad_options_in_metadata_refuse_the_upload_with_InvalidAges()
    {
        var blobName = $"{PipelineFixture.Unique("meta")}/a.png";
        await fixture.PutUploadAsync(blobName, TestImages.Png(), new Dictionary<string, string> { [UploadMetadata.Ages] = "1000" });
        var (jobId, _) = await DeliverAsync(blobName);
        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(PipelineErrorCode.InvalidAges, record.ErrorCode);
        Assert.Empty(await fixture.MessagesForAsync(jobId));
    }

    /// <summary>An event in the Event Grid schema as Azure Storage publishes it, for a blob of this Azurite.</summary>
    private string EventJson(string blobName, string? eTag, string eventType = "Microsoft.Storage.BlobCreated", string container = BlobNames.UploadsContainer)
    {
        var url = new Uri(fixture.Clients.BlobService.Uri, $"{container}/{Uri.EscapeDataString(blobName).Replace("%2F", "/", StringComparison.Ordinal)}");
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["topic"] = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
            ["subject"] = $"/blobServices/default/containers/{container}/blobs/{blobName}",
            ["eventType"] = eventType,
            ["eventTime"] = "2026-12-05T12:00:00.0000000Z",
            ["id"] = Guid.NewGuid().ToString(),
            ["data"] = new Dictionary<string, object?>
            {
                ["api"] = "PutBlob", ["clientRequestId"] = Guid.NewGuid().ToString(), ["requestId"] = Guid.NewGuid().ToString(),
                ["eTag"] = eTag?.Trim('"'), ["contentType"] = "image/png", ["contentLength"] = 1234, ["blobType"] = "BlockBlob",
                ["url"] = url.ToString(), ["sequencer"] = "0000000000000000000000000000000000000000000000000000000000000001",
            },
            ["dataVersion"] = "",
            ["metadataVersion"] = "1",
        });
    }

    [Fact]
    public async Task A_hand_written_event_passed_as_a_doubly_encoded_string_is_understood()
    {
        var blobName = $"{PipelineFixture.Unique("host")}/hand made.png";
        var etag = await fixture.PutUploadAsync(blobName, TestImages.Png());
        // The host writes a value Json.NET cannot make an object of as its JSON serialization: a string in a string.
        var payload = "{\"Data\":{\"eventGridEvent\":" + JsonSerializer.Serialize(JsonSerializer.Serialize(EventJson(blobName, etag)))
            + "},\"Metadata\":{\"sys\":{\"MethodName\":\"OnImageUploaded\",\"UtcNow\":\"2026-11-29T12:00:00Z\",\"RandGuid\":\"" + Guid.NewGuid() + "\"}}}";
        var response = await fixture.App.CreateClient().PostAsync("/OnImageUploaded", new StringContent(payload, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var jobId = PipelineFixture.JobIdFor(blobName, etag);
        Assert.Equal(JobState.Queued, (await fixture.Jobs.GetAsync(jobId))!.Record.State);
        Assert.Single(await fixture.MessagesForAsync(jobId));
    }

    [Fact]
    public async Task A_blob_deleted_before_its_event_is_acknowledged_without_a_job()
    {
        var blobName = $"{PipelineFixture.Unique("gone")}/g.png";
        var response = await Invocations.OnImageUploadedAsync(fixture.App.CreateClient(), EventJson(blobName, "0x8DD0000000000001"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("no longer exists", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_late_event_for_an_overwritten_blob_repeats_the_current_versions_job_and_makes_none_for_the_old_one()
    {
        var blobName = $"{PipelineFixture.Unique("stale")}/s.png";
        var oldETag = await fixture.PutUploadAsync(blobName, TestImages.Png());
        var newETag = await fixture.PutUploadAsync(blobName, TestImages.Png(20, 20));
        var client = fixture.App.CreateClient();

        var current = await Invocations.OnImageUploadedAsync(client, EventJson(blobName, newETag));
        var stale = await Invocations.OnImageUploadedAsync(client, EventJson(blobName, oldETag));

        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        var jobId = PipelineFixture.JobIdFor(blobName, newETag);
        Assert.Contains($"Job {jobId} already exists", await stale.Content.ReadAsStringAsync());
        Assert.Single(await fixture.MessagesForAsync(jobId));
        Assert.Null(await fixture.Jobs.GetAsync(PipelineFixture.JobIdFor(blobName, oldETag)));
    }

    [Fact]
    public async Task Metadata_set_after_the_write_is_read_although_it_changed_the_etag_and_raised_no_event()
    {
        // A program that writes the blob, then sets its options: BlobCreated names the first ETag only.
        var blobName = $"{PipelineFixture.Unique("late-meta")}/m.png";
        var written = await fixture.PutUploadAsync(blobName, TestImages.Png());
        var updated = (await fixture.Clients.Uploads.GetBlobClient(blobName).SetMetadataAsync(
            new Dictionary<string, string> { [UploadMetadata.Ages] = "25,65" })).Value.ETag.ToString();
        Assert.NotEqual(written, updated);

        var response = await Invocations.OnImageUploadedAsync(fixture.App.CreateClient(), EventJson(blobName, written));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = (await fixture.Jobs.GetAsync(PipelineFixture.JobIdFor(blobName, updated)))!.Record;
        Assert.Equal([25, 65], record.TargetAges);
        Assert.Single(await fixture.MessagesForAsync(record.JobId));
    }

    [Theory]
    [InlineData("Microsoft.Storage.BlobDeleted", BlobNames.UploadsContainer, "not Microsoft.Storage.BlobCreated")]
    [InlineData("Microsoft.Storage.BlobCreated", BlobNames.AgedContainer, "not in the 'uploads' container")]
    public async Task Other_events_and_other_containers_are_acknowledged_without_reading_or_writing(string eventType, string container, string log)
    {
        var blobName = $"{PipelineFixture.Unique("other")}/x.png";
        var etag = await fixture.PutUploadAsync(blobName, TestImages.Png());

        var response = await Invocations.OnImageUploadedAsync(fixture.App.CreateClient(), EventJson(blobName, etag, eventType, container));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var line = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("Logs")[0].GetString();
        Assert.StartsWith("Ignored " + eventType, line);
        Assert.Contains(log, line);
        Assert.Null(await fixture.Jobs.GetAsync(PipelineFixture.JobIdFor(blobName, etag)));
    }

    [Theory]
    [InlineData("""{"Data":{},"Metadata":{}}""")]
    [InlineData("""{"Data":{"eventGridEvent":{"id":"1","subject":"/blobServices/default/containers/uploads/blobs/a.png"}},"Metadata":{}}""")]
    [InlineData("""{"Data":{"eventGridEvent":{"id":"1","eventType":"Microsoft.Storage.BlobCreated","subject":"/x","data":{}}},"Metadata":{}}""")]
    public async Task A_payload_without_an_event_or_a_blob_is_400(string payload)
    {
        var response = await fixture.App.CreateClient().PostAsync("/OnImageUploaded", new StringContent(payload, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("InvalidRequest", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_record_left_without_its_message_is_completed_by_a_late_repeat_but_not_by_an_early_one()
    {
        var blobName = $"{PipelineFixture.Unique("orphan")}/o.png";
        var etag = await fixture.PutUploadAsync(blobName, TestImages.Png());
        var jobId = PipelineFixture.JobIdFor(blobName, etag);
        var now = DateTimeOffset.UtcNow;
        var orphan = new JobRecord
        {
            JobId = jobId, State = JobState.Queued, InputContainer = BlobNames.UploadsContainer, InputBlob = blobName, InputETag = etag,
            TargetAges = [40], ModelName = "character-ager", CreatedAt = now, UpdatedAt = now,
        };
        Assert.NotNull(await fixture.Jobs.TryCreateAsync(orphan));

        var early = await DeliverAsync(blobName);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, early.Response.StatusCode);
        Assert.Equal("Busy", (await early.Response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Empty(await fixture.MessagesForAsync(jobId));

        var stored = (await fixture.Jobs.GetAsync(jobId))!;
        Assert.NotNull(await fixture.Jobs.TryReplaceAsync(jobId, stored.Record with { UpdatedAt = now - TimeSpan.FromMinutes(10) }, stored.ETag));
        var late = await DeliverAsync(blobName);
        Assert.Equal(HttpStatusCode.OK, late.Response.StatusCode);
        Assert.Single(await fixture.MessagesForAsync(jobId));
        Assert.NotNull((await fixture.Jobs.GetAsync(jobId))!.Record.EnqueuedAt);
    }
}
